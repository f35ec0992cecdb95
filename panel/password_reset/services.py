"""Password reset: the request, the link, and setting the new password.

The "Forgot password?" form must not tell who has an account, by its answer or by its timing.
So a request does the same work for every address: one lookup by blind index and one row
written (``request``). Whether a link goes out is decided later, by ``send_requested`` in
``panel cron``, which also sends the mail that any answer would have queued anyway.

A link is signed (itsdangerous), names its row and the password it may replace, and lives one
hour. It dies when it is used (its row is deleted in a conditional DELETE, so of two racing
uses one wins), when a newer link is sent, and when the password changes in any way.

A mailbox alone never takes an account over: an account with two-step sign-in must give a
code (or a recovery code) before its password changes, and signs in with its second step as
always afterwards. Staff and admin accounts are never reset by email alone: an admin sends
the link from the admin area, or an operator prints one with ``panel user reset``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, select

from panel import audit
from panel.accounts.models import ACTIVE
from panel.accounts.services import support_address
from panel.audit import AuditEvent
from panel.auth import totp
from panel.auth.models import STAFF_ROLES, User
from panel.auth.passwords import has_password, hash_password
from panel.auth.services import sign_out_everywhere
from panel.db_types import utcnow
from panel.extensions import db
from panel.mail.outbox import queue
from panel.password_reset.models import ADMIN, OPERATOR, SELF, SUPPORT, PasswordReset
from panel.security.services import reset_second_factor
from panel.urls import external_url

SALT = "password-reset"
VALID = timedelta(hours=1)
BATCH = 500

NOT_VALID = ("This reset link is not valid. Check that you copied the whole link from the "
             "email, or ask for a new one.")
GONE = ("This reset link can no longer be used: it was used already, a newer link was sent, "
        "the password was changed since, or the hour it was valid for is over. Ask for a "
        "new one.")


class ResetError(ValueError):
    """The link cannot be used; the message is for the person who opened it."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class WrongCode(ValueError):
    """The second step was not passed; nothing changed."""


@dataclass
class Link:
    """A usable link: the row it stands for and the person it resets."""

    row: PasswordReset
    user: User

    @property
    def needs_code(self) -> bool:
        return needs_second_step(self.user)


def needs_second_step(user: User) -> bool:
    """Does a reset of this account ask for its second step? (Any second factor the account
    has enrolled belongs here.)"""
    return bool(user.totp_secret)


# --- the request ------------------------------------------------------------------------------


def request(email: str) -> None:
    """Note a "Forgot password?" request; the same work whether or not ``email`` is known.
    Nothing identifying is kept for an unknown address: the row then names nobody."""
    user_id = db.session.execute(select(User.id).where(User.email.matches(email))).scalar()
    db.session.add(PasswordReset(id=uuid.uuid4(), user_id=user_id, requested_by=SELF))
    db.session.commit()


def can_reset_by_email(user: User) -> bool:
    """An active customer or reseller with a password of their own. Closed, erased and
    suspended accounts get nothing; staff and admins are reset by an admin."""
    if not user.active or not user.email or user.role in STAFF_ROLES:
        return False
    if user.account is not None and user.account.status != ACTIVE:
        return False
    return has_password(user.password_hash)


def send_requested() -> str:
    """``panel cron``: turn waiting requests into mail. A request for an unknown, closed,
    erased or suspended address is dropped and nothing is sent; staff, and a customer who has
    no password yet, are told what to do instead. Links past their hour are deleted."""
    sent = told = dropped = 0
    rows = db.session.execute(select(PasswordReset).where(PasswordReset.sent_at.is_(None))
                              .order_by(PasswordReset.created_at).limit(BATCH)).scalars().all()
    newest = {r.user_id: r.id for r in rows if r.user_id is not None}  # created order
    for row in rows:
        user = db.session.get(User, row.user_id) if row.user_id else None
        if user is not None and can_reset_by_email(user):
            if newest[user.id] == row.id:  # several requests in a row: one mail, the last
                _send(row, user)
                sent += 1
            else:
                db.session.delete(row)
        else:
            tell = _explain(user) if user is not None and newest[user.id] == row.id else None
            if tell is not None:
                tell(user)
                told += 1
            else:
                dropped += 1
            db.session.delete(row)
        db.session.commit()
    db.session.execute(delete(PasswordReset).where(PasswordReset.sent_at < utcnow() - VALID))
    db.session.commit()
    return f"sent {sent}, staff told {told}, dropped {dropped}"


# --- the link ---------------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: User) -> str:
    """Changes with the password, however it is changed: a link works for one password."""
    return hashlib.sha256(f"{user.id}|{user.password_hash}".encode()).hexdigest()[:24]


def _issue(row: PasswordReset, user: User) -> str:
    """Make ``row`` the user's one live link; the caller commits."""
    db.session.execute(delete(PasswordReset).where(PasswordReset.user_id == user.id,
                                                   PasswordReset.id != row.id,
                                                   PasswordReset.sent_at.is_not(None)))
    row.user_id, row.sent_at = user.id, utcnow()
    db.session.add(row)
    return external_url("password_reset.reset",
                        token=_serializer().dumps({"r": str(row.id), "f": _fingerprint(user)}))


def _send(row: PasswordReset, user: User, by: User | None = None, who: str | None = None) -> None:
    link = _issue(row, user)
    who = who or (f"{by.label}, an administrator, asked us to send you this link" if by else
                  "Someone, hopefully you, asked to reset the password of your hosting account")
    body = (f"Hello {user.display_name or ''},\n\n{who}. Choose a new password here (the link "
            f"works once, for one hour):\n{link}\n\n"
            + ("You will still be asked for your two-step sign-in code.\n\n"
               if needs_second_step(user) else "")
            + "If you did not ask for this, you need not do anything: your password stays as "
            "it is.\n")
    queue(to=user.email or "", subject="Reset your password", body=body,
          account_id=user.account_id)


def _explain(user: User) -> Callable[[User], None] | None:
    """Who gets no link but a word on what to do instead: staff, and a customer still waiting
    to choose a first password. Closed, erased and suspended accounts get nothing at all."""
    if not user.active or not user.email:
        return None
    if user.role in STAFF_ROLES:
        return _tell_staff
    if (user.account is None or user.account.status == ACTIVE) \
            and not has_password(user.password_hash):
        return _tell_invited
    return None


def _tell_invited(user: User) -> None:
    body = ("Hello,\n\nSomeone asked to reset the password of your hosting account, but it has no "
            "password yet: your provider sent you an invitation to choose one. If it expired or "
            f"got lost, ask your provider for a new invitation, or write to "
            f"{support_address(user.account)}. Nothing was changed.\n")
    queue(to=user.email or "", subject="Your account has no password yet", body=body,
          account_id=user.account_id)


def _tell_staff(user: User) -> None:
    body = ("Hello,\n\nSomeone asked to reset the password of your staff account. Staff and "
            "admin passwords are not reset by email: ask an administrator to send you a reset "
            "link from the admin area (Team). Nothing was changed.\n\n"
            f"If it was not you, tell an administrator. Sign in: {external_url('auth.login')}\n")
    queue(to=user.email or "", subject="Password reset request for your staff account",
          body=body, account_id=user.account_id)


def check(token: str) -> Link:
    """The link's row and person, or ResetError: 404 for a forged or truncated link, 410 for
    one of ours that has died (used, replaced, expired, password changed, account closed)."""
    try:
        data = _serializer().loads(token, max_age=int(VALID.total_seconds()))
        row_id = uuid.UUID(str(data["r"]))
    except SignatureExpired:
        raise ResetError(GONE, 410) from None
    except (BadSignature, ValueError, KeyError, TypeError):
        raise ResetError(NOT_VALID, 404) from None
    row = db.session.get(PasswordReset, row_id)
    if row is None or row.user_id is None or row.sent_at is None \
            or utcnow() - row.sent_at > VALID:
        raise ResetError(GONE, 410)
    user = db.session.get(User, row.user_id)
    if user is None or _fingerprint(user) != data.get("f") or not _allowed(row, user) \
            or _newer_request(row, user):
        raise ResetError(GONE, 410)
    return Link(row, user)


def _allowed(row: PasswordReset, user: User) -> bool:
    if row.requested_by == SELF:
        return can_reset_by_email(user)
    if row.requested_by == ADMIN:
        return bool(user.active) and user.role in STAFF_ROLES
    if row.requested_by == SUPPORT:
        return can_send_for_support(user)
    return bool(user.active)  # an operator at the shell may reset anyone still active


def _newer_request(row: PasswordReset, user: User) -> bool:
    """A newer request kills the link at once, before its own link is even sent (a staff
    member's own "Forgot password?" never becomes a link, so it does not count for them)."""
    newer = select(PasswordReset.id).where(PasswordReset.user_id == user.id,
                                           PasswordReset.id != row.id,
                                           PasswordReset.created_at > row.created_at)
    if user.role in STAFF_ROLES:
        newer = newer.where(PasswordReset.requested_by != SELF)
    return db.session.execute(newer.limit(1)).first() is not None


def complete(link: Link, password: str, code: str | None) -> None:
    """Set the new password, then end every session, mail a notice and record it. WrongCode
    (nothing changed) when the account's second step is not passed; ResetError when another
    request used the link first."""
    user = link.user
    new_hash = hash_password(password)  # before any row is locked: argon2 takes a while
    if needs_second_step(user) and not totp.check(user, code or ""):
        db.session.rollback()
        raise WrongCode("That code is not right, or was already used.")
    claimed = db.session.execute(delete(PasswordReset).where(PasswordReset.id == link.row.id)
                                 .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise ResetError(GONE, 410)
    db.session.execute(delete(PasswordReset).where(PasswordReset.user_id == user.id)
                       .execution_options(synchronize_session=False))
    user.password_hash = new_hash
    sign_out_everywhere(user)
    audit.record(AuditEvent("password.reset", actor=user, account_id=user.account_id,
                            object="password (reset link)", fields=["password"]))
    _notice(user)
    db.session.commit()


def _notice(user: User) -> None:
    body = (f"Hello {user.display_name or ''},\n\nThe password of your hosting account was just "
            "changed with a reset link, and every session was signed out.\n\n"
            "If this was you, there is nothing more to do. If it was not, reset your password "
            f"again at once: {external_url('password_reset.forgot')}\n"
            f"and then write to {support_address(user.account)}.\n")
    queue(to=user.email or "", subject="Your password was changed", body=body,
          account_id=user.account_id)


# --- resets made by an admin or an operator ---------------------------------------------------


class NotAllowed(ValueError):
    """The reset cannot be made; the message is for the admin."""


def team(viewer: User) -> list[User]:
    """The staff and admin accounts an admin may reset: everyone's but their own."""
    found = db.session.execute(select(User).where(User.role.in_(STAFF_ROLES))).scalars().all()
    return sorted((u for u in found if u.id != viewer.id), key=lambda u: (u.role, u.label))


def admin_send(admin: User, user: User, *, second_factor: bool) -> None:
    """An admin mails a staff member a reset link, and may also turn off their two-step
    sign-in (they set it up again when they next sign in). On the trail."""
    if admin.role != "admin" or user.role not in STAFF_ROLES or user.id == admin.id:
        raise NotAllowed("You can reset other staff members' passwords here; change your own "
                         "on your security page.")
    if not user.active or not user.email:
        raise NotAllowed("This account is suspended; reinstate it first.")
    if second_factor:
        reset_second_factor(user, admin, f"{user.role} {user.label}: two-step sign-in reset")
    _send(PasswordReset(id=uuid.uuid4(), requested_by=ADMIN), user, by=admin)
    audit.record(AuditEvent("password.reset_link", actor=admin, account_id=user.account_id,
                            object=f"{user.role} {user.label}: reset link emailed"))
    db.session.commit()


def operator_link(user: User, *, second_factor: bool) -> str:
    """A link for an operator at the shell to hand over (when no admin can sign in). On the
    trail; the caller shows the link and nothing is mailed."""
    if not user.active:
        raise NotAllowed("This account is suspended or closed; reinstate it first.")
    if second_factor:
        reset_second_factor(user, None, f"{user.role} {user.label}: two-step sign-in reset")
    link = _issue(PasswordReset(id=uuid.uuid4(), requested_by=OPERATOR), user)
    audit.record(AuditEvent("password.reset_link", account_id=user.account_id,
                            object=f"{user.role} {user.id}: reset link printed by an operator"))
    db.session.commit()
    return link


def can_send_for_support(user: User) -> bool:
    """Support may have a link sent to an active customer (one still to choose a first
    password included); staff and admins are reset by an admin."""
    if not user.active or not user.email or user.role in STAFF_ROLES:
        return False
    return user.account is None or user.account.status == ACTIVE


def support_send(user: User, asked_by: str, when: str) -> None:
    """Mail a customer the reset link ``asked_by`` ("Sam from support") asked for ``when``,
    now that the cool-down the customer could cancel it in is over. Staff
    never choose the password: the customer does, with the link. On the trail; the caller
    commits."""
    if not can_send_for_support(user):
        raise NotAllowed("This account is suspended, closed or has no email address.")
    _send(PasswordReset(id=uuid.uuid4(), requested_by=SUPPORT), user,
          who=f"{asked_by} asked {when} to send you this link")
    audit.record(AuditEvent("password.reset_link", actor=None, account_id=user.account_id,
                            object="reset link emailed, as support asked"))
