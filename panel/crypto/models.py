"""The key ring's table: data, index and audit keys, each wrapped by the master key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from panel.extensions import db

# Key purposes. Only "data" keys rotate; the index and audit roots are wrapped like them so a
# database without the master key can neither search nor re-forge the audit chain.
PURPOSE_DATA = "data"
PURPOSE_INDEX = "index"
PURPOSE_AUDIT = "audit"

STATE_PRIMARY = "primary"
STATE_DECRYPT_ONLY = "decrypt-only"
STATE_RETIRED = "retired"


class CryptoKey(db.Model):
    __tablename__ = "crypto_key"

    kid: Mapped[str] = mapped_column(String(32), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), index=True)
    state: Mapped[str] = mapped_column(String(16))
    wrapped: Mapped[str | None] = mapped_column(Text)  # None once retired: the key is destroyed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
