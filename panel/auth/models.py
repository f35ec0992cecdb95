"""People who sign in, and their role."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from panel.crypto import Sealed, normalise, sealed_column
from panel.db_types import UTCDateTime, created_at, uuid_pk
from panel.extensions import db

SUBSCRIBER, RESELLER, STAFF, ADMIN = "subscriber", "reseller", "staff", "admin"
ROLES = (SUBSCRIBER, RESELLER, STAFF, ADMIN)
STAFF_ROLES = (STAFF, ADMIN)
MFA_ROLES = (RESELLER, STAFF, ADMIN)  # must sign in with a second factor


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[uuid.UUID] = uuid_pk()
    role: Mapped[str] = mapped_column(String(16), index=True)
    _email: Mapped[str | None] = sealed_column("email")
    email_bidx: Mapped[str | None] = mapped_column(String(64), unique=True)
    email = Sealed(index="email_bidx", normaliser=normalise.email)
    _display_name: Mapped[str | None] = sealed_column("display_name")
    display_name = Sealed()
    password_hash: Mapped[str] = mapped_column(Text)
    # Part of the login id: changing it signs out every session (password change, "sign out all").
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    _totp_secret: Mapped[str | None] = sealed_column("totp_secret")
    totp_secret = Sealed()
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # a code works once
    recovery_hashes: Mapped[list[str] | None] = mapped_column(JSON)  # SHA-256 of unused codes
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL", use_alter=True), unique=True)
    created_at: Mapped[datetime] = created_at()
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # ``account`` (the subscriber's own account) is declared by panel.accounts.models, which
    # builds on this module: the dependency points one way.

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return bool(self.active)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def label(self) -> str:
        return self.display_name or self.role
