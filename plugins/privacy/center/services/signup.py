"""Self-service sign-up (P01, P11): name, email, contact number, password, and nothing more.

Children under 13 are turned away before anything is stored, and the policy version in effect
is recorded as accepted together with the new account, in one transaction.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from panel import audit
from panel.accounts.services import create_subscriber
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.extensions import db
from plugins.privacy.center.models import AT_SIGNUP
from plugins.privacy.center.services import policy

MINIMUM_AGE = 13
UNDER_AGE = (f"You must be {MINIMUM_AGE} or older to create an account. "
             "Nothing you typed has been kept.")
TAKEN = "An account with this email already exists; sign in or reset your password."


class SignupError(ValueError):
    """Sign-up refused; ``field`` names the form field the message belongs next to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def email_taken(email: str) -> bool:
    return db.session.execute(
        select(User.id).where(User.email.matches(email))).first() is not None


def sign_up(*, first_name: str, last_name: str, email: str, phone: str, password: str,
            old_enough: bool) -> User:
    """Create the subscriber and record the policy they were shown; all or nothing."""
    if not old_enough:
        raise SignupError(UNDER_AGE, "old_enough")
    if email_taken(email):
        raise SignupError(TAKEN, "email")
    try:
        user = create_subscriber(email=email, password=password, first_name=first_name,
                                 last_name=last_name, phone=phone, actor=None, commit=False)
        audit.record(AuditEvent("account.signup", actor=user, account_id=user.account_id,
                                object="self-service sign-up",
                                fields=["first_name", "last_name", "email", "phone", "password"]))
        version = policy.current()
        if version is not None:
            policy.accept(user, version, AT_SIGNUP, commit=False)
        db.session.commit()
    except IntegrityError:  # the same address signed up a moment ago, in another request
        db.session.rollback()
        raise SignupError(TAKEN, "email") from None
    return user
