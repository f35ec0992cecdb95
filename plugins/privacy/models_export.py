"""Sign-in history (P21) and the subscriber's data exports (P06)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from panel.crypto import Sealed, sealed_column
from panel.db_types import UTCDateTime, utcnow, uuid_pk
from panel.extensions import db


class SigninEvent(db.Model):
    """One successful sign-in: when, from where (IP sealed), with which browser and method."""

    __tablename__ = "privacy_signin_event"
    __table_args__ = (Index("ix_privacy_signin_event_account_at", "account_id", "at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(  # None for staff and resellers
        ForeignKey("account.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    _ip: Mapped[str | None] = sealed_column("ip")
    ip = Sealed()
    user_agent: Mapped[str | None] = mapped_column(String(256))
    referrer: Mapped[str | None] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(32))


FORMATS = {"json": "JSON (machine-readable)", "zip": "ZIP of CSV files (spreadsheets)",
           "html": "HTML (readable summary)"}
QUEUED, RUNNING, READY, FAILED, EXPIRED = "queued", "running", "ready", "failed", "expired"


class DataExport(db.Model):
    """One export file: produced at once or by `panel cron`, deleted after its expiry."""

    __tablename__ = "privacy_export"

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True)
    format: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), index=True)
    file_path: Mapped[str | None] = mapped_column(String(500))  # relative to instance_path
    size: Mapped[int | None] = mapped_column(BigInteger)
    rows: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when a producer claimed it
    _file_key: Mapped[str | None] = sealed_column("file_key")  # the file's own key, base64
    file_key = Sealed()

    @property
    def format_label(self) -> str:
        return FORMATS.get(self.format, self.format)

    def is_expired(self, now: datetime | None = None) -> bool:
        if self.status == EXPIRED:
            return True
        return self.expires_at is not None and (now or utcnow()) >= self.expires_at
