"""argon2id password hashes."""

from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
MIN_LENGTH = 10
MAX_LENGTH = 1024
#: Starts the stored value of an account whose person has not chosen a password yet (a
#: reseller's customer before the invitation is used). No password matches it, and an
#: invitation may set a password only while it is there.
NOT_CHOSEN = "!"
#: After NOT_CHOSEN: the invitations of a suspended reseller were withdrawn.
WITHDRAWN = "withdrawn:"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def _dummy() -> str:
    return _hasher.hash("an unknown account still costs one verification")


def not_chosen(marker: str = "") -> str:
    """The stored value for "no password yet": unique, so invitation links bound to it die
    when it is replaced."""
    return f"{NOT_CHOSEN}{marker}{secrets.token_urlsafe(16)}"


def has_password(stored: str | None) -> bool:
    """Has the person chosen a password (as opposed to waiting for an invitation)?"""
    return bool(stored) and not str(stored).startswith(NOT_CHOSEN)


def verify(stored: str | None, password: str) -> bool:
    """Constant work whether or not the account exists or has a password, so timing does not
    tell."""
    usable = has_password(stored)
    try:
        return _hasher.verify(stored if usable and stored else _dummy(), password) and usable
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
