"""The admin trail's filter and its CSV export.

The export streams in keyset batches (no OFFSET, no whole trail in memory), and every cell is
made safe for spreadsheets: one that starts with = + - @ (or a tab or carriage return) is
read as a formula by Excel and LibreOffice, so it gets a leading apostrophe (OWASP "CSV
injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from panel.accounts.models import Account
from panel.extensions import db
from plugins.privacy.access.models import AuditEntry
from plugins.privacy.access.services.words import describe

EXPORT_BATCH = 1000
COLUMNS = ("entry", "when_utc", "who", "role", "on_behalf_of", "client_id", "action",
           "sentence", "object", "fields", "reason_code", "ticket", "access_session",
           "request_id", "result", "entry_hash")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


class UnknownAccount(ValueError):
    """The client id asked for names no account."""


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def filtered(actor: str | None = None, account: int | None = None, action: str | None = None,
             since: date | None = None, until: date | None = None) -> Select[Any]:
    """Trail entries matching every given filter (dates inclusive, UTC)."""
    stmt = select(AuditEntry)
    if actor:
        needle = actor.lower()
        stmt = stmt.where(or_(func.lower(AuditEntry.actor_label).contains(needle, autoescape=True),
                              AuditEntry.actor_role == needle))
    if account is not None:
        account_id = db.session.execute(
            select(Account.id).where(Account.number == account)).scalar_one_or_none()
        if account_id is None:
            raise UnknownAccount(f"No customer has client id {account}.")
        stmt = stmt.where(AuditEntry.account_id == account_id)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if since:
        stmt = stmt.where(AuditEntry.at >= _day_start(since))
    if until:
        stmt = stmt.where(AuditEntry.at < _day_start(until) + timedelta(days=1))
    return stmt


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _numbers(session: Session, ids: set[Any]) -> dict[Any, int]:
    if not ids:
        return {}
    return dict(session.execute(select(Account.id, Account.number).where(Account.id.in_(ids))).all())


def csv_lines(session: Session, stmt: Select[Any], viewer: Any) -> Iterator[str]:
    """The rows of ``stmt``, newest first, as CSV text, one batch of entries at a time.
    ``session`` is the caller's own: a streamed body outlives the request's."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    last: int | None = None
    while True:
        page = stmt if last is None else stmt.where(AuditEntry.seq < last)
        rows = list(session.execute(page.order_by(AuditEntry.seq.desc())
                                       .limit(EXPORT_BATCH)).scalars())
        numbers = _numbers(session, {r.account_id for r in rows if r.account_id})
        for e in rows:
            writer.writerow([safe_cell(v) for v in (
                e.seq, e.at.isoformat(timespec="seconds"), e.actor_label, e.actor_role,
                e.on_behalf_of or "", numbers.get(e.account_id, ""), e.action,
                describe(e, viewer).sentence, e.object, " ".join(e.fields or []),
                e.reason_code or "", e.ticket or "", e.session_id or "", e.request_id or "",
                e.result, e.entry_hash)])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if len(rows) < EXPORT_BATCH:
            return
        last = rows[-1].seq
        session.expunge_all()  # a long export must not grow the identity map
