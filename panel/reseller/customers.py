"""What a reseller does with its own customers: list, create, invite, suspend (P25).

Every query starts from panel.tenancy, so a reseller never reaches another's customer. The
owner of a new customer is always the signed-in reseller, never a value from a form. Adding
an address that already has an account elsewhere answers exactly as a new one does, so a
reseller cannot learn who is whose customer; the address's owner is told instead.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import case, func, select, update

from panel import audit
from panel.accounts.models import ACTIVE, SUSPENDED, Account
from panel.accounts.services import create_subscriber, tell_address_owner
from panel.audit import AuditEvent
from panel.auth.models import RESELLER, User
from panel.auth.passwords import NOT_CHOSEN, WITHDRAWN, has_password, hash_password, not_chosen
from panel.auth.services import sign_out_everywhere
from panel.domains.models import Domain
from panel.extensions import db
from panel.hooks import hook
from panel.mail.outbox import queue
from panel.paging import Page, keyset
from panel.reseller.branding import mail_branding
from panel.tenancy import account_filter
from panel.urls import external_url

INVITE_SALT = "reseller-invitation"
INVITE_DAYS = 7
NOT_VALID = ("This invitation link is not valid: it may have been used already or have expired. "
             "Ask your provider for a new one.")
HAS_PASSWORD = ("This account already has a password, so this link cannot set one. Sign in with "
                "your email address and password instead.")
WITHDRAWN_MESSAGE = ("This invitation was withdrawn because the provider that sent it is "
                     "suspended. Contact your provider, or our support, for a new one.")


class CustomerError(ValueError):
    """The action cannot be done; the message is for the reseller."""


class InvitationError(ValueError):
    """The invitation link cannot be used; the message is for the person who opened it."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Row:
    account: Account
    login: User | None
    domains: int
    private: int
    last_login_at: datetime | None
    extra: dict[str, str]

    @property
    def privacy(self) -> str:
        if not self.domains:
            return "no domains"
        if self.private == self.domains:
            return "all private"
        if not self.private:
            return "none private"
        return f"{self.private} of {self.domains} private"


def rows(reseller: User) -> tuple[Page, list[str]]:
    """One keyset page of the reseller's customers, by client id, with domain counts, privacy
    state and last sign-in in one query; plugins add columns (open requests, consent) for
    the page's rows with one query each. ``page.rows`` are ``Row``s."""
    domains = (select(Domain.account_id, func.count().label("n"),
                      func.sum(case((Domain.privacy_enabled.is_(True), 1), else_=0)).label("p"))
               .group_by(Domain.account_id).subquery())
    query = (select(Account, User, func.coalesce(domains.c.n, 0), func.coalesce(domains.c.p, 0))
             .where(account_filter(reseller))
             .outerjoin(User, User.account_id == Account.id)
             .outerjoin(domains, domains.c.account_id == Account.id))
    page = keyset(query, [Account.number], scalars=False, descending=False,
                  key_of=lambda row: [row[0].number])
    found = page.rows
    ids = [a.id for a, *_ in found]
    columns: dict[str, dict[Any, str]] = {}
    if ids:
        for answer in hook().panel_reseller_customer_columns(reseller=reseller, account_ids=ids):
            columns.update(answer or {})
    titles = list(columns)
    page.rows = [Row(a, u, int(n), int(p), u.last_login_at if u else None,
                     {t: columns[t].get(a.id, "") for t in titles}) for a, u, n, p in found]
    return page, titles


def create(reseller: User, *, email: str, first_name: str, last_name: str, phone: str,
           invite: bool) -> User | None:
    """A new customer of ``reseller``, with no password until the invitation is used.

    An address with an account elsewhere (another reseller's customer, the house's, staff)
    gets no account and no link to that one; its owner gets a notice, and the work done and
    the answer are the same as for a new address. None then."""
    if reseller.role != RESELLER:
        raise CustomerError("Only a reseller can add its own customers.")
    existing = db.session.execute(
        select(User).where(User.email.matches(email))).scalar_one_or_none()
    if existing is not None and existing.account is not None \
            and existing.account.reseller_id == reseller.id:  # its own: nothing to hide
        raise CustomerError("This address is already one of your customers.")
    hash_password(secrets.token_urlsafe(32))  # the same argon2 work on both paths: time tells nothing
    if existing is not None:
        tell_address_owner(existing, "through a hosting provider that resells our service")
        audit.record(AuditEvent("account.create_refused", actor=reseller,
                                account_id=existing.account_id,
                                object="a reseller tried to add this address"))
        db.session.commit()
        return None
    user = create_subscriber(email=email, password=None, password_hash=not_chosen(),
                             first_name=first_name, last_name=last_name, phone=phone,
                             actor=reseller, reseller_id=reseller.id, commit=False)
    audit.record(AuditEvent("account.create", actor=reseller, account_id=user.account_id,
                            object="customer account", fields=["email", "first_name",
                                                               "last_name", "phone"]))
    if invite:
        send_invitation(reseller, user)
    db.session.commit()
    return user


# --- invitations ------------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=INVITE_SALT)


def _fingerprint(user: User) -> str:
    """Changes when the password does: an invitation works once."""
    return hashlib.sha256(f"{user.password_hash}|{user.session_token}".encode()).hexdigest()[:24]


def invitation_token(user: User) -> str:
    return _serializer().dumps({"u": str(user.id), "f": _fingerprint(user)})


def check_invitation(token: str) -> User:
    """The invited customer; InvitationError when the link is forged, expired or used, the
    account already has a password, or the inviting reseller is suspended (or was, since)."""
    try:
        data = _serializer().loads(token, max_age=INVITE_DAYS * 86400)
        user = db.session.get(User, uuid.UUID(str(data.get("u"))))
    except (SignatureExpired, BadSignature, ValueError, AttributeError):
        raise InvitationError(NOT_VALID, 404) from None
    if user is None or not user.active or user.account is None or user.account.reseller_id is None:
        raise InvitationError(NOT_VALID, 404)
    if not reseller_active(user.account.reseller_id):
        raise InvitationError(WITHDRAWN_MESSAGE, 410)
    if has_password(user.password_hash):
        raise InvitationError(HAS_PASSWORD, 404)
    if _fingerprint(user) != data.get("f"):
        withdrawn = user.password_hash.startswith(NOT_CHOSEN + WITHDRAWN)
        raise InvitationError(WITHDRAWN_MESSAGE, 410) if withdrawn else InvitationError(NOT_VALID, 404)
    return user


def user_for_invitation(token: str) -> User | None:
    """The invited customer, or None when the link cannot be used."""
    try:
        return check_invitation(token)
    except InvitationError:
        return None


def send_invitation(reseller: User, user: User) -> bool:
    """Mail the link, in the reseller's name and with its footer (the reseller sends it).
    A customer who already has a password gets a sign-in link instead, never a link that
    would set a new password: False then."""
    if not user.email:
        raise CustomerError("This customer has no email address to invite.")
    headers, footer = mail_branding(reseller.id)
    brand = headers.get("X-Panel-From-Name") or reseller.label
    if has_password(user.password_hash):
        body = (f"Hello {user.display_name or ''},\n\n{brand} asked us to send you the way into "
                f"your hosting account. You already have a password: sign in here with your email "
                f"address and password:\n{external_url('auth.login')}\n" + footer)
        queue(to=user.email, subject=f"Your hosting account with {brand}", body=body,
              account_id=user.account_id, headers=headers)
        audit.record(AuditEvent("account.invite", actor=reseller, account_id=user.account_id,
                                object="sign-in reminder (the customer has a password)"))
        return False
    link = external_url("reseller_invite.accept", token=invitation_token(user))
    body = (f"Hello {user.display_name or ''},\n\n{brand} has opened a hosting account for you.\n"
            f"Choose your password here (the link works once, for {INVITE_DAYS} days):\n{link}\n"
            + footer)
    queue(to=user.email, subject=f"Your hosting account with {brand}", body=body,
          account_id=user.account_id, headers=headers)
    audit.record(AuditEvent("account.invite", actor=reseller, account_id=user.account_id,
                            object="invitation email"))
    return True


def withdraw_invitations(reseller: User) -> int:
    """A suspended reseller's open invitations stop working, for good: the links are bound to
    the "no password yet" value, which is replaced here. The caller commits."""
    own = select(Account.id).where(Account.reseller_id == reseller.id)
    done = db.session.execute(
        update(User).where(User.account_id.in_(own), User.password_hash.startswith(NOT_CHOSEN))
        .values(password_hash=not_chosen(WITHDRAWN)).execution_options(synchronize_session=False))
    return int(done.rowcount or 0)  # type: ignore[attr-defined]


def accept_invitation(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    sign_out_everywhere(user)
    audit.record(AuditEvent("account.invitation_accept", actor=user, account_id=user.account_id,
                            object="password", fields=["password"]))
    db.session.commit()


# --- suspension -------------------------------------------------------------------------------


def set_suspended(reseller: User, account: Account, suspended: bool) -> None:
    """A suspended customer cannot sign in; every session it had ends at once."""
    if account.status not in (ACTIVE, SUSPENDED):
        raise CustomerError(f"This account is {account.status}; it cannot be changed.")
    account.status = SUSPENDED if suspended else ACTIVE
    user = account.user
    if user is not None:
        user.active = not suspended
        if suspended:
            sign_out_everywhere(user)
    audit.record(AuditEvent("account.suspend" if suspended else "account.reinstate",
                            actor=reseller, account_id=account.id, object="customer account",
                            fields=["status"]))
    db.session.commit()


def reseller_active(reseller_user_id: object) -> bool:
    """Is this user a reseller in good standing? A suspended reseller's own marketing stops and
    the house answers its customers' requests meanwhile; its customers keep their accounts,
    data and requests (P27)."""
    try:
        user_id = reseller_user_id if isinstance(reseller_user_id, uuid.UUID) else uuid.UUID(
            str(reseller_user_id))
    except ValueError:
        return False
    reseller = db.session.get(User, user_id)
    return reseller is not None and reseller.role == RESELLER and bool(reseller.active)
