"""The key ring: data keys (one primary), the blind-index root and the audit root.

Keys live in the database wrapped by the master key, which never does. A process keeps the
unwrapped ring in memory and reloads it when it meets a key id it does not know (another
process rotated) or after RELOAD_SECONDS, so a rotation reaches every worker.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import Engine, select, update

from panel.crypto import envelope
from panel.crypto.errors import KeyringError
from panel.crypto.models import (
    PURPOSE_AUDIT,
    PURPOSE_DATA,
    PURPOSE_INDEX,
    STATE_DECRYPT_ONLY,
    STATE_PRIMARY,
    CryptoKey,
)

RELOAD_SECONDS = 30.0
MASTER_KID = "master"


def _wrap_aad(kid: str, purpose: str) -> bytes:
    return f"panel-key|{kid}|{purpose}".encode()


def wrap(master: bytes, kid: str, purpose: str, key: bytes) -> str:
    return envelope.seal(AESGCM(master), MASTER_KID, key, _wrap_aad(kid, purpose))


def unwrap(master: bytes, kid: str, purpose: str, wrapped: str) -> bytes:
    try:
        return envelope.open_(AESGCM(master), wrapped, _wrap_aad(kid, purpose))
    except envelope.EnvelopeError:
        raise KeyringError(
            f"the master key does not open key {kid}: PANEL_MASTER_KEY or "
            "PANEL_MASTER_KEY_FILE is not the key this database was set up with"
        ) from None


def new_kid(purpose: str) -> str:
    return f"{purpose[0]}{time.strftime('%Y%m%d')}{secrets.token_hex(3)}"


@lru_cache(maxsize=512)
def _derive(root: bytes, info: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info.encode()).derive(root)


@dataclass
class Keyring:
    """An unwrapped, in-memory view of the key ring."""

    primary_kid: str
    data_keys: dict[str, AESGCM]
    index_root: bytes
    audit_root: bytes
    loaded_at: float = field(default_factory=time.monotonic)

    def seal(self, plaintext: str, aad: str) -> str:
        return envelope.seal(self.data_keys[self.primary_kid], self.primary_kid,
                             plaintext.encode("utf-8"), aad.encode())

    def open(self, sealed: str, aad: str) -> str:
        # envelope.split, inlined: this runs once per sealed value or group read
        version, _, rest = sealed.partition(":")
        kid, sep, body = rest.partition(":")
        if version != envelope.VERSION or not sep or not kid:
            raise envelope.EnvelopeError("not a v1 envelope")
        aead = self.data_keys.get(kid)
        if aead is None:
            raise envelope.EnvelopeError(f"unknown key id {kid!r}")
        return envelope.open_body(aead, body, aad.encode()).decode("utf-8")

    def blind_index(self, table: str, column: str, normalised: str) -> str:
        key = _derive(self.index_root, f"blind-index|{table}|{column}")
        return envelope.b64e(hmac.new(key, normalised.encode("utf-8"), hashlib.sha256).digest())

    def audit_key(self) -> bytes:
        return _derive(self.audit_root, "audit-chain")

    @classmethod
    def load(cls, engine: Engine, master: bytes) -> Keyring:
        with engine.connect() as conn:
            rows = conn.execute(select(CryptoKey).where(CryptoKey.wrapped.is_not(None))).all()
        if not rows:
            raise KeyringError("the key ring is empty: run `panel db upgrade` to create it")
        data: dict[str, AESGCM] = {}
        primary = index_root = audit_root = None
        for row in rows:
            key = unwrap(master, row.kid, row.purpose, row.wrapped)
            if row.purpose == PURPOSE_DATA:
                data[row.kid] = AESGCM(key)
                if row.state == STATE_PRIMARY:
                    primary = row.kid
            elif row.purpose == PURPOSE_INDEX:
                index_root = key
            elif row.purpose == PURPOSE_AUDIT:
                audit_root = key
        if primary is None or index_root is None or audit_root is None:
            raise KeyringError("the key ring has no primary data key, index key or audit key")
        return cls(primary, data, index_root, audit_root)


def initialise(engine: Engine, master: bytes) -> bool:
    """Create the first data, index and audit keys if the ring is empty. True if it did."""
    with engine.begin() as conn:
        if conn.execute(select(CryptoKey.kid).limit(1)).first() is not None:
            return False
        for purpose in (PURPOSE_DATA, PURPOSE_INDEX, PURPOSE_AUDIT):
            kid = new_kid(purpose)
            conn.execute(CryptoKey.__table__.insert().values(
                kid=kid, purpose=purpose, state=STATE_PRIMARY,
                wrapped=wrap(master, kid, purpose, os.urandom(32))))
    return True


def add_primary_data_key(engine: Engine, master: bytes) -> str:
    """Make a fresh data key primary; the old primary stays to decrypt until re-encrypted."""
    kid = new_kid(PURPOSE_DATA)
    with engine.begin() as conn:
        conn.execute(update(CryptoKey).where(CryptoKey.purpose == PURPOSE_DATA,
                                             CryptoKey.state == STATE_PRIMARY)
                     .values(state=STATE_DECRYPT_ONLY))
        conn.execute(CryptoKey.__table__.insert().values(
            kid=kid, purpose=PURPOSE_DATA, state=STATE_PRIMARY,
            wrapped=wrap(master, kid, PURPOSE_DATA, os.urandom(32))))
    return kid


class KeyringHolder:
    """Per-app access to the ring, loaded on first use and refreshed as described above."""

    def __init__(self, engine_getter, master: bytes) -> None:  # type: ignore[no-untyped-def]
        self._engine_getter = engine_getter
        self._master = master
        self._ring: Keyring | None = None
        self._lock = threading.Lock()

    @property
    def master(self) -> bytes:
        return self._master

    def use_master(self, master: bytes) -> None:
        """After `panel keys rewrap`: this process opens the ring with the new master key."""
        self._master, self._ring = master, None

    def get(self, *, refresh: bool = False) -> Keyring:
        ring = self._ring
        if refresh or ring is None or time.monotonic() - ring.loaded_at > RELOAD_SECONDS:
            with self._lock:
                ring = Keyring.load(self._engine_getter(), self._master)
                self._ring = ring
        return ring

    def forget(self) -> None:
        self._ring = None


def current_holder() -> KeyringHolder:
    # The app object itself, not the proxy: a proxied attribute lookup costs about as much as
    # opening a sealed value, and this runs once per row of a listing.
    return current_app._get_current_object().extensions["panel.keyring"]  # type: ignore[attr-defined,no-any-return]


def current_keyring() -> Keyring:
    return current_holder().get()
