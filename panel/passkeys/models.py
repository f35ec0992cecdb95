"""Passkeys (WebAuthn credentials) and the single-use challenges their ceremonies answer."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from panel.db_types import UTCDateTime, created_at, uuid_pk
from panel.extensions import db

REGISTER, SIGN_IN, SECOND_STEP = "register", "sign_in", "second_step"


class Passkey(db.Model):
    """A credential a user registered: what verifies its signatures, nothing that could make one.
    The public key is public by design, so it is not sealed; the name is the user's own label."""

    __tablename__ = "passkey"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)  # base64url, <= 1023 bytes
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE-encoded
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[list[str] | None] = mapped_column(JSON)
    name: Mapped[str] = mapped_column(String(64))
    aaguid: Mapped[str | None] = mapped_column(String(36))
    backed_up: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = created_at()
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasskeyChallenge(db.Model):
    """A challenge handed to a browser. The browser session names it, and using it deletes it:
    the session is a signed cookie, so a copy of an old cookie still names it, and only the
    database can say it was already answered (a replayed assertion)."""

    __tablename__ = "passkey_challenge"

    id: Mapped[uuid.UUID] = uuid_pk()
    purpose: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"),
                                                      index=True)
    challenge: Mapped[str] = mapped_column(String(128))  # base64url
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
