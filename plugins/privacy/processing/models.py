"""An account's restriction and objections (P08): what ``purpose_allowed`` reads.

Written when the privacy center fulfils a restriction or objection request; read by every
feature that may use an account's data for something other than the service itself.
"""

from __future__ import annotations

import uuid

from sqlalchemy import JSON, Boolean, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from panel.extensions import db

#: The purposes a restriction stops and an objection may name; the service itself, billing
#: and security are never among them.
PURPOSES = {"marketing": "Marketing email", "analytics": "Analytics"}


class ProcessingLimit(db.Model):
    """Restriction and objections in force for an account: what purpose_allowed() reads."""

    __tablename__ = "privacy_processing_limit"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    objections: Mapped[list[str]] = mapped_column(JSON, default=list)
