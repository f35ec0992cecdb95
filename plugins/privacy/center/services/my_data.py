"""The My data page (P06): every category held about a subscriber, what is said about it (what,
why, from where, shared with whom, kept how long) and its card.

The categories are those the features registered (plugins.privacy.processing), the same
descriptions the export writes, so what the page says and what the export contains cannot
drift. This module imports no feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from panel.accounts.models import Account
from plugins.privacy.processing.services import Category, categories


@dataclass(frozen=True)
class Card:
    category: Category
    data: dict[str, Any]


def cards(account: Account) -> list[Card]:
    """Each category with a card, in order, with what its card shows for this account."""
    return [Card(c, c.summary(account) if c.summary is not None else {})
            for c in categories() if c.page is not None]
