"""Sealed model attributes: AES-256-GCM bound to ``table|column|row id``.

A TypeDecorator cannot see the row it is writing, so the binding to the row is done by a
descriptor over a plain text column: models use application-generated UUID ids, and the
value is sealed on assignment, with a fresh nonce each time. Reading decrypts lazily and
caches per instance, so listing pages only pay for the fields they show.

Usage in a model::

    _phone: Mapped[str | None] = sealed_column("phone")
    phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    phone = Sealed(index="phone_bidx", normaliser=normalise.phone)

Fields that are always read together can share one envelope, a ``SealedGroup`` bound to
``table|group|row id``: a row then costs one AES-GCM open however many of them a page reads,
which is most of the cost of a listing (issue 16). Each member keeps its own column (deferred,
so never loaded once a row is converted) for rows written before the group existed; they are
read from there until `panel keys regroup` or the row's next write moves them into the group::

    _profile: Mapped[str | None] = sealed_column("profile")
    profile = SealedGroup()
    _city: Mapped[str | None] = sealed_column("city", group="profile")
    city = Sealed(group=profile)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from operator import itemgetter
from typing import Any, ClassVar, overload

from sqlalchemy import ColumnElement, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm.base import instance_state

from panel.crypto.envelope import EnvelopeError
from panel.crypto.errors import SealedValueError
from panel.crypto.keyring import KeyringHolder, current_holder
from panel.db_types import uuid7

_CACHE = "_sealed_cache"
# Also in the per-instance cache, under names no field can have: the row id as text and the
# app's key ring holder, looked up once per row instead of once per field (listings read many).
_ROW = " row id"
_HOLDER = " holder"
_MISSING = object()
_US = "\x1f"  # the unit separator, between the values of a SealedGroup


def sealed_column(name: str, *, group: str | None = None) -> Mapped[Any]:
    """The storage column behind a Sealed attribute (the envelope text). A group member's own
    column only holds values written before the group existed: it is loaded on demand."""
    if group is None:
        return mapped_column(name, Text, nullable=True)
    return mapped_column(name, Text, nullable=True, deferred=True,
                         deferred_group=f"{group} before regrouping")


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
                 normaliser: Callable[[str], str] | None = None,
                 group: SealedGroup | None = None) -> None:
        self.index = index
        self.normaliser = normaliser or (lambda v: v)
        self.group = group
        self.owner: type = object
        self.name = self.storage = self.column = self.table = self._aad_prefix = self._label = ""
        # A group keeps its opened values in the instance's __dict__ under ``cache_key``; its
        # members read them from there (names copied here: that read runs per field per row).
        self.cache_key = self._group_key = self._group_storage = ""
        self._pos = 0  # a group member's place in its group's row of values

    def __set_name__(self, owner: type, name: str) -> None:
        self.owner, self.name, self.storage = owner, name, f"_{name}"
        self.column = name
        self.table = owner.__tablename__  # type: ignore[attr-defined]
        self._aad_prefix = f"{self.table}|{self.column}|"
        self._label = name.replace("_", " ")
        self.cache_key = f" sealed {name}"  # no attribute can have this name
        if self.group is not None:
            if not self.group.name:
                raise TypeError(f"declare the group before its member {name}")
            self._pos = len(self.group.members)
            self.group.members[name] = self
            self._group_key, self._group_storage = self.group.cache_key, self.group.storage
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
        group = self.group
        if group is not None:
            # Fast path, taken for every field after the first of a row: the group's envelope as
            # loaded (absent from __dict__ when expired) is the one the cache was opened from.
            state = obj.__dict__
            hit = state.get(self._group_key)
            if hit is not None and hit[0] is state.get(self._group_storage, _MISSING):
                return hit[1][self._pos]
            return group.row(obj)[self._pos]
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
        if self.group is not None:
            self.group.assign(obj, self, value)
            return
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


class SealedGroup(Sealed):
    """One envelope holding several fields of a row as a JSON object, bound to
    ``table|group|row id``; its members are ``Sealed(group=...)`` attributes. Reading the
    group itself gives a copy of the member values that are set."""

    def __init__(self) -> None:
        super().__init__()
        self.members: dict[str, Sealed] = {}
        # Per "name,name..." header: how many values follow it, and the getter that puts them
        # in the members' order (a member a row does not set gets None).
        self._heads: dict[str, tuple[int, Callable[[list[str | None]], tuple[str | None, ...]]]] = {}

    # The plaintext is "name,name...<US>value<US>value..." (US = \x1f), which splits in C;
    # JSON (json.loads costs as much as the decryption) only when a value holds a US itself.
    def format(self, values: dict[str, str]) -> str:
        if any(_US in v for v in values.values()):
            return json.dumps(values, ensure_ascii=False, separators=(",", ":"))
        if not values:
            return ""
        return _US.join((",".join(values), *values.values()))

    def parse(self, text: str, row_id: object) -> dict[str, str]:
        return self._as_dict(self.parse_row(text, row_id))

    def parse_row(self, text: str, row_id: object) -> tuple[str | None, ...]:
        """``parse`` as a tuple in the members' order, None where a member is not set: what
        rows cache and members read (no dict built per row: that cost more than the split)."""
        if not text:
            return (None,) * len(self.members)
        if text[0] == "{":
            try:
                values = json.loads(text)
            except ValueError:
                values = None
            if type(values) is dict and values.keys() <= self.members.keys():
                return tuple(values.get(name) for name in self.members)
            raise SealedValueError(self.table, self.column, row_id, "not a field group")
        parts: list[str | None] = text.split(_US)  # type: ignore[assignment]
        head = self._heads.get(parts[0])  # type: ignore[arg-type]
        if head is None:
            names = parts[0].split(",")  # type: ignore[union-attr]
            if not set(names) <= self.members.keys():
                raise SealedValueError(self.table, self.column, row_id, "not a field group")
            at = {name: i for i, name in enumerate(names, 1)}  # a repeated name: its last value
            # -1: the None appended below, for the members this header does not name
            where = [at.get(name, -1) for name in self.members]
            get = itemgetter(*where) if len(where) > 1 else lambda p, i=where[0]: (p[i],)
            head = (len(names), get)
            if len(self._heads) < 4096:
                self._heads[parts[0]] = head  # type: ignore[index]
        if len(parts) != head[0] + 1:
            raise SealedValueError(self.table, self.column, row_id, "not a field group")
        parts.append(None)
        return head[1](parts)

    def _as_dict(self, row: tuple[str | None, ...]) -> dict[str, str]:
        return {name: value for name, value in zip(self.members, row, strict=True)
                if value is not None}

    def __get__(self, obj: object | None, owner: type) -> Any:
        if obj is None:
            return self
        return self.values(obj)

    def __set__(self, obj: object, value: object) -> None:
        raise AttributeError(f"set the {self._label} fields one by one")

    def values(self, obj: object) -> dict[str, str]:
        """The members' values that are set (a new dict each call)."""
        return self._as_dict(self.row(obj))

    def row(self, obj: object) -> tuple[str | None, ...]:
        """The members' values in their order, opened once per row and cached until the
        envelope changes.

        Written for speed: it runs once per row of every listing. Loaded column values are
        read from the instance's __dict__, where the ORM keeps them (an expired one is absent
        there and goes through the ORM)."""
        state = obj.__dict__
        stored = state.get(self.storage, _MISSING)
        if stored is _MISSING:
            stored = getattr(obj, self.storage)
        hit = state.get(self.cache_key)
        if hit is not None and hit[0] == stored:
            return hit[1]  # type: ignore[no-any-return]
        holder = current_holder()
        row_id = state.get("id") or obj.id  # type: ignore[attr-defined]
        row_text = str(row_id)
        if stored is None:
            row = self._before_regrouping(obj, row_id, row_text, holder)
        else:
            aad = self._aad_prefix + row_text
            try:
                text = holder.get().open(stored, aad)
            except EnvelopeError:  # _open reloads the ring once, and names the column
                text = self._open(stored, row_id, aad, holder)
            row = self.parse_row(text, row_id)
        state[self.cache_key] = (stored, row)
        return row

    def _before_regrouping(self, obj: object, row_id: object, row_text: str,
                           holder: KeyringHolder) -> tuple[str | None, ...]:
        """A row not yet regrouped keeps each value in its member's own column."""
        if instance_state(obj).key is None:  # not from the database: nothing stored yet
            return (None,) * len(self.members)
        row: list[str | None] = []
        for member in self.members.values():
            stored = getattr(obj, member.storage)  # the first loads every member's column
            row.append(None if stored is None else
                       member._open(stored, row_id, member._aad_prefix + row_text, holder))
        return tuple(row)

    def assign(self, obj: object, member: Sealed, value: str | None) -> None:
        """Set one member: the whole group is sealed again, with a fresh nonce."""
        if value is not None:
            check_text(value, member._label)
        if getattr(obj, "id", None) is None:
            obj.id = uuid.uuid4()  # type: ignore[attr-defined]
        legacy = getattr(obj, self.storage) is None and instance_state(obj).key is not None
        values = self.values(obj)
        if value is None:
            values.pop(member.name, None)
        else:
            values[member.name] = value
        ring = current_holder().get()
        stored = ring.seal(self.format(values),
                           self._aad_prefix + str(obj.id))  # type: ignore[attr-defined]
        setattr(obj, self.storage, stored)
        if legacy:  # the values moved into the group: the old columns are emptied with it
            for other in self.members.values():
                setattr(obj, other.storage, None)
        if member.index:
            norm = member.normaliser(value) if value is not None else None
            setattr(obj, member.index,
                    ring.blind_index(member.table, member.column, norm) if norm else None)
        obj.__dict__[self.cache_key] = (stored, tuple(values.get(name) for name in self.members))
