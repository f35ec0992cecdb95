"""Files encrypted as they are written: AES-256-GCM in 64 KiB chunks under a per-file key.

Each chunk is ``nonce(12) | ciphertext | tag(16)`` with associated data ``context|index|last``,
so chunks cannot be reordered, dropped or the file cut short without the reader noticing. Used
for data exports (P06), which must not sit on disk in plain text (P02).
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CHUNK = 64 * 1024
NONCE = 12
TAG = 16


class SealedFileError(ValueError):
    """The file was altered, truncated or opened with the wrong key."""


def _aad(context: str, index: int, last: bool) -> bytes:
    return context.encode() + struct.pack(">QB", index, 1 if last else 0)


class EncryptingWriter(io.RawIOBase):
    """A write-only binary stream that lands encrypted; ``close()`` seals the last chunk."""

    def __init__(self, path: Path, key: bytes, context: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._aead, self._context = AESGCM(key), context
        self._buffer = bytearray()
        self._index = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._buffer += data
        while len(self._buffer) > CHUNK:  # keep one chunk back: the last one is marked
            self._emit(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _emit(self, plain: bytes, *, last: bool) -> None:
        nonce = os.urandom(NONCE)
        os.write(self._fd, nonce + self._aead.encrypt(nonce, plain, _aad(self._context, self._index,
                                                                         last)))
        self._index += 1

    def close(self) -> None:
        if not self.closed:
            try:
                self._emit(bytes(self._buffer), last=True)
                os.fsync(self._fd)
            finally:
                os.close(self._fd)
        super().close()


def decrypt_chunks(path: Path, key: bytes, context: str) -> Iterator[bytes]:
    """The plain bytes, chunk by chunk; raises SealedFileError on any tampering."""
    aead = AESGCM(key)
    size = NONCE + CHUNK + TAG
    with path.open("rb") as fh:
        block, index = fh.read(size), 0
        while block:
            following = fh.read(size)
            last = not following
            try:
                yield aead.decrypt(block[:NONCE], block[NONCE:], _aad(context, index, last))
            except InvalidTag:
                raise SealedFileError(f"{path.name}: chunk {index} failed its integrity check") from None
            block, index = following, index + 1
        if index == 0:
            raise SealedFileError(f"{path.name}: empty")
