"""Time-based one-time passwords (pyotp) and single-use recovery codes.

Every place that accepts a code (the sign-in step, enrolment, re-authentication before a
sensitive action) goes through ``check`` or ``enrol`` here, so a code is used up in one
conditional UPDATE: of several requests racing with the same code, the database lets exactly
one change the row, and only that one goes on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
import time

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import set_committed_value

from panel.auth.models import User
from panel.extensions import db

ISSUER = "Hosting panel"
RECOVERY_CODES = 10


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg_data_uri(uri: str) -> str:
    """The enrolment QR code as an inline SVG image: no JavaScript, no outside service."""
    buffer = io.BytesIO()
    qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8).save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def verify_code(secret: str, code: str, last_step: int | None) -> int | None:
    """The time step the code belongs to, if valid and newer than the last one used."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now = int(time.time()) // totp.interval
    for step in (now, now - 1, now + 1):  # one step of clock drift either way
        if hmac.compare_digest(totp.at(step * totp.interval), code):
            return step if last_step is None or step > last_step else None
    return None


def _claim_step(user: User, step: int, *, enrolling: bool = False) -> bool:
    """Mark ``step`` used unless it (or a later one) already is: a read, a compare and a write
    would let two requests that read at the same moment both pass. Enrolment also requires
    that no authenticator is on yet, so a second racing enrolment cannot replace the first."""
    conditions = [User.id == user.id,
                  or_(User.totp_last_step.is_(None), User.totp_last_step < step)]
    if enrolling:
        conditions.append(User._totp_secret.is_(None))
    done = db.session.execute(update(User).where(*conditions).values(totp_last_step=step)
                              .execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return False
    set_committed_value(user, "totp_last_step", step)
    return True


def _lock_row(user: User) -> None:
    """Take the user's row for this transaction (a row lock on PostgreSQL, the write lock on
    SQLite), so what is read next cannot change before the commit."""
    db.session.execute(update(User).where(User.id == user.id)
                       .values(totp_last_step=User.totp_last_step)
                       .execution_options(synchronize_session=False))


def normalise_recovery_code(code: str) -> str:
    """What a person types, as stored: spaces, dashes and case do not matter ("AB12 cd34-ef56")."""
    return "".join(ch for ch in code if ch.isalnum()).lower()


def _hash(code: str) -> str:
    return hashlib.sha256(normalise_recovery_code(code).encode()).hexdigest()


def new_recovery_codes() -> tuple[list[str], list[str]]:
    """(codes to show once, hashes to store)."""
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    return codes, [_hash(c) for c in codes]


def recovery_codes_left(user: User) -> int:
    return len(user.recovery_hashes or [])


def unused_recovery_codes(user: User, codes: list[str]) -> list[str]:
    """Those of ``codes`` that are still this user's unused recovery codes (for a download or a
    print view of the codes just shown: nothing else can be echoed back)."""
    stored = user.recovery_hashes or []
    return [c for c in codes
            if any(hmac.compare_digest(h, _hash(c)) for h in stored)]


def replace_recovery_codes(user: User) -> list[str]:
    """New recovery codes; every earlier one stops working. The caller commits."""
    _lock_row(user)
    codes, hashes = new_recovery_codes()
    user.recovery_hashes = hashes
    return codes


def disable(user: User) -> None:
    """Turn two-step sign-in off: the secret, the used step and the recovery codes go. The
    caller commits."""
    user.totp_secret, user.recovery_hashes, user.totp_last_step = None, None, None


def use_recovery_code(user: User, code: str) -> bool:
    """Spend one recovery code; the caller commits. The list is re-read under a row lock, so
    two requests with the same code cannot both remove it."""
    digest = _hash(code)
    if not any(hmac.compare_digest(stored, digest) for stored in user.recovery_hashes or []):
        return False
    _lock_row(user)
    db.session.refresh(user, ["recovery_hashes"])
    hashes = list(user.recovery_hashes or [])
    for stored in hashes:
        if hmac.compare_digest(stored, digest):
            hashes.remove(stored)
            user.recovery_hashes = hashes
            return True
    return False


def check(user: User, code: str) -> bool:
    """A current TOTP code (once only) or an unused recovery code; the caller commits on
    success and rolls back on failure."""
    if not user.totp_secret:
        return False
    step = verify_code(user.totp_secret, code, user.totp_last_step)
    if step is not None:
        return _claim_step(user, step)
    return use_recovery_code(user, code)


def enrol(user: User, secret: str, code: str) -> list[str] | None:
    """Turn two-step sign-in on once ``code`` proves the app holds ``secret``: the recovery
    codes to show once, or None. The code counts as used; the caller commits."""
    step = verify_code(secret, code, None)
    if step is None or not _claim_step(user, step, enrolling=True):
        return None
    codes, hashes = new_recovery_codes()
    user.totp_secret, user.recovery_hashes = secret, hashes
    return codes
