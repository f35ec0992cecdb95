"""Changing the sign-in email address (P05), proven by the new address before it counts.

The request needs the password again; the change happens only when the signed, 24-hour link
sent to the new address is used, and the old address is then told. The link names only the
pending row, so no address appears in URLs or logs, and a used or replaced link is dead.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from panel import audit
from panel.accounts import masking
from panel.accounts.services import support_address
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.auth.passwords import verify as check_password
from panel.crypto import normalise
from panel.db_types import utcnow
from panel.extensions import db
from panel.hooks import hook
from panel.mail.outbox import queue
from panel.urls import external_url
from plugins.privacy.center.models import DONE, PENDING, SUPERSEDED, EmailChange

LINK_LIFETIME = timedelta(hours=24)
TOKEN_SALT = "privacy-email-change"
TAKEN = "An account with this email already exists; choose another address."
WRONG_PASSWORD = "That is not your current password."


class EmailChangeError(ValueError):
    """The change cannot be asked for or made; ``field`` names the form field, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def _taken(email: str, by_other_than: User) -> bool:
    owner = db.session.execute(select(User.id).where(User.email.matches(email))).scalar()
    return owner is not None and owner != by_other_than.id


def request_change(user: User, new_email: str, password: str) -> EmailChange:
    """Check the password and the address, then send the confirmation link to the new one."""
    if not check_password(user.password_hash, password):
        raise EmailChangeError(WRONG_PASSWORD, "password")
    if normalise.email(new_email) == normalise.email(user.email or ""):
        raise EmailChangeError("This is already your sign-in email address.", "email")
    if _taken(new_email, user):
        raise EmailChangeError(TAKEN, "email")
    # only the newest request counts: earlier links stop working
    _drop_pending(user)
    change = EmailChange(id=uuid.uuid4(), user_id=user.id, new_email=new_email, status=PENDING,
                         requested_at=utcnow())
    db.session.add(change)
    link = external_url("privacy_policy.confirm_email", token=token_for(change))
    queue(to=new_email, subject="Confirm your new sign-in email address", account_id=user.account_id,
          body="\n".join([
              "Someone, probably you, asked to use this address to sign in to the hosting panel.",
              "",
              "To confirm, open this link within 24 hours:",
              link,
              "",
              "Until you do, nothing changes. If it was not you, ignore this message.",
          ]))
    audit.record(AuditEvent("account.email_change_request", actor=user, account_id=user.account_id,
                            object="sign-in email address", fields=["email"], result="pending"))
    db.session.commit()
    return change


def token_for(change: EmailChange) -> str:
    return _serializer().dumps({"c": str(change.id), "u": str(change.user_id)})


def pending_from_token(token: str) -> EmailChange:
    """The pending change a link is for; forged, expired, used or replaced links are refused."""
    try:
        data = _serializer().loads(token, max_age=int(LINK_LIFETIME.total_seconds()))
    except SignatureExpired:
        raise EmailChangeError("This link has expired. Ask for the change again from your "
                               "account; your email address has not changed.") from None
    except BadSignature:
        raise EmailChangeError("This link is not valid.") from None
    try:
        change = db.session.get(EmailChange, uuid.UUID(str(data.get("c"))))
    except (ValueError, AttributeError):
        change = None
    if change is None or str(change.user_id) != data.get("u"):
        raise EmailChangeError("This link is not valid.")
    if change.status == DONE:
        raise EmailChangeError("This link was already used: the address is changed.")
    if change.status != PENDING:
        raise EmailChangeError("This link was replaced by a newer request; use the newest email.")
    return change


def confirm(token: str) -> User:
    """Make the change; tell the old address. Refused if the address was taken meanwhile."""
    change = pending_from_token(token)
    user = db.session.get(User, change.user_id)
    if user is None or not user.active:
        raise EmailChangeError("This link is not valid.")
    new_email = change.new_email or ""
    if _taken(new_email, user):
        raise EmailChangeError("Another account started using this address in the meantime, "
                               "so your sign-in email address was not changed.")
    done = db.session.execute(update(EmailChange).where(EmailChange.id == change.id,
                                                        EmailChange.status == PENDING)
                              .values(status=DONE, done_at=utcnow())
                              .execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined] - confirmed twice at once
        db.session.rollback()
        raise EmailChangeError("This link was already used.")
    old_email = user.email
    user.email = new_email  # recomputes the blind index the sign-in looks up
    change.new_email = None  # the address now lives on the user; no second copy is kept
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise EmailChangeError("Another account started using this address in the meantime, "
                               "so your sign-in email address was not changed.") from None
    if user.account is not None:
        hook().panel_account_updated(account=user.account, actor=user, fields=["email"])
    audit.record(AuditEvent("account.update", actor=user, account_id=user.account_id,
                            object="sign-in email address", fields=["email"]))
    if old_email:
        _tell_old_address(user, old_email, new_email)
    db.session.commit()
    return user


def _tell_old_address(user: User, old_email: str, new_email: str) -> None:
    try:
        queue(to=old_email, subject="Your sign-in email address was changed",
              account_id=user.account_id, body="\n".join([
                  f"Your sign-in email address was changed to {masking.email(new_email)} "
                  f"on {utcnow():%d %B %Y at %H:%M} UTC.",
                  "",
                  "This address will no longer receive messages about your account.",
                  "If you did not make this change, write to "
                  f"{support_address(user.account)} at once.",
              ]))
    except ValueError:  # the old address could not receive mail anyway
        return


def pending_for(user: User) -> EmailChange | None:
    """The request still waiting for its link, if it is not too old to be used."""
    change = db.session.execute(
        select(EmailChange).where(EmailChange.user_id == user.id, EmailChange.status == PENDING)
        .order_by(EmailChange.requested_at.desc()).limit(1)).scalar_one_or_none()
    if change is None or utcnow() - change.requested_at > LINK_LIFETIME:
        return None
    return change


def _drop_pending(user: User) -> None:
    """Earlier requests stop working, and their addresses are not kept."""
    db.session.execute(update(EmailChange).where(EmailChange.user_id == user.id,
                                                 EmailChange.status == PENDING)
                       .values({EmailChange.status: SUPERSEDED, EmailChange._new_email: None})
                       .execution_options(synchronize_session=False))


def cancel(user: User) -> None:
    _drop_pending(user)
    audit.record(AuditEvent("account.email_change_cancel", actor=user, account_id=user.account_id,
                            object="sign-in email address", fields=["email"]))
    db.session.commit()


def erase_for(user: User) -> None:
    """On erasure: pending addresses go."""
    _drop_pending(user)
