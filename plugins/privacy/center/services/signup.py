"""Self-service sign-up (P01, P11): name, email, contact number, password, and nothing more.

Children under 13 are turned away before anything is stored, and the policy version in effect
is recorded as accepted together with the new account, in one transaction.

An address that already has an account gets the same answer, after the same work (an argon2
hash and a message queued), as a new one: nobody learns from the page or its timing who has an
account here. Its owner is told instead, and nothing is created or changed.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from panel import audit
from panel.accounts.services import create_subscriber, tell_address_owner
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.auth.passwords import hash_password
from panel.extensions import db
from panel.mail.outbox import queue
from panel.urls import external_url
from plugins.privacy.center.models import AT_SIGNUP
from plugins.privacy.center.services import policy

MINIMUM_AGE = 13
UNDER_AGE = (f"You must be {MINIMUM_AGE} or older to create an account. "
             "Nothing you typed has been kept.")
WHERE = "on the sign-up page"


class SignupError(ValueError):
    """Sign-up refused; ``field`` names the form field the message belongs next to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def owner_of(email: str) -> User | None:
    return db.session.execute(select(User).where(User.email.matches(email))).scalar_one_or_none()


def _tell_owner(email: str) -> None:
    owner = owner_of(email)
    if owner is not None:
        tell_address_owner(owner, WHERE)
    db.session.commit()


def _welcome(user: User) -> None:
    queue(to=user.email or "", subject="Your hosting panel account is ready",
          account_id=user.account_id,
          body=(f"Hello {user.display_name or ''},\n\nYour account is ready. Sign in with this "
                f"email address and the password you chose:\n{external_url('auth.login')}\n\n"
                "If you did not create this account, reply to this message and we will close it.\n"))


def sign_up(*, first_name: str, last_name: str, email: str, phone: str, password: str,
            old_enough: bool) -> User | None:
    """Create the subscriber, record the policy they were shown and mail them; all or nothing.
    None when the address already had an account (its owner was told instead)."""
    if not old_enough:
        raise SignupError(UNDER_AGE, "old_enough")
    password_hash = hash_password(password)  # first, on both paths: time tells nothing
    if owner_of(email) is not None:
        _tell_owner(email)
        return None
    try:
        user = create_subscriber(email=email, password=None, password_hash=password_hash,
                                 first_name=first_name, last_name=last_name, phone=phone,
                                 actor=None, commit=False)
        audit.record(AuditEvent("account.signup", actor=user, account_id=user.account_id,
                                object="self-service sign-up",
                                fields=["first_name", "last_name", "email", "phone", "password"]))
        version = policy.current()
        if version is not None:
            policy.accept(user, version, AT_SIGNUP, commit=False)
        _welcome(user)
        db.session.commit()
    except IntegrityError:  # the same address signed up a moment ago, in another request
        db.session.rollback()
        _tell_owner(email)
        return None
    return user
