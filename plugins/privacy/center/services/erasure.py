"""What erasing an account means for the privacy plugin (P09).

Each feature registered its own step (plugins.privacy.processing); they run here, in the
caller's transaction, so an erasure is never half done. The trail, requests and consent
evidence stay as the record of what was done: they name fields, never values.
"""

from __future__ import annotations

from panel.accounts.models import Account
from panel.db_types import utcnow
from plugins.privacy.processing.services import erase_steps


def erase(account: Account) -> None:
    for step in erase_steps():
        step(account)
    if account.closed_at is None:  # the account's life ends: evidence is kept 6 years from now
        account.closed_at = utcnow()
