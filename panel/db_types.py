"""Column types shared by every model."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, TypeDecorator, Uuid
from sqlalchemy.orm import Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return utcnow().date()


def uuid7(at: datetime | None = None) -> uuid.UUID:
    """A time-ordered id (RFC 9562 UUIDv7: 48-bit Unix milliseconds, then 74 random bits).

    Rows made one after another sit next to each other in the primary-key index, so a purge
    of old rows or a burst of inserts touches a few index pages instead of every one; still
    unguessable. Python 3.11 has no ``uuid.uuid7``; this is the project's one helper. ``at``
    (for data made elsewhere, e.g. benchmarks) replaces the current time.
    """
    ms = time.time_ns() // 1_000_000 if at is None else int(at.timestamp() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & (1 << 48) - 1) << 80  # unix_ts_ms
    value |= 0x7 << 76 | (rand >> 64 & 0xFFF) << 64  # version, rand_a
    value |= 0b10 << 62 | rand & (1 << 62) - 1  # variant, rand_b
    return uuid.UUID(int=value)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite has no time zones and returns naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime  # TypeDecorator says ``object``; keyset paging checks cursors by it

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def uuid_pk() -> Mapped[uuid.UUID]:
    """Application-generated ids: sealed fields bind to them before the row is flushed; time
    ordered, so new rows and purges of old ones have index locality."""
    return mapped_column(Uuid, primary_key=True, default=uuid7)


def created_at() -> Mapped[datetime]:
    return mapped_column(UTCDateTime, default=utcnow, nullable=False)
