"""The subscriber-visible history of changes to their data (P05), read from the trail."""

from __future__ import annotations

from sqlalchemy import select

from panel.accounts.models import Account
from panel.extensions import db
from plugins.privacy.models import AuditEntry

CHANGE_ACTIONS = ("account.update", "domain_contact.update")


def history(account: Account, limit: int = 200) -> list[AuditEntry]:
    return list(db.session.execute(
        select(AuditEntry).where(AuditEntry.account_id == account.id,
                                 AuditEntry.action.in_(CHANGE_ACTIONS))
        .order_by(AuditEntry.seq.desc()).limit(limit)).scalars())
