"""`panel audit verify|checkpoint`: the trail from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

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
    """Recompute the chain; name the first entry that was altered, deleted, inserted or moved.

    Exit 0 when it verifies, 1 when it was tampered with, 2 when a checkpoint file was named
    but cannot be read or parsed: a check that could not run is never reported as passed.
    """
    points = _checkpoints(checkpoint_file) if checkpoint_file is not None else []
    total = trail.head()[0]
    with click.progressbar(length=max(total, 1), label="Verifying the trail",
                           file=sys.stderr) as bar:
        verdict = trail.verify(progress=bar.update)
    if verdict.ok:
        for point in points:
            if not trail.check_checkpoint(point["seq"], point["hash"]):
                click.echo(f"FAILED: entry {point['seq']} no longer matches the checkpoint of "
                           f"{point['at']}: the trail was rewritten")
                sys.exit(1)
    click.echo(("OK: " if verdict.ok else "FAILED: ") + verdict.message
               + (f"; {len(points)} checkpoint(s) match" if verdict.ok and points else ""))
    sys.exit(0 if verdict.ok else 1)


def _checkpoints(path: Path) -> list[dict[str, Any]]:
    """The heads in a checkpoint file; exit 2 naming the problem if it is missing, unreadable
    or not what `panel audit checkpoint` writes."""
    def fail(why: str) -> NoReturn:
        click.echo(f"ERROR: checkpoint file {path}: {why}; nothing was verified", err=True)
        sys.exit(2)

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        fail("does not exist")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot be read ({getattr(exc, 'strerror', None) or exc})")
    points = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            point = json.loads(line)
        except ValueError:
            point = None
        if not (isinstance(point, dict) and type(point.get("seq")) is int
                and isinstance(point.get("hash"), str) and isinstance(point.get("at"), str)):
            fail(f"line {number} is not a checkpoint written by `panel audit checkpoint`")
        points.append(point)
    if not points:
        fail("holds no checkpoint")
    return points


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
