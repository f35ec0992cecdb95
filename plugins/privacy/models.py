"""The privacy plugin's tables (prefixed ``privacy_``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from panel.crypto import Sealed, sealed_column
from panel.db_types import UTCDateTime, uuid_pk
from panel.extensions import db

GENESIS = "0" * 64


class AuditEntry(db.Model):
    """One link of the append-only trail. No foreign keys: nothing may cascade into it."""

    __tablename__ = "privacy_audit_entry"

    id: Mapped[uuid.UUID] = uuid_pk()
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_role: Mapped[str] = mapped_column(String(16))
    actor_label: Mapped[str] = mapped_column(String(120))  # staff display name, kept as it was
    on_behalf_of: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    account_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    action: Mapped[str] = mapped_column(String(64))
    object: Mapped[str] = mapped_column(String(255))
    fields: Mapped[list[str]] = mapped_column(JSON)
    reason_code: Mapped[str | None] = mapped_column(String(32))
    ticket: Mapped[str | None] = mapped_column(String(64))
    session_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    _ip: Mapped[str | None] = sealed_column("ip")
    ip = Sealed()
    ip_digest: Mapped[str | None] = mapped_column(String(64))  # what the chain covers
    user_agent: Mapped[str | None] = mapped_column(String(256))
    request_id: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(32))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditHead(db.Model):
    """The chain's head. Appending updates this one row first, which serialises writers on
    SQLite and PostgreSQL alike (a row lock held to commit), so the chain never forks."""

    __tablename__ = "privacy_audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
