"""What sign-in and account activity hold about a subscriber (P06, P21) and how an erasure
treats them (P09)."""

from __future__ import annotations

from typing import Any

from panel.accounts.models import Account
from plugins.privacy.processing.services import CARD_ROWS, Category, register
from plugins.privacy.retention.services import activity, signins

PAGE = "privacy/retention/my_data.html"


def _signins_card(account: Account) -> dict[str, Any]:
    return {"signins": signins.recent(account, CARD_ROWS), "count": signins.count(account)}


def erase(account: Account) -> None:
    """The sign-in history, failed sign-ins, security actions and known browsers go."""
    signins.erase(account)
    activity.erase(account)


register(
    "retention",
    Category("sign_ins", "Sign-in history",
             "Each sign-in: time, IP address, browser, the page you came from, and the method.",
             "To keep your account secure and let you spot sign-ins that were not you.",
             "Your browser, when you sign in.",
             "No one.",
             f"{signins.RETENTION_DAYS} days, then deleted.",
             ("at", "ip", "user_agent", "referrer", "method"),
             order=110, rows=signins.export_rows, page=PAGE, summary=_signins_card, count=signins.count),
    Category("account_activity", "Account activity",
             "Failed sign-in attempts and security-relevant changes to your account: "
             "password, two-step sign-in, email address, closing and reopening.",
             "To keep your account secure and let you spot activity that was not you.",
             "Your browser, and us as the changes happen.",
             "No one.",
             "90 days, then deleted.",
             ("at", "kind", "method", "reason", "ip", "user_agent", "referrer"),
             order=120, rows=activity.export_rows, page=PAGE),
    erase=erase,
)
