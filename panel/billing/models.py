"""Services, invoices (billing records) and payment methods (P03: token and mask only)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from panel.accounts.models import Account
from panel.crypto import Sealed, sealed_column
from panel.db_types import UTCDateTime, created_at, uuid_pk
from panel.extensions import db

#: Service states: ``active`` until a cancellation takes effect, then ``cancelled`` for good.
SERVICE_ACTIVE, SERVICE_CANCELLED = "active", "cancelled"


class Service(db.Model):
    """A hosting product a customer pays for. A cancellation request keeps the service
    active until ``cancel_on`` (the end of the paid period, or the day it was asked for)."""

    __tablename__ = "service"

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id"), index=True)
    product: Mapped[str] = mapped_column(String(80))
    domain_name: Mapped[str | None] = mapped_column(String(253))
    status: Mapped[str] = mapped_column(String(16), default="active")
    started_on: Mapped[date] = mapped_column(Date)
    next_due_on: Mapped[date | None] = mapped_column(Date)
    price_cents: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = created_at()
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_on: Mapped[date | None] = mapped_column(Date, index=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship(backref=backref("services"))

    @property
    def cancel_pending(self) -> bool:
        """Asked to end at the end of its period, and still running until then."""
        return self.status == SERVICE_ACTIVE and self.cancel_requested_at is not None


class Invoice(db.Model):
    """A billing record. The billing identity printed on it is sealed and outlives erasure."""

    __tablename__ = "invoice"

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id"), index=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    issued_on: Mapped[date] = mapped_column(Date, index=True)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="unpaid")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    total_cents: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(200))
    _billing_name: Mapped[str | None] = sealed_column("billing_name")
    billing_name = Sealed()
    _billing_address: Mapped[str | None] = sealed_column("billing_address")
    billing_address = Sealed()
    _billing_tax_id: Mapped[str | None] = sealed_column("billing_tax_id")
    billing_tax_id = Sealed()
    created_at: Mapped[datetime] = created_at()

    account: Mapped[Account] = relationship(
        backref=backref("invoices", order_by="Invoice.issued_on.desc()"))

    @property
    def total(self) -> str:
        return f"{self.total_cents / 100:,.2f} {self.currency}"


class PaymentMethod(db.Model):
    """Only what a gateway hands back: there is no column a full card number could go in."""

    __tablename__ = "payment_method"
    __table_args__ = (
        CheckConstraint("length(last4) = 4", name="last4_len"),
        CheckConstraint("exp_month between 1 and 12", name="exp_month_range"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id"), index=True)
    gateway: Mapped[str] = mapped_column(String(32))
    _gateway_token: Mapped[str | None] = sealed_column("gateway_token")
    gateway_token = Sealed()
    brand: Mapped[str] = mapped_column(String(16))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int] = mapped_column(Integer)
    exp_year: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at()

    account: Mapped[Account] = relationship(backref=backref("payment_methods"))

    @property
    def masked(self) -> str:
        return f"{self.brand} •••• {self.last4} (expires {self.exp_month:02d}/{self.exp_year})"
