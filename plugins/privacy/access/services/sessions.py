"""Staff access sessions (P16, P17): a reason, a ticket, a time limit, and the customer's say.

Decisions go through conditional UPDATEs (``WHERE status = 'pending'``), so when a customer
approves while staff end the request, exactly one of them wins and the other is told so.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update

from panel import audit
from panel.accounts.models import Account
from panel.audit import AuditEvent
from panel.auth.models import ADMIN, STAFF_ROLES, User
from panel.db_types import utcnow
from panel.extensions import db
from panel.mail.outbox import queue
from panel.urls import external_url
from plugins.privacy.access.models import (
    ACTIVE,
    BREAK_GLASS_REASONS,
    DENIED,
    ENDED,
    EXPIRED,
    PENDING,
    REASONS,
    REVOKED,
    TICKET_REQUIRED,
    AccessSession,
    AccountPrivacy,
)

DEFAULT_MINUTES = 30
MAX_MINUTES = 240
APPROVAL_WINDOW = timedelta(hours=12)
TOKEN_SALT = "privacy-access-approval"


class AccessError(ValueError):
    """A request or decision that cannot be made; the message is for the person who tried."""


def settings(account: Account) -> AccountPrivacy:
    found = db.session.get(AccountPrivacy, account.id)
    return found or AccountPrivacy(account_id=account.id, require_approval=False, notify_access=True)


def live_session(staff: User, account: Account) -> AccessSession | None:
    now = utcnow()
    return db.session.execute(
        select(AccessSession).where(AccessSession.staff_id == staff.id,
                                    AccessSession.account_id == account.id,
                                    AccessSession.status == ACTIVE,
                                    AccessSession.expires_at > now)
        .order_by(AccessSession.expires_at.desc()).limit(1)).scalar_one_or_none()


def open_sessions(staff: User) -> list[dict[str, object]]:
    """The staff member's live sessions, for the bar on every page: whose account (client id),
    why, and how many minutes are left."""
    now = utcnow()
    rows = db.session.execute(
        select(AccessSession, Account.number)
        .join(Account, Account.id == AccessSession.account_id)
        .where(AccessSession.staff_id == staff.id, AccessSession.status == ACTIVE,
               AccessSession.expires_at > now)
        .order_by(AccessSession.expires_at)).all()
    return [{"session": s, "number": number,
             "minutes_left": max(1, -(-int((s.expires_at - now).total_seconds()) // 60))}
            for s, number in rows]


def _event(action: str, s: AccessSession, actor: User | None, result: str = "ok") -> AuditEvent:
    what = f"access session {s.id}" + (" (break-glass)" if s.break_glass else "")
    return AuditEvent(action, actor=actor, account_id=s.account_id, object=what, result=result,
                      reason_code=s.reason_code, ticket=s.ticket, session_id=s.id)


def validate(staff: User, reason: str, ticket: str, minutes: int, break_glass: bool) -> None:
    if staff.role not in STAFF_ROLES:
        raise AccessError("Only support staff can open an access session.")
    if reason not in REASONS:
        raise AccessError("Choose a reason from the list.")
    if reason in TICKET_REQUIRED and not ticket:
        raise AccessError(f"A ticket or case reference is required for “{REASONS[reason]}”.")
    if not 5 <= minutes <= MAX_MINUTES:
        raise AccessError(f"A session lasts between 5 and {MAX_MINUTES} minutes.")
    if break_glass and (staff.role != ADMIN or reason not in BREAK_GLASS_REASONS):
        raise AccessError("Only admins can break glass, and only for a legal or abuse reason.")


def request_access(staff: User, account: Account, *, reason: str, ticket: str, note: str,
                   minutes: int = DEFAULT_MINUTES, break_glass: bool = False) -> AccessSession:
    validate(staff, reason, ticket, minutes, break_glass)
    existing = live_session(staff, account)
    if existing is not None:
        return existing
    s = AccessSession(account_id=account.id, staff_id=staff.id, reason_code=reason,
                      ticket=ticket or None, note=note or None, minutes=minutes,
                      break_glass=break_glass, requested_at=utcnow(), status=PENDING)
    db.session.add(s)
    if settings(account).require_approval and not break_glass:
        audit.record(_event("access.request", s, staff))
        _notify(account, s, approval=True)
    else:
        _start(s)
        audit.record(_event("access.start", s, staff))
        if break_glass or settings(account).notify_access:
            _notify(account, s, approval=False)
    db.session.commit()
    return s


def _start(s: AccessSession, now: datetime | None = None) -> None:
    now = now or utcnow()
    s.status, s.started_at, s.expires_at = ACTIVE, now, now + timedelta(minutes=s.minutes)


def _decide(s: AccessSession, from_status: tuple[str, ...], values: dict[str, object]) -> None:
    """Apply a decision only if nobody else decided first."""
    done = db.session.execute(
        update(AccessSession).where(AccessSession.id == s.id, AccessSession.status.in_(from_status))
        .values(**values).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        db.session.rollback()
        db.session.refresh(s)
        raise AccessError(f"This request was already {s.status}; nothing was changed.")
    db.session.refresh(s)


def decide(s: AccessSession, by: User, approve: bool) -> None:
    """The customer approves or denies a pending request."""
    now = utcnow()
    if approve:
        if now - s.requested_at > APPROVAL_WINDOW:
            raise AccessError("This request has expired; support must ask again.")
        _decide(s, (PENDING,), {"status": ACTIVE, "decided_at": now, "decided_by": by.id,
                                "started_at": now, "expires_at": now + timedelta(minutes=s.minutes)})
        audit.record(_event("access.approve", s, by))
    else:
        _decide(s, (PENDING,), {"status": DENIED, "decided_at": now, "decided_by": by.id,
                                "ended_at": now, "end_reason": "denied by the customer"})
        audit.record(_event("access.deny", s, by))
    db.session.commit()


def revoke(s: AccessSession, by: User) -> None:
    """The customer ends a pending or active session at once."""
    _decide(s, (PENDING, ACTIVE), {"status": REVOKED, "ended_at": utcnow(),
                                   "end_reason": "revoked by the customer"})
    audit.record(_event("access.revoke", s, by))
    db.session.commit()


def end(s: AccessSession, by: User) -> None:
    """Staff finish early."""
    _decide(s, (PENDING, ACTIVE), {"status": ENDED, "ended_at": utcnow(),
                                   "end_reason": "ended by staff"})
    audit.record(_event("access.end", s, by))
    db.session.commit()


def expire_due() -> str:
    """Job: close active sessions past their time and pending requests past 12 hours."""
    now = utcnow()
    ended = 0
    stale = db.session.execute(select(AccessSession).where(
        ((AccessSession.status == ACTIVE) & (AccessSession.expires_at <= now))
        | ((AccessSession.status == PENDING) & (AccessSession.requested_at <= now - APPROVAL_WINDOW))
    )).scalars().all()
    for s in stale:
        try:
            _decide(s, (s.status,), {"status": EXPIRED, "ended_at": now,
                                     "end_reason": "time limit" if s.status == ACTIVE else "not answered"})
        except AccessError:
            continue
        audit.record(_event("access.expire", s, None))
        db.session.commit()
        ended += 1
    return f"expired {ended} access sessions"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def approval_token(s: AccessSession) -> str:
    return _serializer().dumps({"s": str(s.id), "a": str(s.account_id)})


def session_from_token(token: str) -> AccessSession:
    """The pending session a signed email link is for; forged or expired links are refused."""
    try:
        data = _serializer().loads(token, max_age=int(APPROVAL_WINDOW.total_seconds()))
    except SignatureExpired:
        raise AccessError("This approval link has expired; support must ask again.") from None
    except BadSignature:
        raise AccessError("This approval link is not valid.") from None
    try:
        s = db.session.get(AccessSession, uuid.UUID(str(data.get("s"))))  # signed by us
    except ValueError:
        s = None
    if s is None or str(s.account_id) != data.get("a"):
        raise AccessError("This approval link is not valid.")
    return s



def _notify(account: Account, s: AccessSession, *, approval: bool) -> None:
    user = account.user
    if user is None or not user.email:
        return
    staff = db.session.get(User, s.staff_id)
    who = f"{staff.label} ({staff.role})" if staff else "Support"
    lines = [f"{who} asked to open your account data.",
             f"Reason: {s.reason}" + (f" (ticket {s.ticket})" if s.ticket else ""),
             f"For up to {s.minutes} minutes."]
    if approval:
        link = external_url("privacy_access_link.approve_link", token=approval_token(s))
        lines += ["", "You asked to approve every staff access. Approve or deny here:", link,
                  "", "The request expires in 12 hours if you do not answer."]
        subject = "Support asks for access to your account"
    else:
        subject = ("Break-glass access to your account" if s.break_glass
                   else "Support opened your account data")
        if s.break_glass:
            lines.insert(0, "An administrator opened your account without your approval, "
                            "for a legal or abuse reason.")
    lines += ["", f"See every access and revoke it at {external_url('privacy_client.staff_access')}"]
    queue(to=user.email, subject=subject, body="\n".join(lines), account_id=account.id)
