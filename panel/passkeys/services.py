"""Passkeys (WebAuthn, through py_webauthn): registering one, signing in with one, removing one.

A ceremony has two halves. ``*_options`` makes a challenge, stores it (``PasskeyChallenge``)
and names it in the browser session; the browser answers; ``finish_*`` deletes the named
challenge in one conditional DELETE before it checks anything, so an answer (or a copy of the
old session cookie with it) works once, and a failed answer costs the challenge too. Every
failure is a ``PasskeyError`` whose message a person can act on; nothing is written before
the answer has passed every check.

Where the panel is (``BASE_URL``) decides the relying party: its host is the RP id, its
scheme, host and port the one origin accepted.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, session
from sqlalchemy import delete, func, select, update
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    bytes_to_base64url,
    parse_authentication_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from panel import audit
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.db_types import utcnow
from panel.extensions import db
from panel.passkeys.models import REGISTER, SECOND_STEP, SIGN_IN, Passkey, PasskeyChallenge

SESSION_KEY = "passkey_challenge"
CHALLENGE_TTL = timedelta(minutes=5)
TIMEOUT_MS = 120_000
MAX_PER_USER = 20
#: An answer from a browser is a few kilobytes; anything much larger is not one.
MAX_RESPONSE_CHARS = 16 * 1024
RP_NAME = "Hosting panel"

NO_ANSWER = ("Your browser sent no passkey. Passkeys need JavaScript and a browser that "
             "supports them; try again, or sign in with your password.")
UNREADABLE = "The panel could not read what your browser sent. Try again."
EXPIRED = "That passkey request expired or was already used. Try again."
NOT_VERIFIED = ("That passkey could not be verified for this panel. Try again, or use "
                "another passkey.")
UNKNOWN = ("This passkey is not registered here (it may have been removed). Sign in with "
           "your password, then add it again under Security.")
CLONED = ("This passkey was refused: its use counter went backwards, which happens when a "
          "passkey was copied. Sign in another way and remove it under Security.")
SUSPENDED = "This account is suspended. Contact support."


class PasskeyError(Exception):
    """A ceremony failed; ``str(exc)`` is the message for the person. ``user`` is who it was
    for when that is known (for the failed sign-in record); ``reason`` names what failed."""

    def __init__(self, message: str, reason: str, user: User | None = None) -> None:
        super().__init__(message)
        self.reason, self.user = reason, user


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origin: str

    @property
    def usable(self) -> bool:
        """Browsers refuse an IP address as an RP id: passkeys need the panel on a host name."""
        try:
            ipaddress.ip_address(self.id)
        except ValueError:
            return bool(self.id)
        return False


def relying_party() -> RelyingParty:
    parts = urlsplit(str(current_app.config["BASE_URL"]))
    return RelyingParty(id=(parts.hostname or "").lower(),
                        origin=f"{parts.scheme}://{parts.netloc}".lower())


def passkeys_of(user: User) -> list[Passkey]:
    return list(db.session.execute(select(Passkey).where(Passkey.user_id == user.id)
                                   .order_by(Passkey.created_at)).scalars())


def has_passkeys(user: User) -> bool:
    return bool(db.session.execute(select(func.count()).select_from(Passkey)
                                   .where(Passkey.user_id == user.id)).scalar())


def _descriptors(keys: Iterable[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    out = []
    for key in keys:
        transports = []
        for name in key.transports or []:
            try:
                transports.append(AuthenticatorTransport(name))
            except ValueError:
                continue  # a transport this library does not know yet: leave it out
        out.append(PublicKeyCredentialDescriptor(id=_b64decode(key.credential_id),
                                                 transports=transports or None))
    return out


def _b64decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _new_challenge(purpose: str, user: User | None, challenge: bytes) -> None:
    """Store the challenge and name it in the session; expired ones are swept on the way."""
    now = utcnow()
    db.session.execute(delete(PasskeyChallenge).where(PasskeyChallenge.expires_at < now))
    row = PasskeyChallenge(purpose=purpose, user_id=user.id if user else None,
                           challenge=bytes_to_base64url(challenge), expires_at=now + CHALLENGE_TTL)
    db.session.add(row)
    db.session.commit()
    session[SESSION_KEY] = {"id": str(row.id), "purpose": purpose}


def _take_challenge(purpose: str, user: User | None) -> bytes:
    """The challenge this session was given for ``purpose``, deleted in the same statement that
    finds it: of two requests with the same one, only one gets it."""
    named = session.pop(SESSION_KEY, None) or {}
    try:
        challenge_id = uuid.UUID(str(named.get("id")))
    except ValueError:
        raise PasskeyError(EXPIRED, "no_challenge", user) from None
    row = db.session.get(PasskeyChallenge, challenge_id)
    if (row is None or row.purpose != purpose or named.get("purpose") != purpose
            or row.expires_at < utcnow() or row.user_id != (user.id if user else None)):
        raise PasskeyError(EXPIRED, "no_challenge", user)
    challenge = row.challenge
    gone = db.session.execute(delete(PasskeyChallenge).where(PasskeyChallenge.id == challenge_id)
                              .execution_options(synchronize_session=False))
    db.session.commit()  # used up, whatever the answer turns out to be
    if gone.rowcount != 1:  # type: ignore[attr-defined]
        raise PasskeyError(EXPIRED, "no_challenge", user)
    return _b64decode(challenge)


def _parse(raw: str | None) -> dict[str, Any]:
    if not raw or not raw.strip():
        raise PasskeyError(NO_ANSWER, "no_answer")
    if len(raw) > MAX_RESPONSE_CHARS:
        raise PasskeyError(UNREADABLE, "oversized")
    try:
        data = json.loads(raw)
    except ValueError:
        raise PasskeyError(UNREADABLE, "malformed") from None
    if not isinstance(data, dict) or not isinstance(data.get("response"), dict):
        raise PasskeyError(UNREADABLE, "malformed")
    return data


# --- registering -------------------------------------------------------------------------


def registration_options(user: User) -> str:
    """The options for navigator.credentials.create(), as JSON. The passkey is discoverable
    (it can sign in on its own) and cannot be registered twice on the same authenticator."""
    rp = relying_party()
    options = generate_registration_options(
        rp_id=rp.id, rp_name=RP_NAME, user_id=user.id.bytes,
        user_name=user.email or str(user.id), user_display_name=user.display_name or "",
        timeout=TIMEOUT_MS, exclude_credentials=_descriptors(passkeys_of(user)),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED))
    _new_challenge(REGISTER, user, options.challenge)
    return options_to_json(options)


def finish_registration(user: User, raw: str | None, name: str) -> Passkey:
    """Check the browser's answer and keep the passkey; the trail records it. The caller's
    transaction is committed here."""
    data = _parse(raw)  # an empty or broken answer leaves the challenge for another try
    challenge = _take_challenge(REGISTER, user)
    if len(passkeys_of(user)) >= MAX_PER_USER:
        raise PasskeyError(f"You already have {MAX_PER_USER} passkeys: remove one first.",
                           "too_many", user)
    rp = relying_party()
    try:
        verified = verify_registration_response(
            credential=data, expected_challenge=challenge, expected_rp_id=rp.id,
            expected_origin=rp.origin)
    except (WebAuthnException, KeyError, TypeError, ValueError, binascii.Error) as exc:
        current_app.logger.info("passkey registration refused: %s", exc)
        raise PasskeyError(NOT_VERIFIED, "not_verified", user) from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if db.session.execute(select(Passkey.id).where(Passkey.credential_id == credential_id)).first():
        raise PasskeyError("This passkey is already registered.", "duplicate", user)
    transports = data["response"].get("transports")
    key = Passkey(user_id=user.id, credential_id=credential_id,
                  public_key=verified.credential_public_key, sign_count=verified.sign_count,
                  transports=[str(t)[:32] for t in transports][:8] if isinstance(transports, list)
                  else None,
                  name=name, aaguid=str(verified.aaguid)[:36],
                  backed_up=bool(verified.credential_backed_up))
    db.session.add(key)
    audit.record(AuditEvent("passkey.add", actor=user, account_id=user.account_id,
                            object="passkey", fields=["passkey"]))
    db.session.commit()
    return key


# --- signing in --------------------------------------------------------------------------


def authentication_options(user: User | None) -> str:
    """Options for navigator.credentials.get(), as JSON. With no user (a passkey signing in on
    its own) the browser offers every passkey it holds for this panel, and must verify the
    person (PIN or biometrics), since nothing else is asked; as a second step after the
    password, only that user's passkeys are allowed."""
    rp = relying_party()
    options = generate_authentication_options(
        rp_id=rp.id, timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(passkeys_of(user)) if user else [],
        user_verification=(UserVerificationRequirement.PREFERRED if user
                           else UserVerificationRequirement.REQUIRED))
    _new_challenge(SECOND_STEP if user else SIGN_IN, user, options.challenge)
    return options_to_json(options)


def finish_authentication(raw: str | None, user: User | None) -> User:
    """The user the answer proves; ``user`` is who passed the password (a second step), None
    for a passkey on its own. A sign count that did not grow means a copied authenticator:
    refused. The count is moved on in one conditional UPDATE, so a replay racing the original
    cannot pass too. Commits."""
    data = _parse(raw)
    challenge = _take_challenge(SECOND_STEP if user else SIGN_IN, user)
    try:
        credential = parse_authentication_credential_json(data)
    except (WebAuthnException, KeyError, TypeError, ValueError, binascii.Error):
        raise PasskeyError(UNREADABLE, "malformed", user) from None
    key = db.session.execute(select(Passkey).where(
        Passkey.credential_id == bytes_to_base64url(credential.raw_id))).scalar_one_or_none()
    if key is None or (user is not None and key.user_id != user.id):
        raise PasskeyError(UNKNOWN, "unknown_passkey", user)
    owner = db.session.get(User, key.user_id)
    assert owner is not None  # the foreign key cascades
    handle = credential.response.user_handle
    if handle is not None and handle != owner.id.bytes:
        raise PasskeyError(NOT_VERIFIED, "not_verified", owner)
    rp = relying_party()

    def check(stored_count: int) -> Any:
        return verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp.id,
            expected_origin=rp.origin, credential_public_key=key.public_key,
            credential_current_sign_count=stored_count, require_user_verification=user is None)

    try:
        verified = check(key.sign_count)
    except (WebAuthnException, KeyError, TypeError, ValueError, binascii.Error) as exc:
        current_app.logger.info("passkey sign-in refused: %s", exc)
        cloned = key.sign_count > 0 and _passes(lambda: check(0))
        raise PasskeyError(CLONED if cloned else NOT_VERIFIED,
                           "cloned_passkey" if cloned else "not_verified", owner) from None
    moved = db.session.execute(
        update(Passkey).where(Passkey.id == key.id, Passkey.sign_count == key.sign_count)
        .values(sign_count=verified.new_sign_count, last_used_at=utcnow(),
                backed_up=bool(verified.credential_backed_up))
        .execution_options(synchronize_session=False))
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise PasskeyError(CLONED, "cloned_passkey", owner)
    if not owner.active:
        db.session.rollback()
        raise PasskeyError(SUSPENDED, "suspended", owner)
    db.session.commit()
    return owner


def _passes(verify: Any) -> bool:
    """Whether an answer refused with the stored sign count passes without it: then the count
    alone failed (WebAuthn §6.1.1: it did not grow, so two authenticators hold the key)."""
    try:
        verify()
    except (WebAuthnException, KeyError, TypeError, ValueError, binascii.Error):
        return False
    return True


# --- removing ----------------------------------------------------------------------------


def remove(user: User, passkey_id: str | None) -> Passkey | None:
    """Remove one of ``user``'s passkeys (None if it is not theirs: the page answers 404).
    On the trail. Commits."""
    try:
        wanted = uuid.UUID(str(passkey_id))
    except ValueError:
        return None
    key = db.session.execute(select(Passkey).where(Passkey.id == wanted,
                                                   Passkey.user_id == user.id)).scalar_one_or_none()
    if key is None:
        return None
    db.session.delete(key)
    audit.record(AuditEvent("passkey.remove", actor=user, account_id=user.account_id,
                            object="passkey", fields=["passkey"]))
    db.session.commit()
    return key


def _owner_of(account_id: uuid.UUID) -> select:  # type: ignore[valid-type]
    return select(User.id).where(User.account_id == account_id).scalar_subquery()


def erase_account(account_id: uuid.UUID) -> None:
    """Every passkey of an erased account goes with it; the caller commits."""
    db.session.execute(delete(Passkey).where(Passkey.user_id == _owner_of(account_id)))
    db.session.execute(delete(PasskeyChallenge).where(
        PasskeyChallenge.user_id == _owner_of(account_id)))


def export_account(account_id: uuid.UUID) -> Iterable[dict[str, Any]]:
    """The subscriber's passkeys as their copy of their data lists them (no key material)."""
    keys = db.session.execute(select(Passkey).where(Passkey.user_id == _owner_of(account_id))
                              .order_by(Passkey.created_at)).scalars()
    for key in keys:
        yield {"name": key.name, "added": key.created_at.isoformat(),
               "last_used": key.last_used_at.isoformat() if key.last_used_at else None,
               "transports": ", ".join(key.transports or [])}
