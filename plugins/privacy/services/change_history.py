"""The subscriber-visible history of changes to their data (P05)."""

from __future__ import annotations

from sqlalchemy import select

from panel.accounts.models import Account
from panel.auth.models import User
from panel.extensions import db
from plugins.privacy.models import ChangeEvent


def record(account: Account, actor: User | None, fields: list[str]) -> None:
    """Called inside the editor's transaction, so the change and its record land together."""
    db.session.add(ChangeEvent(account_id=account.id, actor_id=actor.id if actor else None,
                               actor_role=actor.role if actor else "system", fields=list(fields)))


def history(account: Account, limit: int = 200) -> list[ChangeEvent]:
    return list(db.session.execute(
        select(ChangeEvent).where(ChangeEvent.account_id == account.id)
        .order_by(ChangeEvent.at.desc()).limit(limit)).scalars())
