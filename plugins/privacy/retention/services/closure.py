"""Closing an account (P09): the subscriber or staff close it, and the clock starts.

Closing signs the person out everywhere and stops sign-in; the retention schedule erases the
personal data RETENTION_CLOSED_ACCOUNT_DAYS later, exactly as the privacy center's erasure
does (unless a legal hold applies). Staff can reopen it until then.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from panel import audit
from panel.accounts.erasure import blockers
from panel.accounts.models import ACTIVE, CLOSED, Account
from panel.accounts.services import support_address
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.auth.services import sign_out_everywhere
from panel.db_types import utcnow
from panel.extensions import db
from panel.mail.outbox import queue
from plugins.privacy.access.models import AuditEntry


class ClosureError(ValueError):
    """The account cannot be closed or reopened now; the message says why."""


def erase_on(account: Account) -> datetime | None:
    if account.closed_at is None:
        return None
    return account.closed_at + timedelta(days=int(current_app.config["RETENTION_CLOSED_ACCOUNT_DAYS"]))


def is_erased(account: Account) -> bool:
    return db.session.execute(select(AuditEntry.id).where(
        AuditEntry.account_id == account.id, AuditEntry.action == "account.erase")).first() is not None


def close(account: Account, actor: User | None, *, by_staff: bool = False) -> datetime:
    """Close now; returns when the personal data will be erased. The caller commits."""
    if account.closed_at is not None:
        raise ClosureError("This account is already closed.")
    reasons = blockers(account)
    if reasons:
        raise ClosureError("The account cannot be closed yet: " + "; ".join(reasons) + ".")
    account.status, account.closed_at = CLOSED, utcnow()
    user = db.session.execute(select(User).where(User.account_id == account.id)).scalar()
    if user is not None:
        user.active = False
        sign_out_everywhere(user)  # every session ends
    when = erase_on(account)
    assert when is not None
    audit.record(AuditEvent("account.close", actor=actor, account_id=account.id,
                            object=f"account {account.number}", fields=["status", "closed_at"]))
    if user is not None and user.email:
        who = "Our staff closed" if by_staff else "You closed"
        queue(to=user.email, subject="Your hosting panel account is closed",
              account_id=account.id, body="\n".join([
                  f"{who} your hosting panel account {account.number}.", "",
                  f"Your personal data will be erased on {when:%d %B %Y}. Until then, write to "
                  f"{support_address(account)} to reopen the account.",
                  "Invoices are kept for the seven years the law requires, then deleted."]))
    return when


def reopen(account: Account, actor: User) -> None:
    """Staff undo a closure inside the grace period (never after the erasure ran)."""
    if account.closed_at is None:
        raise ClosureError("This account is not closed.")
    if is_erased(account):
        raise ClosureError("This account's personal data was already erased; it cannot be reopened.")
    account.status, account.closed_at = ACTIVE, None
    user = db.session.execute(select(User).where(User.account_id == account.id)).scalar()
    if user is not None:
        user.active = True
    audit.record(AuditEvent("account.reopen", actor=actor, account_id=account.id,
                            object=f"account {account.number}", fields=["status", "closed_at"]))
