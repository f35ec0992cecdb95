"""Reset requests and the links they become."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from panel.db_types import UTCDateTime, created_at, uuid_pk
from panel.extensions import db

SELF, ADMIN, OPERATOR = "self", "admin", "operator"  # who asked for the link
SUPPORT = "support"  # support sent it for a customer (after a cool-down the customer could cancel)


class PasswordReset(db.Model):
    """One row per request. A request from the "Forgot password?" form is written the same way
    whether or not its address matched anybody (``user_id`` empty then), so the form's answer
    and timing say nothing; ``panel cron`` then sends the link (``sent_at``) or drops the row.
    A link is valid while its row exists: using it, a newer link and the hour running out
    delete it."""

    __tablename__ = "password_reset"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[str] = mapped_column(String(16), default=SELF)
    created_at: Mapped[datetime] = created_at()
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
