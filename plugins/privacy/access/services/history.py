"""The subscriber-visible history of changes to their data (P05), read from the trail."""

from __future__ import annotations

from sqlalchemy import Select, select

from panel.accounts.models import Account
from panel.extensions import db
from plugins.privacy.access.models import AuditEntry

CHANGE_ACTIONS = ("account.update", "domain_contact.update")


def changes(account: Account) -> Select[tuple[AuditEntry]]:
    """The account's changes, for a keyset-paged list on ``AuditEntry.seq``."""
    return select(AuditEntry).where(AuditEntry.account_id == account.id,
                                    AuditEntry.action.in_(CHANGE_ACTIONS))


def history(account: Account, limit: int = 200) -> list[AuditEntry]:
    return list(db.session.execute(
        changes(account).order_by(AuditEntry.seq.desc()).limit(limit)).scalars())


def access_trail(account: Account, session_ids: list) -> dict:  # type: ignore[type-arg]
    """Trail entries made inside each access session on this account, by session id."""
    if not session_ids:
        return {}
    rows = db.session.execute(
        select(AuditEntry).where(AuditEntry.account_id == account.id,
                                 AuditEntry.session_id.in_(session_ids))
        .order_by(AuditEntry.seq)).scalars()
    out: dict = {}  # type: ignore[type-arg]
    for row in rows:
        out.setdefault(row.session_id, []).append(row)
    return out


def provider_trail(account: Account) -> Select[tuple[AuditEntry]] | None:
    """What the customer's reseller (their provider) viewed or changed (P25), for a
    keyset-paged list on ``AuditEntry.seq``; None when the customer has no reseller."""
    if account.reseller_id is None:
        return None
    return select(AuditEntry).where(AuditEntry.account_id == account.id,
                                    AuditEntry.actor_role == "reseller")
