"""Time-based one-time passwords (pyotp) and single-use recovery codes."""

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

from panel.auth.models import User

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


def _hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").strip().lower().encode()).hexdigest()


def new_recovery_codes() -> tuple[list[str], list[str]]:
    """(codes to show once, hashes to store)."""
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    return codes, [_hash(c) for c in codes]


def use_recovery_code(user: User, code: str) -> bool:
    hashes = list(user.recovery_hashes or [])
    digest = _hash(code)
    for stored in hashes:
        if hmac.compare_digest(stored, digest):
            hashes.remove(stored)
            user.recovery_hashes = hashes
            return True
    return False


def check(user: User, code: str) -> bool:
    """A current TOTP code (once only) or an unused recovery code."""
    if not user.totp_secret:
        return False
    step = verify_code(user.totp_secret, code, user.totp_last_step)
    if step is not None:
        user.totp_last_step = step
        return True
    return use_recovery_code(user, code)
