"""Sealed model attributes: AES-256-GCM bound to ``table|column|row id``.

A TypeDecorator cannot see the row it is writing, so the binding to the row is done by a
descriptor over a plain text column: models use application-generated UUID ids, and the
value is sealed on assignment, with a fresh nonce each time. Reading decrypts lazily and
caches per instance, so listing pages only pay for the fields they show.

Usage in a model::

    _phone: Mapped[str | None] = sealed_column("phone")
    phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    phone = Sealed(index="phone_bidx", normaliser=normalise.phone)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, overload

from sqlalchemy import ColumnElement, Text
from sqlalchemy.orm import Mapped, mapped_column

from panel.crypto.envelope import EnvelopeError
from panel.crypto.errors import SealedValueError
from panel.crypto.keyring import KeyringHolder, current_holder
from panel.db_types import uuid7

_CACHE = "_sealed_cache"
# Also in the per-instance cache, under names no field can have: the row id as text and the
# app's key ring holder, looked up once per row instead of once per field (listings read many).
_ROW = " row id"
_HOLDER = " holder"


def sealed_column(name: str) -> Mapped[Any]:
    """The storage column behind a Sealed attribute (the envelope text)."""
    return mapped_column(name, Text, nullable=True)


def check_text(value: object, label: str) -> str:
    """Sealed values are text that UTF-8 can carry; anything else is refused, not mangled."""
    if not isinstance(value, str):
        raise TypeError(f"{label} must be text, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{label} contains characters that are not valid Unicode") from None
    return value


def _row_text(cache: dict[str, Any], row_id: object) -> str:
    """``str(row_id)``, formatted once per instance rather than once per field."""
    row = cache.get(_ROW)
    if row is None or row[0] is not row_id:
        row = cache[_ROW] = (row_id, str(row_id))
    return row[1]


class Sealed:
    """Descriptor for one sealed field; every instance is listed in ``registry``."""

    registry: ClassVar[list[Sealed]] = []

    def __init__(self, *, index: str | None = None,
                 normaliser: Callable[[str], str] | None = None) -> None:
        self.index = index
        self.normaliser = normaliser or (lambda v: v)
        self.owner: type = object
        self.name = self.storage = self.column = self.table = self._aad_prefix = self._label = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.owner, self.name, self.storage = owner, name, f"_{name}"
        self.column = name
        self.table = owner.__tablename__  # type: ignore[attr-defined]
        self._aad_prefix = f"{self.table}|{self.column}|"
        self._label = name.replace("_", " ")
        Sealed.registry.append(self)

    def aad(self, row_id: object) -> str:
        return f"{self._aad_prefix}{row_id}"

    @overload
    def __get__(self, obj: None, owner: type) -> Sealed: ...
    @overload
    def __get__(self, obj: object, owner: type) -> str | None: ...

    def __get__(self, obj: object | None, owner: type) -> Sealed | str | None:
        if obj is None:
            return self
        stored = getattr(obj, self.storage)
        if stored is None:
            return None
        cache: dict[str, Any] | None = obj.__dict__.get(_CACHE)
        if cache is None:
            cache = obj.__dict__[_CACHE] = {}
        hit = cache.get(self.name)
        if hit is not None and hit[0] == stored:
            return hit[1]
        row_id = obj.id  # type: ignore[attr-defined]
        holder = cache.get(_HOLDER)
        if holder is None:
            holder = cache[_HOLDER] = current_holder()
        plain = self._open(stored, row_id, self._aad_prefix + _row_text(cache, row_id), holder)
        cache[self.name] = (stored, plain)
        return plain

    def __set__(self, obj: object, value: str | None) -> None:
        if value is None:
            setattr(obj, self.storage, None)
            if self.index:
                setattr(obj, self.index, None)
            obj.__dict__.setdefault(_CACHE, {}).pop(self.name, None)
            return
        check_text(value, self._label)
        row_id = getattr(obj, "id", None)
        if row_id is None:
            row_id = obj.id = uuid7()  # type: ignore[attr-defined]
        cache = obj.__dict__.setdefault(_CACHE, {})
        holder = cache.get(_HOLDER)
        if holder is None:
            holder = cache[_HOLDER] = current_holder()
        ring = holder.get()
        stored = ring.seal(value, self._aad_prefix + _row_text(cache, row_id))
        setattr(obj, self.storage, stored)
        if self.index:
            norm = self.normaliser(value)
            setattr(obj, self.index,
                    ring.blind_index(self.table, self.column, norm) if norm else None)
        cache[self.name] = (stored, value)

    def decrypt(self, stored: str, row_id: object) -> str:
        return self._open(stored, row_id, self.aad(row_id), current_holder())

    def _open(self, stored: str, row_id: object, aad: str, holder: KeyringHolder) -> str:
        try:
            return holder.get().open(stored, aad)
        except EnvelopeError as exc:
            if "unknown key id" in str(exc):  # another process may have rotated: reload once
                try:
                    return holder.get(refresh=True).open(stored, aad)
                except EnvelopeError as again:
                    exc = again
            raise SealedValueError(self.table, self.column, row_id, str(exc)) from None

    def index_of(self, value: str) -> str | None:
        norm = self.normaliser(value)
        if not norm:
            return None
        return current_holder().get().blind_index(self.table, self.column, norm)

    def matches(self, value: str) -> ColumnElement[bool]:
        """A WHERE clause finding rows whose value equals ``value`` through the blind index."""
        if not self.index:
            raise TypeError(f"{self.table}.{self.column} has no blind index")
        return getattr(self.owner, self.index) == self.index_of(value)
