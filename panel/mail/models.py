"""The outbox: every message waits here until `panel mail send` delivers it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from panel.crypto import Sealed, sealed_column
from panel.db_types import UTCDateTime, created_at, utcnow, uuid_pk
from panel.extensions import db

TRANSACTIONAL = "transactional"
#: Account, billing, security and service notices: always sent, never carry an unsubscribe link.
TRANSACTIONAL_CATEGORIES = frozenset({TRANSACTIONAL, "account", "billing", "security", "service"})
QUEUED, SENT, SUPPRESSED, FAILED = "queued", "sent", "suppressed", "failed"


class OutboxMessage(db.Model):
    __tablename__ = "mail_outbox"

    id: Mapped[uuid.UUID] = uuid_pk()
    category: Mapped[str] = mapped_column(String(64), default=TRANSACTIONAL, index=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)
    _to_addr: Mapped[str | None] = sealed_column("to_addr")
    to_addr = Sealed()
    subject: Mapped[str] = mapped_column(String(255))
    _body: Mapped[str | None] = sealed_column("body")
    body = Sealed()
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    suppressed_reason: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    created_at: Mapped[datetime] = created_at()
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
