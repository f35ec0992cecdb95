"""Moving sealed fields into their group's one envelope (`panel keys regroup`), and back.

A row written before a ``SealedGroup`` existed keeps each member in its own column, bound to
``table|column|row id``: it reads correctly, at one decryption per field. Regrouping converts
such rows online, the way rotation re-encrypts (panel.keys.rotation):

- in id order, a batch per transaction, decrypting and sealing outside it;
- each row's UPDATE is guarded by ``group IS NULL`` and by the exact values it read, so a row
  is converted once, by one run, and an edit or a rotation made meanwhile wins (the row is
  looked at again in the next pass);
- "what is left" is read from the data (rows whose group is NULL), so a run killed at any
  moment is finished by running it again.

Nothing here prints or returns a plaintext: only table names, counts and row ids.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, func, select, update

from panel.crypto import envelope
from panel.crypto.fields import Sealed, SealedGroup
from panel.crypto.keyring import Keyring

DEFAULT_BATCH_SIZE = 500


@dataclass
class Failure:
    """A row whose old values do not open: it stays as it is, readable as before (an error)."""

    column: str  # "table.column"
    row_id: str
    reason: str


def groups() -> list[SealedGroup]:
    """Every sealed group known to this process (each model declares its own)."""
    found: dict[tuple[str, str], SealedGroup] = {}
    for sealed in Sealed.registry:
        if isinstance(sealed, SealedGroup):
            found.setdefault((sealed.table, sealed.column), sealed)
    return list(found.values())


def _table(group: SealedGroup) -> Table:
    return group.owner.__table__  # type: ignore[attr-defined]


def _members(group: SealedGroup) -> list[Sealed]:
    return list(group.members.values())


def pending(engine: Engine) -> int:
    """Rows not yet regrouped (their group's envelope is NULL)."""
    total = 0
    with engine.connect() as conn:
        for group in groups():
            table = _table(group)
            total += conn.execute(select(func.count()).select_from(table)
                                  .where(table.c[group.column].is_(None))).scalar_one()
    return total


@dataclass
class RegroupReport:
    to_do: int  # rows not regrouped when the run started
    regrouped: int = 0
    conflicts: int = 0  # rows changed by someone else meanwhile (looked at again)
    passes: int = 0
    failures: list[Failure] = field(default_factory=list)
    remaining: int = 0  # rows still not regrouped at the end (== len(failures))


def regroup(engine: Engine, master: bytes, *, batch_size: int = DEFAULT_BATCH_SIZE,
            pause: float = 0.0, progress: Callable[[int], None] | None = None,
            on_start: Callable[[RegroupReport], None] | None = None) -> RegroupReport:
    """Move every member value of every group into its row's group envelope."""
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    report = RegroupReport(pending(engine))
    if on_start:
        on_start(report)
    failed: dict[tuple[str, str], Failure] = {}
    while True:
        ring = Keyring.load(engine, master)  # a rotation may have added a key meanwhile
        report.passes += 1
        work = sum(_regroup_table(engine, ring, group, batch_size, pause, failed, report,
                                  progress) for group in groups())
        if not work:
            break
    report.failures = list(failed.values())
    report.remaining = pending(engine)
    return report


def _regroup_table(engine: Engine, ring: Keyring, group: SealedGroup, batch_size: int,
                   pause: float, failed: dict[tuple[str, str], Failure], report: RegroupReport,
                   progress: Callable[[int], None] | None) -> int:
    """One pass over one table. Returns the rows it tried to write."""
    table = _table(group)
    members = _members(group)
    cols = [table.c[m.column] for m in members]
    target = table.c[group.column]
    stmt = (update(table)
            .where(table.c.id == bindparam("_id"), target.is_(None),
                   *(c.is_not_distinct_from(bindparam(f"_old{i}")) for i, c in enumerate(cols)))
            .values({target.name: bindparam("_new"), **{c.name: None for c in cols}}))
    last_id: Any = None
    tried = 0
    while True:
        query = select(table.c.id, *cols).where(target.is_(None))
        if last_id is not None:
            query = query.where(table.c.id > last_id)
        with engine.connect() as conn:
            rows = conn.execute(query.order_by(table.c.id).limit(batch_size)).all()
        if not rows:
            return tried
        last_id = rows[-1][0]
        params = []
        for row in rows:
            row_text = str(row[0])
            if (table.name, row_text) in failed:
                continue
            values = {}
            try:
                for member, stored in zip(members, row[1:], strict=True):
                    if stored is not None:
                        values[member.name] = ring.open(stored, member.aad(row_text))
            except envelope.EnvelopeError as exc:
                failed[(table.name, row_text)] = Failure(f"{table.name}.{member.column}",
                                                         row_text, str(exc))
                continue
            params.append({"_id": row[0], "_new": ring.seal(group.format(values),
                                                            group.aad(row_text)),
                           **{f"_old{i}": v for i, v in enumerate(row[1:])}})
        if params:
            with engine.begin() as conn:
                done = conn.execute(stmt, params).rowcount
            if done is None or done < 0:  # driver cannot tell: count what is left instead
                done = len(params)
            report.regrouped += done
            report.conflicts += len(params) - done
            tried += len(params)
            if progress:
                progress(done)
        if pause:
            time.sleep(pause)


def ungroup(conn: Connection, ring: Keyring) -> int:
    """The reverse, for a schema downgrade: every group's values back into their own columns,
    on the caller's connection and transaction. Returns the rows changed."""
    changed = 0
    for group in groups():
        table = _table(group)
        members = _members(group)
        target = table.c[group.column]
        rows = conn.execute(select(table.c.id, target).where(target.is_not(None))).all()
        for row_id, stored in rows:
            row_text = str(row_id)
            values = group.parse(ring.open(stored, group.aad(row_text)), row_id)
            conn.execute(update(table).where(table.c.id == row_id).values(
                {target.name: None, **{table.c[m.column].name:
                                       ring.seal(values[m.name], m.aad(row_text))
                                       if m.name in values else None for m in members}}))
            changed += 1
    return changed


__all__ = ["DEFAULT_BATCH_SIZE", "Failure", "RegroupReport", "groups", "pending", "regroup", "ungroup"]
