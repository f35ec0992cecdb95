"""Staff help without taking over: support resets a customer's second factor or has a
password-reset link sent, from inside an access session, and never sets a password.

Neither happens at once. The customer is emailed and the request waits a cool-down
(``COOL_DOWN``) in which one signed link in that email cancels it; ``panel cron`` then carries
it out (``apply_due``). The password-reset link itself is mailed only when the cool-down is
over: a link mailed at once but dead for a day would confuse more than it helps, and the
link's own hour starts when it arrives. Cancelling and carrying out are conditional UPDATEs
(``WHERE status = 'pending'``), so when both race exactly one wins and the other is told.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from panel import audit
from panel.accounts.models import ACTIVE as ACCOUNT_ACTIVE
from panel.accounts.models import Account
from panel.accounts.services import support_address
from panel.audit import AuditEvent
from panel.auth.models import STAFF_ROLES, SUBSCRIBER, User
from panel.db_types import utcnow
from panel.extensions import db
from panel.mail.outbox import queue
from panel.password_reset import services as password_reset
from panel.security import services as security
from panel.urls import external_url
from plugins.privacy.access.models import (
    CANCELLED,
    DONE,
    DROPPED,
    HELP_KINDS,
    PASSWORD_LINK,
    PENDING,
    SECOND_FACTOR,
    AccessSession,
    StaffHelp,
)

COOL_DOWN = timedelta(hours=24)
#: A cancel link keeps answering a week after the cool-down, to say what became of it.
LINK_LIFE = COOL_DOWN + timedelta(days=7)
TOKEN_SALT = "privacy-staff-help"
BATCH = 200


class HelpError(ValueError):
    """The request or the cancellation cannot be made; the message is for whoever tried, and
    ``status`` is the HTTP status that says why."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


def _when(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


def customer_of(account: Account) -> User | None:
    return db.session.execute(select(User).where(User.account_id == account.id,
                                                 User.role == SUBSCRIBER)).scalar_one_or_none()


def for_account(account_id: uuid.UUID, limit: int = 50) -> list[StaffHelp]:
    return list(db.session.execute(
        select(StaffHelp).where(StaffHelp.account_id == account_id)
        .order_by(StaffHelp.requested_at.desc()).limit(limit)).scalars())


def staff_label(row: StaffHelp) -> str:
    staff = db.session.get(User, row.staff_id)
    return f"{staff.label} ({staff.role})" if staff else "Support"


def sentence(row: StaffHelp) -> str:
    """The request and what became of it, as the customer reads it on Staff access."""
    asked = f"{staff_label(row)} asked on {_when(row.requested_at)} to {row.what}."
    if row.status == PENDING:
        return f"{asked} It takes effect on {_when(row.due_at)} unless you cancel it."
    at = _when(row.decided_at) if row.decided_at else "a later date"
    if row.status == CANCELLED:
        return f"{asked} You cancelled it on {at}; nothing was changed."
    if row.status == DONE:
        sent = ": the link was emailed to you" if row.kind == PASSWORD_LINK else ""
        return f"{asked} It took effect on {at}{sent}."
    return f"{asked} It was not carried out: {row.outcome or 'the account changed'}."


# --- asking -------------------------------------------------------------------------------


def ask(staff: User, session: AccessSession, account: Account, kind: str) -> StaffHelp:
    """Staff, inside their live access session on ``account`` (the caller passed the access
    check), ask for ``kind``. The customer is emailed a cancel link; it is on the trail."""
    if kind not in HELP_KINDS:
        raise HelpError("Choose what to do: reset two-step sign-in, or email a reset link.", 400)
    if (staff.role not in STAFF_ROLES or session.staff_id != staff.id
            or session.account_id != account.id or not session.is_live()):
        raise HelpError("Open an access session on this account first.", 403)
    user = customer_of(account)
    if user is None or not user.active or not user.email or account.status != ACCOUNT_ACTIVE:
        raise HelpError("This customer has no active login with an email address to help.")
    if kind == SECOND_FACTOR and not security.has_second_factor(user):
        raise HelpError("This customer has no two-step sign-in to reset: they sign in with "
                        "their password alone.")
    now = utcnow()
    row = StaffHelp(id=uuid.uuid4(), account_id=account.id, session_id=session.id,
                    staff_id=staff.id, kind=kind, status=PENDING,
                    open_key=f"{account.id}:{kind}", requested_at=now, due_at=now + COOL_DOWN)
    db.session.add(row)
    try:
        db.session.flush()  # one waiting request of each kind: the unique open_key says so
    except IntegrityError:
        db.session.rollback()
        raise HelpError(_already(account.id, kind)) from None
    audit.record(AuditEvent("staff_help.request", actor=staff, account_id=account.id,
                            object=f"asked to {row.what}; takes effect {_when(row.due_at)} "
                                   "unless the customer cancels it",
                            session_id=session.id, reason_code=session.reason_code,
                            ticket=session.ticket))
    _mail_request(row, user, staff, session)
    db.session.commit()
    return row


def _already(account_id: uuid.UUID, kind: str) -> str:
    waiting = db.session.execute(select(StaffHelp).where(
        StaffHelp.open_key == f"{account_id}:{kind}")).scalar_one_or_none()
    then = f": it takes effect {_when(waiting.due_at)}" if waiting else ""
    return f"This is already asked and waiting for the customer's cool-down{then}."


def _mail_request(row: StaffHelp, user: User, staff: User, session: AccessSession) -> None:
    ticket = f" (ticket {session.ticket})" if session.ticket else ""
    if row.kind == SECOND_FACTOR:
        subject = "Support will reset your two-step sign-in in 24 hours"
        then = ("Then your authenticator app, your recovery codes and your passkeys stop "
                "working and every session is signed out: you sign in with your password "
                "alone and set two-step sign-in up again on your Security page.")
    else:
        subject = "Support will email you a password-reset link in 24 hours"
        then = ("Then a second email brings a link with which you choose a new password "
                "yourself (support never sets it); the link works once, for one hour.")
    body = "\n".join([
        f"{staff.label} from support asked to {row.what} on your hosting account. "
        f"Their reason: {session.reason}{ticket}.", "",
        f"This takes effect on {_when(row.due_at)}. {then}", "",
        "If you did not ask for this, cancel it before then here (the page asks you to confirm):",
        external_url("privacy_access_link.cancel_help", token=token(row)), "",
        f"Every staff access to your account: {external_url('privacy_client.staff_access')}"])
    queue(to=user.email or "", subject=subject, body=body, account_id=row.account_id)


# --- the cancel link ------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def token(row: StaffHelp) -> str:
    return _serializer().dumps({"h": str(row.id), "a": str(row.account_id)})


def from_token(token: str) -> StaffHelp:
    """The request a signed link is for: 404 when forged or not ours, 410 when expired."""
    try:
        data = _serializer().loads(token, max_age=int(LINK_LIFE.total_seconds()))
        row = db.session.get(StaffHelp, uuid.UUID(str(data.get("h"))))
    except SignatureExpired:
        raise HelpError("This link has expired. If support changed your sign-in and you did "
                        f"not ask for it, write to {support_address()}.", 410) from None
    except (BadSignature, ValueError, AttributeError, TypeError):
        raise HelpError("This link is not valid. Check that you copied the whole link from "
                        "the email.", 404) from None
    if row is None or str(row.account_id) != data.get("a"):
        raise HelpError("This link is not valid. Check that you copied the whole link from "
                        "the email.", 404)
    return row


def may_cancel(row: StaffHelp, viewer: object) -> bool:
    """The link is the customer's: anyone who follows it from the mail, or the customer signed
    in. Staff, a reseller or another customer signed in cannot cancel it in their name."""
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return True
    return getattr(viewer, "account_id", None) == row.account_id \
        and getattr(viewer, "role", None) == SUBSCRIBER


def cancel(row: StaffHelp, viewer: object) -> None:
    """The customer cancels a waiting request; nothing else changes."""
    if not may_cancel(row, viewer):
        raise HelpError("Only the customer this was sent to can cancel it; staff and resellers "
                        "cannot cancel it for them.", 403)
    _decide(row, {"status": CANCELLED})
    owner = db.session.execute(select(User).where(User.account_id == row.account_id)).scalar()
    audit.record(AuditEvent("staff_help.cancel", actor=owner, account_id=row.account_id,
                            object=f"cancelled support's request to {row.what}"))
    db.session.commit()


def _decide(row: StaffHelp, values: dict[str, object]) -> None:
    """Decide only if nobody (the customer, or another `panel cron`) decided first."""
    done = db.session.execute(
        update(StaffHelp).where(StaffHelp.id == row.id, StaffHelp.status == PENDING)
        .values(open_key=None, decided_at=utcnow(), **values)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        db.session.refresh(row)
        raise HelpError(settled(row))
    db.session.refresh(row)


def settled(row: StaffHelp) -> str:
    """What became of a request that no longer waits, in a sentence for the customer."""
    at = _when(row.decided_at) if row.decided_at else "earlier"
    if row.status == CANCELLED:
        return f"This was already cancelled on {at}; nothing was changed, nothing more to do."
    if row.status == DONE:
        return (f"This already took effect on {at}, so it can no longer be cancelled. If you "
                "did not ask for it, reset your password and write to "
                f"{support_address(db.session.get(Account, row.account_id))}.")
    return f"This was not carried out ({row.outcome or 'the account changed'}); nothing to cancel."


# --- carrying it out ----------------------------------------------------------------------


def apply_due() -> str:
    """`panel cron`: carry out every request whose cool-down is over. One commit per request,
    so a failure leaves the others done and that one waiting for the next run; a request
    another run (or the customer) decided first is skipped."""
    done = dropped = 0
    ids = db.session.execute(select(StaffHelp.id).where(
        StaffHelp.status == PENDING, StaffHelp.due_at <= utcnow())
        .order_by(StaffHelp.due_at).limit(BATCH)).scalars().all()
    for ident in ids:
        row = db.session.get(StaffHelp, ident)
        if row is None or row.status != PENDING:
            continue
        try:
            outcome = _carry_out(row)
        except HelpError:
            continue  # decided meanwhile
        except Exception:  # noqa: BLE001 - one failure must not stop the others
            db.session.rollback()
            current_app.logger.exception("staff help %s failed; it stays due", ident)
            continue
        db.session.commit()
        done, dropped = done + (outcome == DONE), dropped + (outcome == DROPPED)
    return f"staff help carried out {done}, dropped {dropped}"


def _carry_out(row: StaffHelp) -> str:
    account = db.session.get(Account, row.account_id)
    user = customer_of(account) if account is not None else None
    staff = db.session.get(User, row.staff_id)
    asked = f"on {_when(row.requested_at)}"
    if user is None or account is None or account.status != ACCOUNT_ACTIVE or not user.active \
            or (row.kind == PASSWORD_LINK and not password_reset.can_send_for_support(user)):
        _decide(row, {"status": DROPPED, "outcome": "the account is no longer active"})
        audit.record(AuditEvent("staff_help.apply", account_id=row.account_id, result="dropped",
                                object=f"support's request to {row.what} was not carried out: "
                                       "the account is no longer active"))
        return DROPPED
    _decide(row, {"status": DONE})
    if row.kind == SECOND_FACTOR:
        security.reset_second_factor(user, None, f"two-step sign-in reset, as support asked {asked}")
    else:
        password_reset.support_send(
            user, f"{staff.label} from support" if staff else "Our support team", asked)
    audit.record(AuditEvent("staff_help.apply", account_id=row.account_id,
                            object=f"support's request to {row.what} took effect after 24 hours"))
    return DONE
