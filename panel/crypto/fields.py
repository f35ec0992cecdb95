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

import uuid
from collections.abc import Callable
from typing import Any, ClassVar, overload

from sqlalchemy import ColumnElement, Text
from sqlalchemy.orm import Mapped, mapped_column

from panel.crypto.envelope import EnvelopeError
from panel.crypto.errors import SealedValueError
from panel.crypto.keyring import current_holder

_CACHE = "_sealed_cache"


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


class Sealed:
    """Descriptor for one sealed field; every instance is listed in ``registry``."""

    registry: ClassVar[list[Sealed]] = []

    def __init__(self, *, index: str | None = None,
                 normaliser: Callable[[str], str] | None = None) -> None:
        self.index = index
        self.normaliser = normaliser or (lambda v: v)
        self.owner: type = object
        self.name = self.storage = self.column = self.table = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.owner, self.name, self.storage = owner, name, f"_{name}"
        self.column = name
        self.table = owner.__tablename__  # type: ignore[attr-defined]
        Sealed.registry.append(self)

    def aad(self, row_id: object) -> str:
        return f"{self.table}|{self.column}|{row_id}"

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
        cache: dict[str, tuple[str, str]] = obj.__dict__.setdefault(_CACHE, {})
        hit = cache.get(self.name)
        if hit is not None and hit[0] == stored:
            return hit[1]
        plain = self.decrypt(stored, obj.id)  # type: ignore[attr-defined]
        cache[self.name] = (stored, plain)
        return plain

    def __set__(self, obj: object, value: str | None) -> None:
        if value is None:
            setattr(obj, self.storage, None)
            if self.index:
                setattr(obj, self.index, None)
            obj.__dict__.setdefault(_CACHE, {}).pop(self.name, None)
            return
        check_text(value, self.name.replace("_", " "))
        if getattr(obj, "id", None) is None:
            obj.id = uuid.uuid4()  # type: ignore[attr-defined]
        ring = current_holder().get()
        stored = ring.seal(value, self.aad(obj.id))  # type: ignore[attr-defined]
        setattr(obj, self.storage, stored)
        if self.index:
            norm = self.normaliser(value)
            setattr(obj, self.index,
                    ring.blind_index(self.table, self.column, norm) if norm else None)
        obj.__dict__.setdefault(_CACHE, {})[self.name] = (stored, value)

    def decrypt(self, stored: str, row_id: object) -> str:
        holder = current_holder()
        try:
            return holder.get().open(stored, self.aad(row_id))
        except EnvelopeError as exc:
            if "unknown key id" in str(exc):  # another process may have rotated: reload once
                try:
                    return holder.get(refresh=True).open(stored, self.aad(row_id))
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
