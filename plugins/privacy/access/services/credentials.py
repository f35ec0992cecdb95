"""The support credential vault (P18)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from panel import audit
from panel.accounts.models import Account
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.db_types import utcnow
from panel.extensions import db
from plugins.privacy.access.models import AccessSession, SupportCredential

DEFAULT_DAYS = 14
MAX_DAYS = 90


def current(account: Account) -> list[SupportCredential]:
    return list(db.session.execute(
        select(SupportCredential).where(SupportCredential.account_id == account.id,
                                        SupportCredential.expires_at > utcnow())
        .order_by(SupportCredential.created_at.desc())).scalars())


def add(account: Account, by: User, *, kind: str, label: str, host: str, username: str,
        secret: str, days: int = DEFAULT_DAYS) -> SupportCredential:
    cred = SupportCredential(account_id=account.id, kind=kind, label=label, host=host or None,
                             username=username or None, secret=secret,
                             expires_at=utcnow() + timedelta(days=days))
    db.session.add(cred)
    audit.record(AuditEvent("credential.add", actor=by, account_id=account.id,
                            object=f"{kind} credential {cred.id}", fields=["secret"]))
    db.session.commit()
    return cred


def remove(cred: SupportCredential, by: User | None, why: str = "credential.delete") -> None:
    audit.record(AuditEvent(why, actor=by, account_id=cred.account_id,
                            object=f"{cred.kind} credential {cred.id}"))
    db.session.delete(cred)
    db.session.commit()


def reveal(cred: SupportCredential, session: AccessSession, staff: User) -> str:
    """The secret, for staff inside their own live session; the reveal is on the record."""
    if not session.is_live() or session.staff_id != staff.id or session.account_id != cred.account_id:
        audit.record(AuditEvent("credential.reveal", actor=staff, account_id=cred.account_id,
                                object=f"{cred.kind} credential {cred.id}", result="refused",
                                session_id=session.id))
        db.session.commit()
        raise PermissionError("Your access session has ended: open a new one to see this.")
    if cred.expires_at <= utcnow():
        raise PermissionError("This credential has expired.")
    audit.record(AuditEvent("credential.reveal", actor=staff, account_id=cred.account_id,
                            object=f"{cred.kind} credential {cred.id}", fields=["secret"],
                            session_id=session.id, reason_code=session.reason_code,
                            ticket=session.ticket))
    db.session.commit()
    return cred.secret or ""


def purge_expired() -> str:
    """Job: delete credentials past their expiry (their reveals stay on the trail)."""
    now = utcnow()
    ids = list(db.session.execute(select(SupportCredential.id, SupportCredential.account_id,
                                         SupportCredential.kind)
                                  .where(SupportCredential.expires_at <= now)))
    for cred_id, account_id, kind in ids:
        audit.record(AuditEvent("credential.expire", account_id=account_id,
                                object=f"{kind} credential {cred_id}"))
    db.session.execute(delete(SupportCredential).where(SupportCredential.expires_at <= now))
    db.session.commit()
    return f"deleted {len(ids)} expired support credentials"
