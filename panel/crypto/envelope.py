"""The stored form of a sealed value: ``v1:<kid>:<base64url(nonce|ciphertext|tag)>``."""

from __future__ import annotations

import binascii
import os
from binascii import a2b_base64
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
NONCE_BYTES = 12
TAG_BYTES = 16


class EnvelopeError(ValueError):
    """The text is not a v1 envelope, or it does not open with the given key and context."""


# base64url through binascii with byte-table translation: what base64.urlsafe_b64* do, without
# their per-call Python layers (this runs once per sealed field read, so it shows in listings).
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def b64e(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode(
        "ascii")


_PAD = (b"", b"===", b"==", b"=")  # by len(text) % 4: the padding base64url leaves out


def b64d(text: str) -> bytes:
    """Lenient like ``base64.urlsafe_b64decode``; raises ValueError on text it cannot decode."""
    return a2b_base64(text.encode("ascii").translate(_FROM_URLSAFE) + _PAD[len(text) & 3])


def seal(aead: AESGCM, kid: str, plaintext: bytes, aad: bytes) -> str:
    nonce = os.urandom(NONCE_BYTES)
    return f"{VERSION}:{kid}:{b64e(nonce + aead.encrypt(nonce, plaintext, aad))}"


def split(envelope: str) -> tuple[str, str]:
    """(key id, body) of an envelope, checking its form; nothing is decrypted."""
    version, _, rest = envelope.partition(":")
    kid, sep, body = rest.partition(":")
    if version != VERSION or not sep or not kid:
        raise EnvelopeError("not a v1 envelope")
    return kid, body


def key_id(envelope: str) -> str:
    """The key id of an envelope, without decrypting it."""
    return split(envelope)[0]


def open_body(aead: AESGCM, body: str, aad: bytes) -> bytes:
    """Open the base64url part of an envelope (see ``split``)."""
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


def open_(aead: AESGCM, envelope: str, aad: bytes) -> bytes:
    return open_body(aead, envelope.split(":", 2)[-1], aad)


def open_many(keys: Mapping[str, AESGCM], envelopes: Sequence[str], aads: Sequence[bytes]
              ) -> list[str | None]:
    """Open many envelopes as UTF-8 text, each with the key its id names in ``keys`` and its
    own associated data, through the same ``split`` and ``open_body`` as one value: one set of
    checks (form, key id, base64url, length, the AES-GCM tag over the associated data).

    An envelope that does not open here (any check failing, a key id not in ``keys``, or text
    that is not UTF-8) gives None at its place, never a value: the caller opens that one again
    one at a time, which reloads a key ring that lacks its key id, or raises the error naming
    the row."""
    out: list[str | None] = []
    append = out.append
    for sealed, aad in zip(envelopes, aads, strict=True):
        try:
            kid, body = split(sealed)
            aead = keys.get(kid)
            append(None if aead is None else open_body(aead, body, aad).decode("utf-8"))
        except ValueError:  # EnvelopeError, and text that is not UTF-8
            append(None)
    return out
