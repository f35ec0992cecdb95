"""One row per signed-in browser."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from panel.crypto import Sealed, sealed_column
from panel.db_types import UTCDateTime, created_at, uuid_pk
from panel.extensions import db


class UserSession(db.Model):
    """A live sign-in. The cookie holds a random token; only its SHA-256 is stored, so the
    table (or a backup of it) cannot be replayed as cookies."""

    __tablename__ = "user_session"

    id: Mapped[uuid.UUID] = uuid_pk()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"),
                                               index=True)
    created_at: Mapped[datetime] = created_at()
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    browser: Mapped[str] = mapped_column(String(64), default="")
    _ip: Mapped[str | None] = sealed_column("ip")
    ip = Sealed()
