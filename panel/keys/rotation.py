"""Key rotation, retirement and re-wrapping: the logic behind `panel keys`.

Everything here works on an Engine and the master key, not on the ORM session, so the
panel keeps serving while it runs, tests and benchmarks can call it directly, and a crash
at any moment leaves a state the next run finishes from:

- a value is either still under its old key or under the new one, never half-written,
  because each batch is one transaction and each row update is guarded by the old value
  (an edit made meanwhile by a user wins; the next pass looks at that row again);
- "a rotation is under way" is read from the data itself (values under a non-primary data
  key), so a second run resumes instead of adding yet another key.

Nothing here prints or returns a plaintext: only key ids, table and column names, counts
and row ids.
"""

from __future__ import annotations

import operator
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    Column,
    ColumnElement,
    Engine,
    Table,
    and_,
    bindparam,
    case,
    func,
    inspect,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.types import String, Text

from panel.crypto import envelope
from panel.crypto.errors import KeyringError
from panel.crypto.fields import Sealed
from panel.crypto.keyring import (
    RELOAD_SECONDS,
    Keyring,
    add_primary_data_key,
    unwrap,
    wrap,
)
from panel.crypto.models import PURPOSE_DATA, STATE_PRIMARY, STATE_RETIRED, CryptoKey

#: How long other panel processes may keep sealing with a key after it stopped being
#: primary: they reload the ring at most RELOAD_SECONDS after a change, plus a margin for a
#: request that sealed a value just before and commits it a little later. Rotation waits this
#: out before its last check; retirement refuses a key replaced less than this long ago.
SETTLE_SECONDS = RELOAD_SECONDS + 10.0

DEFAULT_BATCH_SIZE = 500


class KeyCommandError(RuntimeError):
    """A key operation was refused or could not finish; the message says why and what next."""


# --------------------------------------------------------------------------- sealed columns


@dataclass(frozen=True)
class SealedColumn:
    """One sealed field as the database sees it: its table, storage column and AAD name."""

    table: Table
    column: Column[Any]
    aad_column: str

    @property
    def label(self) -> str:
        return f"{self.table.name}.{self.column.name}"

    def aad(self, row_id: object) -> str:
        return f"{self.table.name}|{self.aad_column}|{row_id}"


def sealed_tables() -> dict[str, list[SealedColumn]]:
    """Every sealed column known to this process, by table: the app imports every core model
    (panel.models) and each plugin its own, so any app, command or job sees them all."""
    tables: dict[str, list[SealedColumn]] = {}
    seen: set[tuple[str, str]] = set()
    for sealed in Sealed.registry:
        if (sealed.table, sealed.column) in seen:
            continue
        seen.add((sealed.table, sealed.column))
        mapper = inspect(sealed.owner)
        storage = mapper.get_property(sealed.storage).columns[0]
        table = sealed.owner.__table__  # type: ignore[attr-defined]
        tables.setdefault(table.name, []).append(SealedColumn(table, storage, sealed.column))
    return tables


def _prefix(kid: str) -> str:
    return f"{envelope.VERSION}:{kid}:%"


def _stale(col: Column[Any], primary: str) -> ColumnElement[bool]:
    return and_(col.is_not(None), col.not_like(_prefix(primary)))


# --------------------------------------------------------------------------- status


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    purpose: str
    state: str
    created_at: datetime | None
    retired_at: datetime | None
    destroyed: bool


def keys(engine: Engine) -> list[KeyInfo]:
    with engine.connect() as conn:
        rows = conn.execute(select(CryptoKey.kid, CryptoKey.purpose, CryptoKey.state,
                                   CryptoKey.created_at, CryptoKey.retired_at,
                                   CryptoKey.wrapped.is_(None))
                            .order_by(CryptoKey.purpose, CryptoKey.created_at,
                                      CryptoKey.kid)).all()
    return [KeyInfo(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]


def usage(engine: Engine, kids: Iterable[str] | None = None) -> dict[str, int]:
    """How many stored sealed values use each data key, by key-id prefix (nothing decrypted).

    The result also has ``None``: values whose key id is none of ``kids`` (a destroyed key,
    or not an envelope at all). One query per table.
    """
    if kids is None:
        kids = [k.kid for k in keys(engine) if k.purpose == PURPOSE_DATA]
    kids = list(kids)
    counts: dict[str | None, int] = {kid: 0 for kid in kids}
    counts[None] = 0
    with engine.connect() as conn:
        for columns in sealed_tables().values():
            exprs = []
            for sc in columns:
                exprs.append(func.count(sc.column))
                exprs.extend(func.coalesce(func.sum(case((sc.column.like(_prefix(k)), 1),
                                                         else_=0)), 0) for k in kids)
            row = conn.execute(select(*exprs).select_from(columns[0].table)).one()
            step = len(kids) + 1
            for i in range(0, len(row), step):
                total, per_kid = row[i], row[i + 1:i + step]
                for kid, n in zip(kids, per_kid, strict=True):
                    counts[kid] += int(n)
                counts[None] += int(total) - sum(int(n) for n in per_kid)
    return counts  # type: ignore[return-value]


def stray_uses(engine: Engine, kid: str) -> dict[str, int]:
    """Values under ``kid`` in text columns this process does not know as sealed.

    A safety net for retirement: a plugin that is installed but not enabled in this process
    still has its sealed columns in the database, and destroying their key would lose them.
    """
    known = {(t, sc.column.name) for t, cols in sealed_tables().items() for sc in cols}
    found: dict[str, int] = {}
    insp = inspect(engine)
    with engine.connect() as conn:
        for name in insp.get_table_names():
            if name in {CryptoKey.__tablename__, "alembic_version"}:
                continue
            cols = [c["name"] for c in insp.get_columns(name)
                    if isinstance(c["type"], String | Text) and (name, c["name"]) not in known]
            if not cols:
                continue
            tbl = sql_table(name, *(sql_column(c) for c in cols))
            exprs = [func.coalesce(func.sum(case((tbl.c[c].like(_prefix(kid)), 1), else_=0)), 0)
                     for c in cols]
            row = conn.execute(select(*exprs).select_from(tbl)).one()
            for col, n in zip(cols, row, strict=True):
                if n:
                    found[f"{name}.{col}"] = int(n)
    return found


def seconds_since_primary_changed(engine: Engine) -> float:
    """Age of the current primary data key, measured on the database's own clock."""
    with engine.connect() as conn:
        created = conn.execute(select(CryptoKey.created_at).where(
            CryptoKey.purpose == PURPOSE_DATA, CryptoKey.state == STATE_PRIMARY)).scalar()
        now = conn.execute(select(func.current_timestamp())).scalar()
    if created is None or now is None:
        return float("inf")
    if isinstance(now, str):  # SQLite without a declared type hands back text
        now = datetime.fromisoformat(now)
    if (created.tzinfo is None) != (now.tzinfo is None):
        created, now = created.replace(tzinfo=None), now.replace(tzinfo=None)
    return max(0.0, (now - created).total_seconds())


def primary_data_kid(engine: Engine) -> str:
    with engine.connect() as conn:
        kid = conn.execute(select(CryptoKey.kid).where(
            CryptoKey.purpose == PURPOSE_DATA, CryptoKey.state == STATE_PRIMARY)).scalar()
    if kid is None:
        raise KeyringError("the key ring has no primary data key: run `panel db upgrade`")
    return kid


# --------------------------------------------------------------------------- rotation


@dataclass
class Failure:
    """A value rotation could not open: it stays as it is, and its key cannot be retired."""

    column: str  # "table.column"
    row_id: str
    reason: str


@dataclass
class RotationReport:
    primary: str
    added_key: bool
    to_do: int  # values not under the primary key when the run started
    reencrypted: int = 0
    conflicts: int = 0  # rows changed by someone else meanwhile (looked at again)
    passes: int = 0
    failures: list[Failure] = field(default_factory=list)
    remaining: int = 0  # values still under another key at the end (== len(failures))


def stale_by_table(engine: Engine, primary: str) -> dict[str, tuple[int, int]]:
    """Per sealed table: (stored values not under ``primary``, stored values), in one statement
    (a UNION ALL of one aggregate per table): each table is read once, and one round trip
    replaces a query per table (27 of them), most of them empty."""
    tables = sealed_tables()
    names = list(tables)
    with engine.connect() as conn:
        rows = conn.execute(_stale_statement(tables), {"primary_prefix": _prefix(primary)}).all()
    return {names[int(i)]: (int(stale), int(stored)) for i, stale, stored in rows}


_STALE_STATEMENTS: dict[tuple[tuple[str, ...], ...], Any] = {}


def _stale_statement(tables: dict[str, list[SealedColumn]]) -> Any:
    """`stale_by_table`'s statement, built once per set of sealed columns (building it cost
    more than running it); the primary key's prefix is its one parameter."""
    shape = tuple((name, *(sc.column.name for sc in cols)) for name, cols in tables.items())
    stmt = _STALE_STATEMENTS.get(shape)
    if stmt is None:
        prefix = bindparam("primary_prefix", type_=String())
        parts = []
        for i, columns in enumerate(tables.values()):
            stale = reduce(operator.add, (
                case((and_(sc.column.is_not(None), sc.column.not_like(prefix)), 1), else_=0)
                for sc in columns))
            stored = reduce(operator.add, (func.count(sc.column) for sc in columns))
            parts.append(select(literal_column(str(i)), func.coalesce(func.sum(stale), 0),
                                stored).select_from(columns[0].table))
        stmt = _STALE_STATEMENTS[shape] = union_all(*parts)
    return stmt


def stale_count(engine: Engine, primary: str) -> int:
    """Stored values (non-null) that are not under ``primary``."""
    return sum(stale for stale, _ in stale_by_table(engine, primary).values())


def rotation_under_way(engine: Engine) -> bool:
    """True when values still use a data key that is not the primary (a run to resume)."""
    data = {k.kid: k for k in keys(engine) if k.purpose == PURPOSE_DATA and not k.destroyed}
    counts = usage(engine, data)
    return any(n for kid, n in counts.items()
               if kid is not None and data[kid].state != STATE_PRIMARY)


def rotate(engine: Engine, master: bytes, *, batch_size: int = DEFAULT_BATCH_SIZE,
           pause: float = 0.0, settle_seconds: float | None = None, new_key: bool = True,
           progress: Callable[[int], None] | None = None,
           echo: Callable[[str], None] | None = None,
           on_start: Callable[[RotationReport], None] | None = None) -> RotationReport:
    """Add a primary data key (unless resuming) and re-encrypt every value under it.

    ``progress(n)`` is told about each batch; ``on_start`` sees the plan before the first
    batch (the command line opens its progress bar there). Returns once no value is left
    under an older key, having waited ``settle_seconds`` after the key change so that
    processes still sealing with the old primary are caught by the last pass.
    """
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    settle = SETTLE_SECONDS if settle_seconds is None else settle_seconds
    say = echo or (lambda _msg: None)
    added = False
    # One statement reads every sealed table once for the plan: how many values are not under
    # the primary key (and, when that is none, a new key makes every stored value to do).
    # Only when some are does the per-key count say whether they are a run to resume (values
    # under a live older key) or values no key opens any more (a new key is added then too).
    primary = primary_data_kid(engine)
    plan = stale_by_table(engine, primary)
    if new_key:
        under_way = False
        if any(stale for stale, _ in plan.values()):
            live = {k.kid: k for k in keys(engine)
                    if k.purpose == PURPOSE_DATA and not k.destroyed}
            under_way = any(n for kid, n in usage(engine, live).items()
                            if kid is not None and live[kid].state != STATE_PRIMARY)
        if not under_way:
            Keyring.load(engine, master)  # the master key must open the ring before we add to it
            add_primary_data_key(engine, master)
            added = True
            plan = {name: (stored, stored) for name, (_, stored) in plan.items()}
    ring = Keyring.load(engine, master)
    if ring.primary_kid != primary and not added:  # another run changed it meanwhile
        plan = stale_by_table(engine, ring.primary_kid)
    report = RotationReport(ring.primary_kid, added, sum(stale for stale, _ in plan.values()))
    if on_start:
        on_start(report)
    failed: dict[tuple[str, str, str], Failure] = {}
    tables = sealed_tables()
    while True:
        ring = Keyring.load(engine, master)  # another run may have added a newer primary
        if ring.primary_kid != report.primary:
            plan = stale_by_table(engine, ring.primary_kid)
        report.primary = ring.primary_kid
        report.passes += 1
        for name, columns in tables.items():
            if plan.get(name, (1, 1))[0]:  # a table with nothing to do is not read again
                _rotate_table(engine, ring, columns, batch_size, pause, failed, report, progress)
        # No second pass to find nothing: the count below is the check (a scan either way),
        # and a value written meanwhile under an older key sends us round again, to the
        # tables it names.
        wait = settle - seconds_since_primary_changed(engine)
        if wait > 0:
            say(f"waiting {wait:.0f}s for other panel processes to load key {ring.primary_kid}")
            time.sleep(wait)
            plan = stale_by_table(engine, ring.primary_kid)
            continue
        plan = stale_by_table(engine, report.primary)
        report.remaining = sum(stale for stale, _ in plan.values())
        if report.remaining <= len(failed):  # else a late write landed after the last pass
            break
    report.failures = list(failed.values())
    return report


def _rotate_table(engine: Engine, ring: Keyring, columns: list[SealedColumn], batch_size: int,
                  pause: float, failed: dict[tuple[str, str, str], Failure],
                  report: RotationReport, progress: Callable[[int], None] | None) -> int:
    """One pass over one table, in id order, a batch per transaction. Returns values handled."""
    table = columns[0].table
    id_col = table.c.id
    stale = or_(*(_stale(sc.column, ring.primary_kid) for sc in columns))
    keep = f"{envelope.VERSION}:{ring.primary_kid}:"
    primary_aead = ring.data_keys[ring.primary_kid]
    labels = [sc.label for sc in columns]
    aads = [sc.aad("") for sc in columns]  # "table|column|", the row id is appended per row
    last_id: Any = None
    handled = 0
    while True:
        query = select(id_col, *(sc.column for sc in columns)).where(stale)
        if last_id is not None:
            query = query.where(id_col > last_id)
        with engine.connect() as conn:
            rows = conn.execute(query.order_by(id_col).limit(batch_size)).all()
        if not rows:
            return handled
        last_id = rows[-1][0]
        # Decrypt and re-seal outside any transaction: the write lock is held only for the
        # UPDATEs, which is what keeps the panel answering on SQLite meanwhile.
        groups: dict[tuple[int, ...], list[dict[str, Any]]] = {}
        batch_values = 0
        # Fresh random nonces for the whole batch from one system call, each 12-byte slice
        # used once: the same randomness as one os.urandom per value, at a fraction of the cost.
        nonces = os.urandom(envelope.NONCE_BYTES * len(rows) * len(columns))
        used = 0
        for row in rows:
            row_id, row_text = row[0], str(row[0])
            params: dict[str, Any] = {"_id": row_id}
            changed: list[int] = []
            for i, stored in enumerate(row[1:]):
                if stored is None or stored.startswith(keep):
                    continue
                if failed and (labels[i], row_text, stored) in failed:
                    continue
                nonce = nonces[used:used + envelope.NONCE_BYTES]
                used += envelope.NONCE_BYTES
                try:
                    new = _reseal(ring, primary_aead, stored, (aads[i] + row_text).encode(), nonce)
                except envelope.EnvelopeError as exc:
                    failed[(labels[i], row_text, stored)] = Failure(labels[i], row_text, str(exc))
                    continue
                params[f"_new{i}"], params[f"_old{i}"] = new, stored
                changed.append(i)
            if changed:
                groups.setdefault(tuple(changed), []).append(params)
                batch_values += len(changed)
        if groups:
            done = 0
            with engine.begin() as conn:
                for changed, params_list in groups.items():
                    stmt = (update(table)
                            .where(id_col == bindparam("_id"),
                                   *(columns[i].column == bindparam(f"_old{i}") for i in changed))
                            .values({columns[i].column.name: bindparam(f"_new{i}")
                                     for i in changed}))
                    result = conn.execute(stmt, params_list)
                    rowcount = result.rowcount
                    if rowcount is None or rowcount < 0:  # driver cannot tell: assume all
                        rowcount = len(params_list)
                    done += rowcount * len(changed)
                    report.conflicts += len(params_list) - rowcount
            report.reencrypted += done
            handled += batch_values
            if progress:
                progress(batch_values)
        if pause:
            time.sleep(pause)


def _reseal(ring: Keyring, primary: AESGCM, stored: str, aad: bytes, nonce: bytes) -> str:
    """The value re-encrypted under the primary key with ``nonce`` (fresh, used once) and the
    same associated data; the plaintext bytes only pass through."""
    kid, body = envelope.split(stored)
    aead = ring.data_keys.get(kid)
    if aead is None:
        raise envelope.EnvelopeError(f"unknown key id {kid!r}")
    sealed = primary.encrypt(nonce, envelope.open_body(aead, body, aad), aad)
    return f"{envelope.VERSION}:{ring.primary_kid}:{envelope.b64e(nonce + sealed)}"


# --------------------------------------------------------------------------- retirement


def retire(engine: Engine, kid: str, *, settle_seconds: float | None = None) -> bool:
    """Destroy a data key nothing uses any more. False if it was already retired."""
    settle = SETTLE_SECONDS if settle_seconds is None else settle_seconds
    with engine.connect() as conn:
        row = conn.execute(select(CryptoKey.purpose, CryptoKey.state, CryptoKey.wrapped)
                           .where(CryptoKey.kid == kid)).one_or_none()
    if row is None:
        raise KeyCommandError(f"there is no key {kid!r}: `panel keys status` lists them")
    purpose, state, wrapped = row
    if state == STATE_RETIRED and wrapped is None:
        return False
    if purpose != PURPOSE_DATA:
        raise KeyCommandError(f"key {kid} is the {purpose} root key; only data keys retire")
    if state == STATE_PRIMARY:
        raise KeyCommandError(
            f"key {kid} is the primary data key: run `panel keys rotate` first, then retire it")
    in_use = usage(engine, [kid])[kid]
    if in_use:
        raise KeyCommandError(
            f"key {kid} still encrypts {in_use} stored value(s): run `panel keys rotate` "
            "(it resumes an unfinished rotation) and retire the key when it reports none left")
    stray = stray_uses(engine, kid)
    if stray:
        where = ", ".join(f"{c} ({n})" for c, n in sorted(stray.items()))
        raise KeyCommandError(
            f"key {kid} still encrypts values in columns this panel does not know as sealed: "
            f"{where}. Enable the plugin that owns them (PANEL_PLUGINS) and run "
            "`panel keys rotate` again before retiring")
    age = seconds_since_primary_changed(engine)
    if age < settle:
        raise KeyCommandError(
            f"the primary key changed {age:.0f}s ago and panel processes may still write with "
            f"key {kid} for up to {settle:.0f}s: try again in {settle - age + 1:.0f}s")
    with engine.begin() as conn:
        conn.execute(update(CryptoKey).where(CryptoKey.kid == kid)
                     .values(state=STATE_RETIRED, wrapped=None, retired_at=func.now()))
    return True


# --------------------------------------------------------------------------- re-wrapping


@dataclass
class RewrapReport:
    rewrapped: list[str]
    already: list[str]  # already wrapped by the new master key (a repeated run)


def rewrap(engine: Engine, old_master: bytes, new_master: bytes) -> RewrapReport:
    """Wrap every live key under ``new_master`` in one transaction; data rows are untouched."""
    if old_master == new_master:
        raise KeyCommandError("the new master key is the one already in use")
    report = RewrapReport([], [])
    with engine.begin() as conn:
        rows = conn.execute(select(CryptoKey.kid, CryptoKey.purpose, CryptoKey.wrapped)
                            .where(CryptoKey.wrapped.is_not(None))
                            .order_by(CryptoKey.kid)).all()
        if not rows:
            raise KeyCommandError("the key ring is empty: run `panel db upgrade` first")
        for kid, purpose, wrapped in rows:
            try:
                raw = unwrap(old_master, kid, purpose, wrapped)
            except KeyringError:
                try:
                    unwrap(new_master, kid, purpose, wrapped)
                except KeyringError:
                    raise KeyCommandError(
                        f"key {kid} opens with neither the current nor the new master key; "
                        "nothing was changed") from None
                report.already.append(kid)
                continue
            conn.execute(update(CryptoKey).where(CryptoKey.kid == kid,
                                                 CryptoKey.wrapped == wrapped)
                         .values(wrapped=wrap(new_master, kid, purpose, raw)))
            report.rewrapped.append(kid)
    Keyring.load(engine, new_master)  # proves the new master key opens the whole ring
    return report


__all__ = ["DEFAULT_BATCH_SIZE", "SETTLE_SECONDS", "Failure", "KeyCommandError", "KeyInfo",
           "RewrapReport", "RotationReport", "SealedColumn", "keys", "primary_data_kid",
           "retire", "rewrap", "rotate", "rotation_under_way", "sealed_tables",
           "seconds_since_primary_changed", "stale_count", "stray_uses", "usage"]
