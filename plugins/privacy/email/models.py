"""Email preferences (P12-P15, P27): consent evidence, link keys, campaigns, partner shares.

Consent is kept as events, never as a switch that is overwritten: the current preference is
the latest event for an account and category (P13 evidence: what, when, how, what was said).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from panel.crypto import Sealed, sealed_column
from panel.db_types import UTCDateTime, utcnow, uuid_pk
from panel.extensions import db

METHODS = {
    "sign-up": "At sign-up",
    "preference-centre": "Preference centre",
    "one-click": "One-click unsubscribe (RFC 8058)",
    "mailto": "Unsubscribe by email",
    "staff": "Staff, on the customer's request",
    "import": "Imported",
    "erasure": "Account erased",
}


class ConsentEvent(db.Model):
    """One grant or withdrawal. Append-only: rows are never updated, only purged with the
    evidence's retention (life of the account plus six years)."""

    __tablename__ = "privacy_consent_event"
    __table_args__ = (Index("ix_privacy_consent_event_latest", "account_id", "category", "at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(64))
    granted: Mapped[bool] = mapped_column(Boolean)
    method: Mapped[str] = mapped_column(String(24))
    mode: Mapped[str] = mapped_column(String(8))  # the opt-in/opt-out setting in force
    notice_version: Mapped[str] = mapped_column(String(32))
    notice_hash: Mapped[str] = mapped_column(String(64))
    _ip: Mapped[str | None] = sealed_column("ip")
    ip = Sealed()
    user_agent: Mapped[str | None] = mapped_column(String(256))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # who changed it; None: the panel
    _reason: Mapped[str | None] = sealed_column("reason")  # staff's free text may name people
    reason = Sealed()
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EmailLinkKey(db.Model):
    """The generation that every link in mail to this account carries. Links never expire;
    bumping the generation revokes all of them at once."""

    __tablename__ = "privacy_email_link_key"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


DRAFT, SENT = "draft", "sent"


class Campaign(db.Model):
    """A newsletter written by staff (house categories) or a reseller (its own category)."""

    __tablename__ = "privacy_campaign"

    id: Mapped[uuid.UUID] = uuid_pk()
    reseller_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True)  # None: the house's
    author_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    category: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=DRAFT)
    queued: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)  # no consent or restricted
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CampaignMessage(db.Model):
    """Which outbox message belongs to which campaign, for the report."""

    __tablename__ = "privacy_campaign_message"

    outbox_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mail_outbox.id", ondelete="CASCADE"), primary_key=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("privacy_campaign.id", ondelete="CASCADE"), index=True)


class PartnerDisclosure(db.Model):
    """One subscriber's contact fields given to a co-marketing partner (P15, P24)."""

    __tablename__ = "privacy_partner_disclosure"

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True)
    share_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    partner: Mapped[str] = mapped_column(String(120))
    purpose: Mapped[str] = mapped_column(String(200))
    fields: Mapped[list[str]] = mapped_column(JSON)
    staff_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
