"""Domains and their four registration contacts (P04)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from panel.accounts.models import Account
from panel.crypto import Sealed, normalise, sealed_column
from panel.db_types import UTCDateTime, created_at, uuid_pk
from panel.extensions import db

CONTACT_ROLES = ("registrant", "admin", "tech", "billing")
CONTACT_FIELDS = ("name", "organization", "email", "phone", "street", "city", "state",
                  "postcode", "country")


def privacy_default() -> bool:
    """WHOIS privacy for a new domain: PRIVACY_WHOIS_DEFAULT (on unless the operator says no)."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return True
    value = current_app.config.get("PRIVACY_WHOIS_DEFAULT", True)
    if isinstance(value, str):
        return value.strip().lower() not in {"0", "false", "no", "off"}
    return bool(value)


class Domain(db.Model):
    __tablename__ = "domain"

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id"), index=True)
    name: Mapped[str] = mapped_column(String(253), unique=True)  # ASCII (punycode) form
    status: Mapped[str] = mapped_column(String(16), default="active")
    registered_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    nameservers: Mapped[str] = mapped_column(Text, default="")
    privacy_enabled: Mapped[bool] = mapped_column(Boolean, default=privacy_default)
    created_at: Mapped[datetime] = created_at()
    # registry data published in WHOIS and RDAP; no registrar means the panel's own registry
    registrar: Mapped[str | None] = mapped_column(String(120))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship(
        backref=backref("domains", order_by="Domain.name"))
    contacts: Mapped[list[DomainContact]] = relationship(
        back_populates="domain", cascade="all, delete-orphan")

    def contact(self, role: str) -> DomainContact | None:
        return next((c for c in self.contacts if c.role == role), None)


class DomainContact(db.Model):
    __tablename__ = "domain_contact"
    __table_args__ = (UniqueConstraint("domain_id", "role"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    domain_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("domain.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))

    _name: Mapped[str | None] = sealed_column("name")
    name = Sealed()
    _organization: Mapped[str | None] = sealed_column("organization")
    organization = Sealed()
    _email: Mapped[str | None] = sealed_column("email")
    email = Sealed(normaliser=normalise.email)
    _phone: Mapped[str | None] = sealed_column("phone")
    phone = Sealed()
    _street: Mapped[str | None] = sealed_column("street")
    street = Sealed()
    _city: Mapped[str | None] = sealed_column("city")
    city = Sealed()
    _state: Mapped[str | None] = sealed_column("state")
    state = Sealed()
    _postcode: Mapped[str | None] = sealed_column("postcode")
    postcode = Sealed()
    _country: Mapped[str | None] = sealed_column("country")
    country = Sealed()

    domain: Mapped[Domain] = relationship(back_populates="contacts")
