"""Sign-in history (P21): time, IP (sealed), browser, referrer and method of each sign-in.

Written by the ``panel_user_login`` hook; the subscriber reads it on the My data page and in
their export. Entries go after RETENTION_DAYS, like the other access logs (P22).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import has_request_context, request
from sqlalchemy import delete, func, select

from panel.accounts.models import Account
from panel.auth.models import User
from panel.db_types import utcnow
from panel.extensions import db
from plugins.privacy.processing.services import Stream, stream
from plugins.privacy.retention.models import SigninEvent

RETENTION_DAYS = 90
PAGE_ROWS = 50


def record(user: User, method: str) -> SigninEvent:
    """Add the sign-in to the caller's transaction (the login view commits after the hook)."""
    event = SigninEvent(user_id=user.id, account_id=user.account_id, at=utcnow(),
                        method=method[:32])
    fill_from_request(event)
    db.session.add(event)
    return event


def fill_from_request(event: Any) -> None:
    """The address (sealed), browser and referring page of the request, on a log entry."""
    if has_request_context():
        if request.remote_addr:
            event.ip = request.remote_addr
        event.user_agent = (request.user_agent.string or "")[:256] or None
        event.referrer = _referrer(request.referrer)


def _referrer(value: str | None) -> str | None:
    """Scheme, host and path only: a query string can carry tokens that are none of our business."""
    if not value:
        return None
    parts = urlsplit(value)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"[:255] if parts.netloc else None


def recent(account: Account, limit: int = PAGE_ROWS) -> list[SigninEvent]:
    return list(db.session.execute(
        select(SigninEvent).where(SigninEvent.account_id == account.id)
        .order_by(SigninEvent.at.desc()).limit(limit)).scalars())


def count(account: Account) -> int:
    return db.session.execute(select(func.count()).select_from(SigninEvent)
                              .where(SigninEvent.account_id == account.id)).scalar_one()


def export_rows(account: Account, batch: int = 1000) -> Stream:
    """Every entry, oldest first, as plain rows read in batches (no ORM objects)."""
    return stream(SigninEvent, ("at", "ip", "user_agent", "referrer", "method"),
                      SigninEvent.account_id == account.id, order_by=(SigninEvent.at,),
                      batch=batch)


def erase(account: Account) -> None:
    """Part of erasing the account (P09): its sign-in history goes with it."""
    db.session.execute(delete(SigninEvent).where(SigninEvent.account_id == account.id))
