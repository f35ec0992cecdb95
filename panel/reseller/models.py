"""A reseller's white label (P25): what its customers see instead of the host's name."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from panel.crypto import Sealed, sealed_column
from panel.db_types import UTCDateTime, utcnow, uuid_pk
from panel.extensions import db


class ResellerBrand(db.Model):
    """One row per reseller. The logo is kept in the database as re-encoded PNG bytes: no
    file path comes from the upload, and what is served is what the panel wrote."""

    __tablename__ = "reseller_brand"

    id: Mapped[uuid.UUID] = uuid_pk()  # sealed fields bind to it; key rotation walks by it
    reseller_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str | None] = mapped_column(String(80))
    # the customers' own sign-in address: /login/<slug>
    slug: Mapped[str | None] = mapped_column(String(40), unique=True, index=True)
    colour: Mapped[str | None] = mapped_column(String(7))  # "#rrggbb"
    _support_email: Mapped[str | None] = sealed_column("support_email")
    support_email = Sealed()
    privacy_url: Mapped[str | None] = mapped_column(String(500))
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_sha256: Mapped[str | None] = mapped_column(String(64))
    logo_width: Mapped[int | None] = mapped_column(Integer)
    logo_height: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
