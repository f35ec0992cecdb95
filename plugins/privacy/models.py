"""The privacy plugin's tables (prefixed ``privacy_``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from panel.db_types import created_at, uuid_pk
from panel.extensions import db


class ChangeEvent(db.Model):
    """Who changed which of a subscriber's fields, and when; never the values (P05)."""

    __tablename__ = "privacy_change_event"

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    actor_role: Mapped[str] = mapped_column(String(16))
    fields: Mapped[list[str]] = mapped_column(JSON)
    at: Mapped[datetime] = created_at()
