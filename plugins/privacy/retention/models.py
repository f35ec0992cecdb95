"""Retention (legal holds, purge runs), sign-in history and activity logs, visitor statistics
and cookie consent.

Visitor statistics are aggregates per domain and day: the truncated network of a visitor is
kept only to count distinct visitors, never a raw log line, and nothing links to a person.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from panel.crypto import Sealed, sealed_column
from panel.db_types import UTCDateTime, utcnow, uuid_pk
from panel.extensions import db


class SigninEvent(db.Model):
    """One successful sign-in: when, from where (IP sealed), with which browser and method."""

    __tablename__ = "privacy_signin_event"
    __table_args__ = (Index("ix_privacy_signin_event_account_at", "account_id", "at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(  # None for staff and resellers
        ForeignKey("account.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    _ip: Mapped[str | None] = sealed_column("ip")
    ip = Sealed()
    user_agent: Mapped[str | None] = mapped_column(String(256))
    referrer: Mapped[str | None] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(32))


class LegalHold(db.Model):
    """While a hold is in force, the schedule keeps the account's data (and marks it held)."""

    __tablename__ = "privacy_legal_hold"

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True)
    _reason: Mapped[str | None] = sealed_column("reason")  # may name people or cases
    reason = Sealed()
    placed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    _release_reason: Mapped[str | None] = sealed_column("release_reason")
    release_reason = Sealed()


class PurgeRun(db.Model):
    """One run of the schedule: rows removed and rows held per category. No personal data."""

    __tablename__ = "privacy_purge_run"

    id: Mapped[uuid.UUID] = uuid_pk()
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    counts: Mapped[dict[str, int]] = mapped_column(JSON)
    held: Mapped[dict[str, int]] = mapped_column(JSON)
    batches: Mapped[int] = mapped_column(Integer)
    longest_ms: Mapped[int] = mapped_column(Integer)  # the longest single transaction


class ActivityEvent(db.Model):
    """A failed sign-in or a security-relevant account action (successes are SigninEvent)."""

    __tablename__ = "privacy_activity_event"
    __table_args__ = (Index("ix_privacy_activity_event_account_at", "account_id", "at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # None when the address typed matched no account: that address is not kept at all.
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # signin.failed, password.change, ...
    method: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(64))
    _ip: Mapped[str | None] = sealed_column("ip")
    ip = Sealed()
    user_agent: Mapped[str | None] = mapped_column(String(256))
    referrer: Mapped[str | None] = mapped_column(String(255))


class KnownDevice(db.Model):
    """A browser a person signed in from: the hash of its device cookie, its family, country."""

    __tablename__ = "privacy_known_device"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    device_hash: Mapped[str] = mapped_column(String(64), index=True)
    browser: Mapped[str] = mapped_column(String(64))  # family and OS, e.g. "Firefox on Linux"
    country: Mapped[str | None] = mapped_column(String(2))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class VisitorDay(db.Model):
    """Requests, bytes and distinct visitor networks of one hosted domain on one day."""

    __tablename__ = "privacy_visitor_day"
    __table_args__ = (UniqueConstraint("domain_id", "day"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    domain_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("domain.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date, index=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    visitors: Mapped[int] = mapped_column(Integer, default=0)


class VisitorNet(db.Model):
    """A truncated network (IPv4 /24, IPv6 /48) seen on a day: only for counting visitors."""

    __tablename__ = "privacy_visitor_net"
    __table_args__ = (UniqueConstraint("domain_id", "day", "net"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    domain_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("domain.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date, index=True)
    net: Mapped[str] = mapped_column(String(48))


class LogImport(db.Model):
    """One imported access log file: what was read and what was refused, no content."""

    __tablename__ = "privacy_log_import"

    id: Mapped[uuid.UUID] = uuid_pk()
    domain_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("domain.id", ondelete="CASCADE"),
                                                 index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    lines: Mapped[int] = mapped_column(BigInteger)
    imported: Mapped[int] = mapped_column(BigInteger)
    malformed: Mapped[int] = mapped_column(BigInteger)


class CookieConsent(db.Model):
    """Consent evidence for the panel's own cookies: what was chosen, when, how, what was shown."""

    __tablename__ = "privacy_cookie_consent"

    id: Mapped[uuid.UUID] = uuid_pk()
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True)  # None: an anonymous visitor
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True)
    choice: Mapped[str] = mapped_column(String(16))  # accept_all, reject_all, custom
    analytics: Mapped[bool] = mapped_column(Boolean)
    targeting: Mapped[bool] = mapped_column(Boolean)
    signal: Mapped[str | None] = mapped_column(String(8))  # "gpc" or "dnt" when one was sent
    notice_version: Mapped[str] = mapped_column(String(16))  # the banner text they saw


class PageView(db.Model):
    """The panel's own page-view counter: per path and day, counted only with consent."""

    __tablename__ = "privacy_page_view"
    __table_args__ = (UniqueConstraint("day", "path"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    day: Mapped[date] = mapped_column(Date, index=True)
    path: Mapped[str] = mapped_column(String(255))
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    visitors: Mapped[int] = mapped_column(BigInteger, default=0)  # first view of the day
