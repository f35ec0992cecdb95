"""The privacy plugin's tables (prefixed ``privacy_``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from panel.crypto import Sealed, sealed_column
from panel.db_types import UTCDateTime, utcnow, uuid_pk
from panel.extensions import db

if TYPE_CHECKING:
    from panel.accounts.models import Account
    from panel.auth.models import User

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


REASONS = {
    "support": "Customer support request",
    "billing": "Billing",
    "abuse": "Abuse report",
    "legal": "Legal request",
    "fraud": "Fraud investigation",
    "error": "Service error",
}
TICKET_REQUIRED = frozenset({"support", "legal", "abuse"})
BREAK_GLASS_REASONS = frozenset({"legal", "abuse"})

PENDING, ACTIVE, ENDED, EXPIRED, DENIED, REVOKED = (
    "pending", "active", "ended", "expired", "denied", "revoked")


class AccessSession(db.Model):
    """A justified, time-limited window in which one staff member may open one account."""

    __tablename__ = "privacy_access_session"

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id"), index=True)
    reason_code: Mapped[str] = mapped_column(String(16))
    ticket: Mapped[str | None] = mapped_column(String(64))
    _note: Mapped[str | None] = sealed_column("note")
    note = Sealed()
    minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    break_glass: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(64))

    staff: Mapped[User] = relationship(foreign_keys=[staff_id])
    account: Mapped[Account] = relationship("Account", foreign_keys=[account_id], viewonly=True)

    @property
    def reason(self) -> str:
        return REASONS.get(self.reason_code, self.reason_code)

    def is_live(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.status == ACTIVE and self.expires_at is not None and now < self.expires_at


class AccountPrivacy(db.Model):
    """A subscriber's choices about staff access (lockbox) and notices."""

    __tablename__ = "privacy_account_setting"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    require_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    notify_access: Mapped[bool] = mapped_column(Boolean, default=True)


CREDENTIAL_KINDS = {"ftp": "FTP", "ssh": "SSH", "rdp": "Remote desktop",
                    "panel": "Control panel", "api": "API key"}


class SupportCredential(db.Model):
    """A credential a customer hands to support (P18): sealed, revealed only in a session."""

    __tablename__ = "privacy_support_credential"

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    _label: Mapped[str | None] = sealed_column("label")
    label = Sealed()
    _host: Mapped[str | None] = sealed_column("host")
    host = Sealed()
    _username: Mapped[str | None] = sealed_column("username")
    username = Sealed()
    _secret: Mapped[str | None] = sealed_column("secret")
    secret = Sealed()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    @property
    def kind_label(self) -> str:
        return CREDENTIAL_KINDS.get(self.kind, self.kind)


SECOND_FACTOR, PASSWORD_LINK = "second_factor", "password_link"
HELP_KINDS = {SECOND_FACTOR: "reset your two-step sign-in (authenticator app, recovery codes "
                             "and passkeys)",
              PASSWORD_LINK: "email you a link to choose a new password"}
HELP_FOR_STAFF = {SECOND_FACTOR: "Reset their two-step sign-in (authenticator app, recovery "
                                 "codes and passkeys)",
                  PASSWORD_LINK: "Email them a link to choose a new password"}
CANCELLED, DONE, DROPPED = "cancelled", "done", "dropped"  # and PENDING, while it waits


class StaffHelp(db.Model):
    """Support's help with signing in, asked inside an access session and carried out by
    ``panel cron`` after a cool-down in which the customer can cancel it from the email.

    ``open_key`` is "<account>:<kind>" while the request waits and NULL once it is decided, so
    a unique index allows one waiting request of each kind per account (as ErasureApproval).
    """

    __tablename__ = "privacy_staff_help"

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("privacy_access_session.id", ondelete="SET NULL"))
    staff_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # no FK: the record outlives staff
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    open_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(200))  # why it was dropped

    @property
    def what(self) -> str:
        """In the customer's words ("reset your two-step sign-in ...")."""
        return HELP_KINDS.get(self.kind, self.kind)

    @property
    def staff_what(self) -> str:
        return HELP_FOR_STAFF.get(self.kind, self.kind)
