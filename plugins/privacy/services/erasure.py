"""What erasing an account means for the privacy plugin's own tables (P09)."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from panel.accounts.models import Account
from panel.auth.models import User
from panel.db_types import utcnow
from panel.extensions import db
from plugins.privacy.models import ACTIVE, PENDING, REVOKED, AccessSession, SupportCredential


def erase_plugin_data(account: Account) -> None:
    """Credentials, pending email changes and where policies were accepted from go; open staff
    sessions end. Requests, the trail and which policy versions were accepted stay as the
    record of what was done (they name fields, never values)."""
    from plugins.privacy.services import email_change, policy

    user = db.session.execute(select(User).where(User.account_id == account.id)).scalar()
    if user is not None:
        policy.forget_ips(user)
        email_change.erase_for(user)
    db.session.execute(delete(SupportCredential).where(SupportCredential.account_id == account.id))
    db.session.execute(update(AccessSession).where(
        AccessSession.account_id == account.id, AccessSession.status.in_((PENDING, ACTIVE)))
        .values(status=REVOKED, ended_at=utcnow(), end_reason="account erased"))
