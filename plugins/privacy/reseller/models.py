"""Removal requests a reseller sends to the host (P26): due in 30 business days, tracked."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from panel.auth.models import User
from panel.crypto import Sealed, sealed_column
from panel.db_types import UTCDateTime, utcnow, uuid_pk
from panel.extensions import db

OPEN, COMPLETED, REFUSED = "open", "completed", "refused"
DUE_BUSINESS_DAYS = 30
REMINDER_DAYS = (5, 1)  # business days before the due date; each reminder goes once


class RemovalRequest(db.Model):
    """A reseller (the controller) asks the host (its processor) to remove a customer's data."""

    __tablename__ = "privacy_removal_request"

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True)
    reseller_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id"), index=True)
    data_request_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the customer's, if any
    _note: Mapped[str | None] = sealed_column("note")
    note = Sealed()
    status: Mapped[str] = mapped_column(String(16), index=True, default=OPEN)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    _outcome: Mapped[str | None] = sealed_column("outcome")
    outcome = Sealed()
    reminders: Mapped[list[int]] = mapped_column(JSON, default=list)

    reseller: Mapped[User] = relationship(foreign_keys=[reseller_id])
