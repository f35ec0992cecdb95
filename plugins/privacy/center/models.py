"""The privacy center's tables: data exports (P06), policy versions and their acceptance (P10),
pending sign-in email changes (P05), and data requests with their identity documents (P07-P09)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from panel.crypto import Sealed, sealed_column
from panel.db_types import UTCDateTime, utcnow, uuid_pk
from panel.extensions import db
from plugins.privacy.processing.models import PURPOSES

#: How a policy version came to be accepted.
AT_SIGNUP, AT_SIGNIN = "signup", "sign-in"
KINDS = {
    "erasure": "Erase my personal data",
    "restriction": "Restrict processing (blocking)",
    "objection": "Object to processing",
    "rectification": "Correct data I cannot edit myself",
    "export": "A copy of my data (access)",
}
RECEIVED, VERIFIED, FULFILLED, REFUSED = "received", "verified", "fulfilled", "refused"
OPEN = (RECEIVED, VERIFIED)
VERIFY_METHODS = {
    "panel-password": "Password entered again in the panel",
    "callback": "Called back on the phone number on file",
    "document": "Identity document checked",
    "email-on-file": "Confirmed from the email address on file",
}
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


class PolicyVersion(db.Model):
    """One published version. Never edited after publishing: a change is a new version."""

    __tablename__ = "privacy_policy_version"

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[int] = mapped_column(Integer, unique=True)
    body: Mapped[str] = mapped_column(Text)  # Markdown as the admin wrote it; rendered on display
    summary: Mapped[str] = mapped_column(String(500))
    material: Mapped[bool] = mapped_column(Boolean, default=False)
    effective_on: Mapped[date] = mapped_column(Date, index=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # no FK: the record outlives staff
    notices_queued: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def kind(self) -> str:
        return "Significant change" if self.material else "Minor change"


class PolicyAcceptance(db.Model):
    """Evidence that a person accepted a version: which, when, from where (IP sealed)."""

    __tablename__ = "privacy_policy_acceptance"
    __table_args__ = (UniqueConstraint("user_id", "version_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("privacy_policy_version.id", ondelete="CASCADE"))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    method: Mapped[str] = mapped_column(String(16))
    _ip: Mapped[str | None] = sealed_column("ip")
    ip = Sealed()

    version: Mapped[PolicyVersion] = relationship()


PENDING, DONE, SUPERSEDED = "pending", "done", "superseded"


class EmailChange(db.Model):
    """A requested sign-in email change, waiting for the new address to confirm it.

    The new address lives here, sealed, so the emailed link carries only this row's id and
    no address ends up in URLs or server logs.
    """

    __tablename__ = "privacy_email_change"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    _new_email: Mapped[str | None] = sealed_column("new_email")
    new_email = Sealed()
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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


#: A second staff member's decision on an erasure (four eyes); PENDING is shared with EmailChange.
APPROVED, REJECTED = "approved", "rejected"
#: What an approval is for: a data request on the desk, or a reseller's removal request.
APPROVAL_SUBJECTS = ("request", "removal")


class ErasureApproval(db.Model):
    """Four eyes on an erasure: one staff member asks, another approves (then it is carried
    out) or rejects. Each row stays as the record of who asked and who decided.

    ``open_key`` holds the subject's id while the approval is pending and NULL once decided,
    so a unique index allows one pending approval per subject on SQLite and PostgreSQL alike.
    """

    __tablename__ = "privacy_erasure_approval"

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    open_key: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    asked_by: Mapped[uuid.UUID] = mapped_column(Uuid)  # no FK: the record outlives staff
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    _reason: Mapped[str | None] = sealed_column("reason")  # why it was rejected
    reason = Sealed()
