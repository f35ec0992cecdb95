"""`panel keys`: the key ring from the command line (the work is in panel.keys.rotation)."""

from __future__ import annotations

import contextlib
import stat
from pathlib import Path
from typing import Any

import click
from flask import current_app
from sqlalchemy import Engine

from panel import audit
from panel.audit import AuditEvent
from panel.cliutil import needs_database
from panel.config import ConfigError, master_key
from panel.crypto.errors import KeyringError
from panel.crypto.models import PURPOSE_DATA, STATE_DECRYPT_ONLY
from panel.extensions import db
from panel.keys import regroup as regrouping
from panel.keys import rotation


def _engine() -> Engine:
    return db.engine


def _master() -> bytes:
    return current_app.extensions["panel.keyring"].master


def _record(action: str, what: str, result: str = "ok") -> None:
    """Key operations are privacy events: they go on the audit trail (no key material)."""
    audit.record(AuditEvent(action, object=what, result=result))
    db.session.commit()


@contextlib.contextmanager
def _refusals() -> Any:
    """Turn a refused or impossible operation into a clear message and exit status 1."""
    try:
        yield
    except (rotation.KeyCommandError, KeyringError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None


@click.group("keys")
def keys_group() -> None:
    """Data keys: status, rotation, retirement and re-wrapping."""


@keys_group.command("status")
@needs_database
def status() -> None:
    """List the keys, their state and how many stored values each data key encrypts."""
    with _refusals():
        engine = _engine()
        infos = rotation.keys(engine)
        counts = rotation.usage(engine, [k.kid for k in infos if k.purpose == PURPOSE_DATA])
    click.echo(f"{'KEY':<18} {'PURPOSE':<8} {'STATE':<13} {'VALUES':>9}  CREATED")
    for k in infos:
        uses = str(counts.get(k.kid, 0)) if k.purpose == PURPOSE_DATA else "-"
        created = k.created_at.strftime("%Y-%m-%d %H:%M") if k.created_at else ""
        click.echo(f"{k.kid:<18} {k.purpose:<8} {k.state:<13} {uses:>9}  {created}")
    if counts.get(None):
        click.echo(f"warning: {counts[None]} stored value(s) are under no key in the ring "
                   "(destroyed key or damaged value); they cannot be read", err=True)
    old = [k.kid for k in infos if k.purpose == PURPOSE_DATA and k.state == STATE_DECRYPT_ONLY]
    if any(counts.get(kid) for kid in old):
        click.echo("a rotation is unfinished: run `panel keys rotate` to resume it")


class _Progress:
    """A progress bar opened once a batched command knows how much there is to do (its plan),
    advanced by the batches, and closed with the command's ExitStack."""

    def __init__(self, stack: contextlib.ExitStack, label: str) -> None:
        self.stack, self.label = stack, label
        self.bar: Any = None

    def open(self, length: int) -> None:
        self.bar = self.stack.enter_context(click.progressbar(
            length=max(length, 1), label=self.label, show_pos=True))

    def step(self, n: int) -> None:
        self.bar.update(min(n, max(self.bar.length - self.bar.pos, 0)))


def _refuse_failures(failures: list[Any], what: str) -> None:
    """Name each value that failed its integrity check (never its content), then fail."""
    if not failures:
        return
    for failure in failures:
        click.echo(f"cannot open {failure.column} of row {failure.row_id}: {failure.reason}",
                   err=True)
    raise click.ClickException(f"{len(failures)} {what}")


@keys_group.command("rotate")
@click.option("--batch-size", type=click.IntRange(1), default=rotation.DEFAULT_BATCH_SIZE,
              show_default=True, help="Rows re-encrypted per transaction.")
@click.option("--pause", type=click.FloatRange(0), default=0.0, show_default=True,
              help="Seconds to wait between batches, to spare a busy database.")
@click.option("--settle-seconds", type=click.FloatRange(0), default=None,
              help="How long other panel processes may still write with the old key before "
                   f"the final check [default: {rotation.SETTLE_SECONDS:.0f}: the key ring "
                   "reload interval plus a margin for requests in flight].")
@needs_database
def rotate(batch_size: int, pause: float, settle_seconds: float | None) -> None:
    """Make a new primary data key and re-encrypt every value under it.

    Safe to interrupt: running it again resumes the same rotation (no new key is added while
    values are still under an older one). The panel keeps serving meanwhile.
    """
    with contextlib.ExitStack() as stack, _refusals():
        bar = _Progress(stack, "re-encrypting")

        def start(plan: rotation.RotationReport) -> None:
            verb = "rotating to new" if plan.added_key else "resuming rotation to"
            click.echo(f"{verb} key {plan.primary}: {plan.to_do} value(s) to re-encrypt")
            bar.open(plan.to_do)

        report = rotation.rotate(_engine(), _master(), batch_size=batch_size, pause=pause,
                                 settle_seconds=settle_seconds, progress=bar.step,
                                 echo=click.echo, on_start=start)
        stack.close()
        click.echo(f"re-encrypted {report.reencrypted} value(s) in {report.passes} pass(es)"
                   + (f"; {report.conflicts} row(s) edited meanwhile were checked again"
                      if report.conflicts else ""))
        _refuse_failures(report.failures, "value(s) failed their integrity check and were left "
                         "as they are; their key cannot be retired until they are repaired or "
                         "erased")
        _record("keys.rotate", f"data key {report.primary}")
        click.echo(f"verified: every stored value is under key {report.primary}")
        old = [k.kid for k in rotation.keys(_engine())
               if k.purpose == PURPOSE_DATA and k.state == STATE_DECRYPT_ONLY]
        if old:
            click.echo("retire the old key(s) when ready: "
                       + ", ".join(f"`panel keys retire {kid}`" for kid in old))


@keys_group.command("regroup")
@click.option("--batch-size", type=click.IntRange(1), default=regrouping.DEFAULT_BATCH_SIZE,
              show_default=True, help="Rows converted per transaction.")
@click.option("--pause", type=click.FloatRange(0), default=0.0, show_default=True,
              help="Seconds to wait between batches, to spare a busy database.")
@needs_database
def regroup(batch_size: int, pause: float) -> None:
    """Move sealed fields written before their group existed into the group's one envelope.

    Rows read correctly either way; regrouped ones cost one decryption instead of one per
    field. Safe to interrupt and to run while the panel serves: running it again finishes.
    """
    with contextlib.ExitStack() as stack, _refusals():
        bar = _Progress(stack, "regrouping")

        def start(plan: regrouping.RegroupReport) -> None:
            click.echo(f"{plan.to_do} row(s) to regroup")
            bar.open(plan.to_do)

        report = regrouping.regroup(_engine(), _master(), batch_size=batch_size, pause=pause,
                                    progress=bar.step, on_start=start)
        stack.close()
        click.echo(f"regrouped {report.regrouped} row(s) in {report.passes} pass(es)"
                   + (f"; {report.conflicts} row(s) edited meanwhile were checked again"
                      if report.conflicts else ""))
        _refuse_failures(report.failures, "row(s) failed their integrity check and were left as "
                         "they are")
        _record("keys.regroup", f"{report.regrouped} row(s)")
        click.echo("verified: every row is regrouped")


@keys_group.command("retire")
@click.argument("kid")
@needs_database
def retire(kid: str) -> None:
    """Destroy data key KID. Refused while any stored value uses it, or if it is primary."""
    with _refusals():
        if rotation.retire(_engine(), kid):
            _record("keys.retire", f"data key {kid}")
            click.echo(f"retired key {kid}: it is destroyed and can no longer decrypt anything")
        else:
            click.echo(f"key {kid} was already retired")


@keys_group.command("rewrap")
@click.option("--new-master-key-file", "path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="File holding the new master key (base64url of 32 bytes).")
@needs_database
def rewrap(path: Path) -> None:
    """Wrap every key under a new master key. Stored data is not touched."""
    with _refusals():
        new = master_key({"MASTER_KEY_FILE": str(path)})
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            click.echo(f"warning: {path} can be read by other users: chmod 600 it", err=True)
        report = rotation.rewrap(_engine(), _master(), new)
        current_app.extensions["panel.keyring"].use_master(new)
        _record("keys.rewrap", f"{len(report.rewrapped)} keys under a new master key")
    click.echo(f"re-wrapped {len(report.rewrapped)} key(s) under the new master key"
               + (f" ({len(report.already)} already were)" if report.already else ""))
    click.echo("next, for every panel process (web, cron, workers):")
    click.echo(f"  1. set PANEL_MASTER_KEY_FILE={path.resolve()} (and unset PANEL_MASTER_KEY)")
    click.echo("  2. restart it now: a process still on the old master key can no longer "
               "reload the key ring")
    click.echo("  3. once all run with the new key, destroy the old master key and its backups")


def reencrypt_job() -> str:
    """`panel cron`: finish a rotation that was interrupted (no new key is ever added here)."""
    engine = _engine()
    if not rotation.rotation_under_way(engine):
        return "no rotation under way"
    report = rotation.rotate(engine, _master(), new_key=False, settle_seconds=0)
    _record("keys.rotate", f"data key {report.primary} (finished by cron)",
            "ok" if not report.failures else f"{len(report.failures)} values failed")
    return f"re-encrypted {report.reencrypted} value(s) under key {report.primary}"
