"""Data requests (P07, P08): erasure, restriction, objection, rectification."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from panel.crypto import Sealed, sealed_column
from panel.db_types import UTCDateTime, utcnow, uuid_pk
from panel.extensions import db

KINDS = {
    "erasure": "Erase my personal data",
    "restriction": "Restrict processing (blocking)",
    "objection": "Object to processing",
    "rectification": "Correct data I cannot edit myself",
    "export": "A copy of my data (access)",
}
PURPOSES = {"marketing": "Marketing email", "analytics": "Analytics"}
RECEIVED, VERIFIED, FULFILLED, REFUSED = "received", "verified", "fulfilled", "refused"
OPEN = (RECEIVED, VERIFIED)
VERIFY_METHODS = {
    "panel-password": "Password entered again in the panel",
    "callback": "Called back on the phone number on file",
    "document": "Identity document checked",
    "email-on-file": "Confirmed from the email address on file",
}


class DataRequest(db.Model):
    __tablename__ = "privacy_data_request"

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str | None] = mapped_column(String(16))  # for objections
    _details: Mapped[str | None] = sealed_column("details")
    details = Sealed()
    channel: Mapped[str] = mapped_column(String(16))  # panel, email, phone, staff
    status: Mapped[str] = mapped_column(String(16), index=True)
    verification: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[uuid.UUID | None] = mapped_column()
    _refusal_reason: Mapped[str | None] = sealed_column("refusal_reason")
    refusal_reason = Sealed()
    reminders: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def label(self) -> str:
        base = KINDS.get(self.kind, self.kind)
        return f"{base}: {PURPOSES.get(self.purpose or '', self.purpose)}" if self.purpose else base


class IdentityDocument(db.Model):
    """A document proving who asked (P07): sealed, seen in an access session, soon deleted."""

    __tablename__ = "privacy_identity_document"

    id: Mapped[uuid.UUID] = uuid_pk()
    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("privacy_data_request.id", ondelete="CASCADE"), index=True)
    _filename: Mapped[str | None] = sealed_column("filename")
    filename = Sealed()
    content_type: Mapped[str] = mapped_column(String(64))
    _content: Mapped[str | None] = sealed_column("content")  # base64 of the file
    content = Sealed()
    size: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delete_by: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ProcessingLimit(db.Model):
    """Restriction and objections in force for an account: what purpose_allowed() reads."""

    __tablename__ = "privacy_processing_limit"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    objections: Mapped[list[str]] = mapped_column(JSON, default=list)
