"""Keyset paging for every long list: 25 or 50 rows a page, newest first.

OFFSET paging reads and throws away every row before the page asked for, so page 400 costs
400 pages. A keyset page starts from the sort key of the row it follows ("after=<cursor>"),
which an index finds at once, so every page costs the same. The cursor holds sort keys only
and the list's own (scoped) query is always applied, so a cursor, forged or copied from
someone else, can never reach rows outside the viewer's scope. A cursor that cannot be read
falls back to the first page with a notice: never a 500. Two lists on one page each take
their own argument names with ``prefix`` ("trail_after", "trail_per"...), and each keeps the
other's place when it moves.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from flask import request, url_for
from sqlalchemy import Select, literal, tuple_

from panel.extensions import db

PER_CHOICES = (25, 50)
DEFAULT_PER = 25
MAX_CURSOR = 512  # characters: a real cursor is well under 200
BAD_CURSOR = "That page link could not be read, so this is the first page."


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"u": value.hex}
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"cannot page on a {type(value).__name__} key")
    return value


def _decode_value(raw: Any) -> Any:
    """One key back from JSON; anything unexpected raises ValueError."""
    if isinstance(raw, dict) and len(raw) == 1:
        (tag, text), = raw.items()
        if not isinstance(text, str):
            raise ValueError("bad key")
        if tag == "t":
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                raise ValueError("naive time")
            try:
                return parsed.astimezone(UTC)
            except OverflowError as exc:  # "9999-12-31T23:00-14:00" leaves the calendar
                raise ValueError("time out of range") from exc
        if tag == "d":
            return date.fromisoformat(text)
        if tag == "u":
            return uuid.UUID(hex=text)
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ValueError("bad key")
    if isinstance(raw, int) and not -(2**63) <= raw < 2**63:
        raise ValueError("key out of range")  # beyond any database integer
    return raw


def encode_cursor(values: Sequence[Any]) -> str:
    text = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    """The sort keys in ``cursor``; ValueError when it is not one of ours."""
    if not cursor or len(cursor) > MAX_CURSOR:
        raise ValueError("no cursor")
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("not a cursor") from exc
    if not isinstance(raw, list) or len(raw) != width:
        raise ValueError("wrong width")
    return [_decode_value(v) for v in raw]


def _fits(value: Any, key: Any) -> bool:
    """A cursor's key has exactly its column's type: a well-formed cursor of the right width
    can still carry a string where a date goes, and the database driver would raise on it."""
    try:
        wanted = key.type.python_type
    except NotImplementedError:  # a type that does not say: the database compares it
        return True
    return wanted is object or type(value) is wanted


def per_page(args: Mapping[str, str] | None = None, prefix: str = "") -> int:
    """25 or 50; anything else is the default."""
    args = request.args if args is None else args
    raw = args.get(f"{prefix}per", "")
    return int(raw) if raw in {str(p) for p in PER_CHOICES} else DEFAULT_PER


@dataclass
class Page:
    """One page of a list, and the cursors either side of it (None: there is none)."""

    rows: list[Any]
    per: int
    older: str | None = None  # after=: the rows that follow this page
    newer: str | None = None  # before=: the rows that precede it
    notice: str | None = None
    args: dict[str, str] = field(default_factory=dict)  # the list's other query arguments
    prefix: str = ""  # of this list's after/before/per, when a page holds two lists

    def url(self, **changes: Any) -> str:
        """This list's address with ``changes`` (filters and ``per`` kept, cursors replaced)."""
        mine = (f"{self.prefix}after", f"{self.prefix}before")
        args = {k: v for k, v in self.args.items() if k not in mine}
        if self.per != DEFAULT_PER:
            args[f"{self.prefix}per"] = str(self.per)
        args.update({k: v for k, v in changes.items() if v is not None})
        return url_for(request.endpoint or "", **(request.view_args or {}), **args)

    @property
    def older_url(self) -> str | None:
        return self.url(**{f"{self.prefix}after": self.older}) if self.older else None

    @property
    def newer_url(self) -> str | None:
        return self.url(**{f"{self.prefix}before": self.newer}) if self.newer else None

    def per_url(self, per: int) -> str:
        """The first page at ``per`` rows (a page boundary does not survive a new size)."""
        mine = (f"{self.prefix}after", f"{self.prefix}before", f"{self.prefix}per")
        args = {k: v for k, v in self.args.items() if k not in mine}
        if per != DEFAULT_PER:
            args[f"{self.prefix}per"] = str(per)
        return url_for(request.endpoint or "", **(request.view_args or {}), **args)


def keyset(stmt: Select[Any], keys: Sequence[Any], *, args: Mapping[str, str] | None = None,
           scalars: bool = True, key_of: Callable[[Any], Sequence[Any]] | None = None,
           descending: bool = True, prefix: str = "") -> Page:
    """One page of ``stmt`` ordered by ``keys`` descending (newest first; the last key must
    make the order total, e.g. the id). ``after``/``before``/``per`` come from ``args``
    (default: the request's query string). ``descending=False`` for a list read from the
    smallest key on (a queue by due date, customers by client id): ``older`` is then simply
    the next page and ``newer`` the previous one. ``prefix`` names this list's arguments
    apart from another list's on the same page."""
    args = request.args if args is None else args
    per = per_page(args, prefix)
    kept = {k: v for k, v in args.items() if k not in (f"{prefix}after", f"{prefix}before")}
    key_of = key_of or (lambda row: [getattr(row, k.key) for k in keys])
    notice = None
    after, before = args.get(f"{prefix}after"), args.get(f"{prefix}before")
    where, newest_first, cursor = None, True, None
    try:
        if after:
            cursor = decode_cursor(after, len(keys))
        elif before:
            cursor, newest_first = decode_cursor(before, len(keys)), False
        if cursor is not None and not all(map(_fits, cursor, keys)):
            raise ValueError("a key of the wrong type")
    except (ValueError, TypeError):
        cursor, newest_first, notice = None, True, BAD_CURSOR
    down = newest_first == descending  # read towards smaller keys: after= on a descending list
    if cursor is not None:
        bound = tuple_(*(literal(v, type_=k.type) for k, v in zip(keys, cursor, strict=True)))
        where = tuple_(*keys) < bound if down else tuple_(*keys) > bound
        stmt = stmt.where(where)
    order = [k.desc() if down else k.asc() for k in keys]
    result = db.session.execute(stmt.order_by(None).order_by(*order).limit(per + 1))
    rows = list(result.scalars() if scalars else result)
    more = len(rows) > per
    rows = rows[:per]
    if not newest_first:
        rows.reverse()
    page = Page(rows, per, notice=notice, args=kept, prefix=prefix)
    if rows:
        first, last = encode_cursor(key_of(rows[0])), encode_cursor(key_of(rows[-1]))
        if newest_first:
            page.older = last if more else None
            page.newer = first if cursor is not None else None
        else:
            page.older, page.newer = last, (first if more else None)
    return page
