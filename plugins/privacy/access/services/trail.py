"""The tamper-evident trail: an HMAC chain over every audit entry.

entry_hash = HMAC-SHA256(audit_key, prev_hash || canonical JSON of the entry). The audit key
comes from the key ring, which only the master key opens, so the database alone cannot
re-forge the chain. Entries name fields, never values; the IP is sealed and the chain covers
its keyed digest, so key rotation does not disturb the chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import namedtuple
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from flask import g, has_request_context
from sqlalchemy import bindparam, insert, select, update

from panel.audit import AuditEvent
from panel.auth.models import ADMIN, RESELLER, STAFF
from panel.crypto import current_keyring
from panel.db_types import utcnow, uuid7
from panel.extensions import db
from panel.jobs_models import JobRun
from panel.metrics import Reading
from plugins.privacy.access.models import GENESIS, AuditEntry, AuditHead

VERIFY_BATCH = 5000
LABELLED_ROLES = (RESELLER, STAFF, ADMIN)


_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def canonical(e: Any) -> str:
    """The exact bytes the hash covers, in a fixed order (a JSON array: no key sorting needed)."""
    return _JSON.encode([
        e.seq, e.at.isoformat(timespec="microseconds"), str(e.actor_id or ""), e.actor_role,
        e.actor_label, str(e.on_behalf_of or ""), str(e.account_id or ""), e.action, e.object,
        list(e.fields or []), e.reason_code or "", e.ticket or "", str(e.session_id or ""),
        e.ip_digest or "", e.user_agent or "", e.request_id or "", e.result,
    ])


def chain_hash(key: bytes, prev_hash: str, body: str) -> str:
    return hmac.new(key, (prev_hash + body).encode("utf-8"), hashlib.sha256).hexdigest()


def _label(actor: Any) -> str:
    """Staff and resellers are named as they were; a customer's name is personal data that
    the trail (append-only, hashed) could never erase, so customers are just "customer"."""
    if actor is None:
        return "system"
    return (actor.label or actor.role)[:120] if actor.role in LABELLED_ROLES else "customer"


_HEAD = AuditHead.__table__
_ENTRY = AuditEntry.__table__
# Built once: composing these per call cost more than running them. Core statements, not the
# ORM's unit of work: an entry is written once and never read back in the same request.
_BUMP = (update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq + 1)
         .returning(_HEAD.c.seq, _HEAD.c.head_hash))
_SET_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(head_hash=bindparam("entry_hash"))
_INSERT = insert(_ENTRY)
_IP_AAD = AuditEntry.ip.aad("")  # "table|column|": the row id is appended per entry


def append(event: AuditEvent) -> SimpleNamespace:
    """Add ``event`` to the chain inside the caller's transaction (it commits with the change).

    Returns the entry as written (its columns as attributes; the IP as stored, sealed).
    """
    seq, prev = db.session.execute(_BUMP).one()
    ring = current_keyring()
    actor = event.actor
    acting = g.get("privacy_acting_staff") if has_request_context() else None
    if acting is not None and actor is not None and actor.id != acting.id:
        event.on_behalf_of, actor = actor.id, acting  # staff acting as the customer: both named
    live = g.get("privacy_access_session") if has_request_context() else None
    if live is not None and event.session_id is None and event.account_id == live.account_id:
        event.session_id, event.reason_code, event.ticket = live.id, live.reason_code, live.ticket
    row_id = uuid7()
    entry = SimpleNamespace(
        id=row_id, seq=seq, at=utcnow(), actor_id=actor.id if actor else None,
        actor_role=actor.role if actor else "system",
        actor_label=_label(actor), on_behalf_of=event.on_behalf_of,
        account_id=event.account_id, action=event.action[:64], object=event.object[:255],
        fields=list(event.fields), reason_code=event.reason_code, ticket=event.ticket,
        session_id=event.session_id, ip=None, ip_digest=None, user_agent=event.user_agent,
        request_id=event.request_id, result=event.result[:32], prev_hash=prev)
    if event.ip:
        entry.ip = ring.seal(event.ip, _IP_AAD + str(row_id))
        entry.ip_digest = ring.blind_index(AuditEntry.__tablename__, "ip", event.ip)
    entry.entry_hash = chain_hash(ring.audit_key(), prev, canonical(entry))
    db.session.execute(_INSERT, vars(entry))
    db.session.execute(_SET_HEAD, {"entry_hash": entry.entry_hash})
    return entry


@dataclass
class Verdict:
    ok: bool
    checked: int
    message: str
    first_bad_seq: int | None = None


def _entries(batch: int) -> Iterator[Any]:
    """Plain rows in keyset pages: no ORM identity map to grow over millions of entries."""
    table = AuditEntry.__table__
    entry = namedtuple("entry", [c.key for c in table.c])  # plain tuples read faster than Rows
    last = 0
    while True:
        rows = db.session.execute(select(table).where(table.c.seq > last)
                                  .order_by(table.c.seq).limit(batch)).all()
        if not rows:
            return
        yield from map(entry._make, rows)
        last = rows[-1].seq


def verify(progress: Callable[[int], None] | None = None) -> Verdict:
    """Walk the chain; name the first entry that was altered, deleted, inserted or reordered."""
    key = current_keyring().audit_key()
    prev, expected, n = GENESIS, 1, 0
    for e in _entries(VERIFY_BATCH):
        n += 1
        if e.seq != expected:
            return Verdict(False, n, f"entry {expected} is missing (deleted): entry {e.seq} "
                           f"follows entry {expected - 1}", expected)
        if e.prev_hash != prev:
            return Verdict(False, n, f"entry {e.seq} does not follow entry {e.seq - 1} "
                           "(reordered or inserted)", e.seq)
        if e.entry_hash != chain_hash(key, prev, canonical(e)):
            return Verdict(False, n, f"entry {e.seq} was altered (or forged and inserted)", e.seq)
        prev, expected = e.entry_hash, expected + 1
        if progress and n % VERIFY_BATCH == 0:
            progress(VERIFY_BATCH)
    head = db.session.get(AuditHead, 1)
    if head is None or head.seq != expected - 1 or head.head_hash != prev:
        return Verdict(False, n, f"the chain ends at entry {expected - 1} but its head says "
                       f"{head.seq if head else 'nothing'}: entries were deleted from the end",
                       expected)
    return Verdict(True, n, f"the trail verifies: {n} entries, head {prev[:16]}…")


def head() -> tuple[int, str]:
    row = db.session.get(AuditHead, 1)
    return (row.seq, row.head_hash) if row else (0, GENESIS)


def check_checkpoint(seq: int, entry_hash: str) -> bool:
    """A checkpoint written earlier must still be in the chain, unchanged."""
    if seq == 0:
        return True
    found = db.session.execute(select(AuditEntry.entry_hash).where(AuditEntry.seq == seq)).scalar()
    return found == entry_hash


VERIFY_JOB = "privacy.verify_trail"


def verify_job() -> str:
    """`panel cron`, daily: does the chain still verify? The result shows on the admin page."""
    verdict = verify()
    return ("OK: " if verdict.ok else "FAILED: ") + verdict.message


def verify_readings() -> list[Reading]:
    """For /metrics: how long ago the daily verification finished (+Inf: never), and its
    verdict (1: the chain verified; 0: broken, or never checked)."""
    last = db.session.get(JobRun, VERIFY_JOB)
    done = last.last_finished_at if last else None
    age = (utcnow() - done).total_seconds() if done else float("inf")
    ok = 1.0 if done and (last.last_result or "").startswith("OK") else 0.0  # type: ignore[union-attr]
    return [Reading("panel_audit_verify_age_seconds", "Seconds since the audit trail was last "
                    "verified (+Inf: never).", max(0.0, age)),
            Reading("panel_audit_verify_ok", "1 when the last verification found the audit "
                    "trail intact, 0 when it found it broken or never ran.", ok)]
