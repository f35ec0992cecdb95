"""What the Security page reads and changes. Every change lands in the caller's transaction
with its trail entry (and, where the owner should hear of it, a notice in the outbox)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select

from panel import audit
from panel.audit import AuditEvent
from panel.auth import totp
from panel.auth.models import MFA_ROLES, User
from panel.auth.passwords import has_password
from panel.auth.passwords import verify as check_password
from panel.auth.services import sign_out_everywhere
from panel.extensions import db
from panel.mail.outbox import queue
from panel.passkeys.models import Passkey, PasskeyChallenge
from panel.urls import external_url

WRONG_PASSWORD = "That is not your password."
WRONG_CODE = "That code is not right, or was already used."
REQUIRED = ("Your role must sign in with two steps, so it cannot be turned off. To move to a "
            "new phone, use a recovery code to sign in, then set it up again from the "
            "Security page.")


@dataclass(frozen=True)
class Overview:
    """What the page says about the account's sign-in."""

    has_password: bool
    two_step_on: bool
    two_step_required: bool
    recovery_codes_left: int

    @property
    def recovery_codes_total(self) -> int:
        return totp.RECOVERY_CODES


def overview(user: User) -> Overview:
    return Overview(has_password=has_password(user.password_hash),
                    two_step_on=bool(user.totp_secret),
                    two_step_required=user.role in MFA_ROLES,
                    recovery_codes_left=totp.recovery_codes_left(user))


def may_turn_off(user: User) -> bool:
    return bool(user.totp_secret) and user.role not in MFA_ROLES


def regenerate_recovery_codes(user: User, password: str) -> list[str] | None:
    """New codes (every old one dies), or None when the password is wrong."""
    if not user.totp_secret or not check_password(user.password_hash, password):
        return None
    codes = totp.replace_recovery_codes(user)
    audit.record(AuditEvent("mfa.recovery_codes", actor=user, account_id=user.account_id,
                            object="recovery codes", fields=["recovery_codes"]))
    _notify(user, "New recovery codes for your hosting panel account",
            "New recovery codes were made for your account; the earlier ones no longer work.")
    return codes


def turn_off(user: User, password: str, code: str) -> str | None:
    """Turn two-step sign-in off: None when done, else what was wrong. On a wrong code the
    caller rolls back (a code check may have claimed a time step)."""
    if not may_turn_off(user):
        return REQUIRED
    if not check_password(user.password_hash, password):
        return WRONG_PASSWORD
    if not totp.check(user, code):
        return WRONG_CODE
    totp.disable(user)
    audit.record(AuditEvent("mfa.disable", actor=user, account_id=user.account_id,
                            object="authenticator app",
                            fields=["totp_secret", "recovery_codes"]))
    _notify(user, "Two-step sign-in was turned off on your hosting panel account",
            "Two-step sign-in was turned off: your account now signs in with the password "
            "alone, and the recovery codes no longer work.")
    return None


def has_second_factor(user: User) -> bool:
    """An authenticator app, recovery codes or a passkey: anything a sign-in may ask for."""
    if user.totp_secret or user.recovery_hashes:
        return True
    return bool(db.session.execute(select(func.count()).select_from(Passkey)
                                   .where(Passkey.user_id == user.id)).scalar())


def reset_second_factor(user: User, actor: User | None, why: str) -> None:
    """Every second factor goes at once (authenticator app, recovery codes, passkeys) and every
    session ends: the person signs in with the password alone and sets two-step sign-in up
    again. For support helping someone who lost their phone; ``why`` is the trail's object.
    In the caller's transaction (the caller commits), so nothing is half-reset."""
    user.totp_secret, user.recovery_hashes = None, None  # the used time step stays used
    db.session.execute(delete(Passkey).where(Passkey.user_id == user.id)
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(PasskeyChallenge).where(PasskeyChallenge.user_id == user.id)
                       .execution_options(synchronize_session=False))
    sign_out_everywhere(user)
    audit.record(AuditEvent("mfa.reset", actor=actor, account_id=user.account_id, object=why[:255],
                            fields=["totp_secret", "recovery_codes", "passkeys"]))
    _notify(user, "Two-step sign-in was reset on your hosting panel account",
            "Two-step sign-in was reset on your account: your authenticator app, your recovery "
            "codes and your passkeys no longer work, and every session was signed out. Sign "
            "in with your password, then set two-step sign-in up again on your Security page.")


def _notify(user: User, subject: str, what: str) -> None:
    """A transactional notice, so a change the owner did not make does not go unnoticed."""
    if not user.email:
        return
    body = "\n".join([what, "", "If this was you, there is nothing to do.",
                      "If it was not, change your password and review your sign-in settings at once:",
                      external_url("security.index")])
    queue(to=user.email, subject=subject, body=body, account_id=user.account_id)
