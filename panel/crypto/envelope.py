"""The stored form of a sealed value: ``v1:<kid>:<base64url(nonce|ciphertext|tag)>``."""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
NONCE_BYTES = 12
TAG_BYTES = 16


class EnvelopeError(ValueError):
    """The text is not a v1 envelope, or it does not open with the given key and context."""


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(aead: AESGCM, kid: str, plaintext: bytes, aad: bytes) -> str:
    nonce = os.urandom(NONCE_BYTES)
    return f"{VERSION}:{kid}:{b64e(nonce + aead.encrypt(nonce, plaintext, aad))}"


def key_id(envelope: str) -> str:
    """The key id of an envelope, without decrypting it."""
    parts = envelope.split(":", 2)
    if len(parts) != 3 or parts[0] != VERSION or not parts[1]:
        raise EnvelopeError("not a v1 envelope")
    return parts[1]


def open_(aead: AESGCM, envelope: str, aad: bytes) -> bytes:
    body = envelope.split(":", 2)[-1]
    try:
        blob = b64d(body)
    except (binascii.Error, ValueError):
        raise EnvelopeError("not base64url") from None
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise EnvelopeError("truncated")
    try:
        return aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise EnvelopeError("integrity check failed (altered, or copied from another row)") from None
