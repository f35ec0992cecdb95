"""What email preferences hold about a subscriber (P06) and how an erasure treats them (P09):
the current switches, every consent given or withdrawn, and each share with a partner."""

from __future__ import annotations

from typing import Any

from panel.accounts.models import Account
from plugins.privacy.email.models import ConsentEvent, PartnerDisclosure
from plugins.privacy.email.services import preferences
from plugins.privacy.processing.services import Category, Glance, counted, register, register_glance

PAGE = "privacy/email/my_data.html"


def _switches_card(account: Account) -> dict[str, Any]:
    return {"switches": [(preferences.label_of(k), v)
                         for k, v in preferences.current(account).items()]}


register(
    "email",
    Category("email_preferences", "Email preferences",
             "Which kinds of non-essential email you agreed to receive; account, billing, "
             "security and service notices are always sent.",
             "To send only the email you want.",
             "You, in the panel, through an unsubscribe link or by replying to unsubscribe.",
             "The mail provider that delivers our email.",
             "While your account is open.",
             ("category", "allowed", "locked"),
             order=80, rows=preferences.preference_rows, page=PAGE, summary=_switches_card),
    Category("consent_history", "Consent history",
             "Each consent you gave or withdrew: what, when, how, the exact wording you were "
             "shown, and the IP address and browser it came from.",
             "Evidence that we only email you as you allowed.",
             "You, when you change a preference.",
             "No one.",
             "While your account is open, and six years after it is closed.",
             ("at", "category", "granted", "method", "setting", "notice_version",
              "notice_sha256", "notice", "ip", "user_agent"),
             order=90, rows=preferences.export_rows, page=PAGE, summary=counted(ConsentEvent)),
    Category("partner_disclosures", "Shared with partners",
             "Each time your name and email address were given to a partner for a joint "
             "offer you agreed to receive. Billing data is never shared.",
             "Co-marketing you opted in to.",
             "Us, when we send a partner the list of consenting customers.",
             "The partner named in each row.",
             "While your account is open, and six years after it is closed.",
             ("at", "partner", "purpose", "fields"),
             order=100, rows=preferences.disclosure_rows, page=PAGE, summary=counted(PartnerDisclosure)),
    erase=preferences.erase,  # marketing stops, links die; consent evidence is kept (P13)
)


def _glance(account: Account) -> dict[str, Any]:
    now = preferences.current(account)
    return {"choices": [(c.label, now.get(c.key, False))
                        for c in preferences.categories_for(account) if c.marketing]}


register_glance(Glance("marketing", "Marketing email", "privacy_email.index",
                       "privacy/email/glance.html", _glance, order=20))
