"""Subscriber accounts: the hosting customer and the contact data the privacy module protects."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from panel.auth.models import User
from panel.crypto import Sealed, SealedGroup, normalise, sealed_column
from panel.db_types import UTCDateTime, created_at, uuid_pk
from panel.extensions import db

ACTIVE, SUSPENDED, CLOSED = "active", "suspended", "closed"

# The contact fields a subscriber owns, in the order forms show them.
CONTACT_FIELDS = ("first_name", "last_name", "company", "phone", "address1", "address2",
                  "city", "state", "postcode", "country", "tax_id")


class Account(db.Model):
    __tablename__ = "account"

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[int] = mapped_column(Integer, unique=True)  # the "client id" people quote
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    reseller_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="RESTRICT"), index=True)  # None: a house customer
    created_at: Mapped[datetime] = created_at()
    # Set when the account is closed: the retention schedule erases it a grace period later.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    # The sealed fields are read together (a profile, an export, a list's names): one envelope
    # per row, opened once, instead of one per field (issue 16).
    _profile: Mapped[str | None] = sealed_column("profile")
    profile = SealedGroup()
    _first_name: Mapped[str | None] = sealed_column("first_name", group="profile")
    first_name = Sealed(group=profile)
    _last_name: Mapped[str | None] = sealed_column("last_name", group="profile")
    last_name = Sealed(group=profile)
    _company: Mapped[str | None] = sealed_column("company", group="profile")
    company = Sealed(group=profile)
    _phone: Mapped[str | None] = sealed_column("phone", group="profile")
    phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    phone = Sealed(index="phone_bidx", normaliser=normalise.phone, group=profile)
    _address1: Mapped[str | None] = sealed_column("address1", group="profile")
    address1 = Sealed(group=profile)
    _address2: Mapped[str | None] = sealed_column("address2", group="profile")
    address2 = Sealed(group=profile)
    _city: Mapped[str | None] = sealed_column("city", group="profile")
    city = Sealed(group=profile)
    _state: Mapped[str | None] = sealed_column("state", group="profile")
    state = Sealed(group=profile)
    _postcode: Mapped[str | None] = sealed_column("postcode", group="profile")
    postcode = Sealed(group=profile)
    _country: Mapped[str | None] = sealed_column("country", group="profile")
    country = Sealed(group=profile)
    _tax_id: Mapped[str | None] = sealed_column("tax_id", group="profile")
    tax_id = Sealed(group=profile)
    _date_of_birth: Mapped[str | None] = sealed_column("date_of_birth", group="profile")
    date_of_birth = Sealed(group=profile)

    reseller: Mapped[User | None] = relationship(foreign_keys=[reseller_id])
    user: Mapped[User | None] = relationship(
        primaryjoin="User.account_id == Account.id", viewonly=True, uselist=False)
    # ``domains``, ``services``, ``invoices`` and ``payment_methods`` are declared (as backrefs)
    # by the models that build on this one, so this module imports none of them.

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


# The login's link to its account, declared here (below both classes) so that auth.models, which
# this module builds on, needs nothing from it.
User.account = relationship(Account, foreign_keys=[User.account_id])
