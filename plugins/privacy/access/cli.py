"""`panel audit verify|checkpoint`: the trail from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app

from panel.cliutil import needs_database
from panel.db_types import utcnow
from plugins.privacy.access.services import trail


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit trail."""


def _default_checkpoint() -> Path:
    return Path(current_app.instance_path) / "audit-checkpoints.jsonl"


@audit_group.command("verify")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also check every head written by `panel audit checkpoint` to this file.")
@needs_database
def verify(checkpoint_file: Path | None) -> None:
    """Recompute the chain; name the first entry that was altered, deleted, inserted or moved."""
    total = trail.head()[0]
    with click.progressbar(length=max(total, 1), label="Verifying the trail",
                           file=sys.stderr) as bar:
        verdict = trail.verify(progress=bar.update)
    if verdict.ok and checkpoint_file and checkpoint_file.exists():
        for line in checkpoint_file.read_text().splitlines():
            point = json.loads(line)
            if not trail.check_checkpoint(point["seq"], point["hash"]):
                click.echo(f"FAILED: entry {point['seq']} no longer matches the checkpoint of "
                           f"{point['at']}: the trail was rewritten")
                sys.exit(1)
    click.echo(("OK: " if verdict.ok else "FAILED: ") + verdict.message)
    sys.exit(0 if verdict.ok else 1)


@audit_group.command("checkpoint")
@click.option("--file", "target", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to append the head (default: instance/audit-checkpoints.jsonl). "
                   "Keep it outside the database server, ideally write-once storage.")
@needs_database
def checkpoint(target: Path | None) -> None:
    """Append the chain's head (sequence number and hash) to a file outside the database."""
    seq, head_hash = trail.head()
    path = target or _default_checkpoint()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fh.write(json.dumps({"seq": seq, "hash": head_hash, "at": utcnow().isoformat()}) + "\n")
    click.echo(f"checkpoint: entry {seq}, head {head_hash} -> {path}")
