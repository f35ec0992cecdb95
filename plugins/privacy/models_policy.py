"""Privacy policy versions and their acceptance (P10), and pending sign-in email changes (P05)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from panel.crypto import Sealed, sealed_column
from panel.db_types import UTCDateTime, utcnow, uuid_pk
from panel.extensions import db

#: How a version came to be accepted.
AT_SIGNUP, AT_SIGNIN = "signup", "sign-in"


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
