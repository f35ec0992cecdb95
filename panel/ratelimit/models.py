"""The database's rate-limit counters, used when no Redis is configured."""

from __future__ import annotations

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from panel.extensions import db


class RateLimitCounter(db.Model):
    """One fixed window of one limit. The key is the SHA-256 of the limiter's key, which holds
    an address or an account: the table (or a backup) names nobody."""

    __tablename__ = "rate_limit_counter"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # Unix time: what limits uses
