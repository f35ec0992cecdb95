"""`panel demo` for email preferences: consent given and withdrawn, so the consent history
and the preference centre show real changes."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from panel.accounts.models import Account
from panel.auth.models import User
from panel.extensions import db
from plugins.privacy.email.models import ConsentEvent
from plugins.privacy.email.services import preferences

#: Each customer's changes, in order, as made in the preference centre.
CHANGES = {
    "client21@demo.test": [{"newsletter": True, "product_updates": True}, {"newsletter": False}],
    "client1@demo.test": [{"product_updates": True}],
    "client22@demo.test": [{"newsletter": True, "promotions": True}, {"promotions": False}],
}


def seed(people: dict[str, User], say: Callable[[str], None]) -> None:
    made = 0
    for email, steps in CHANGES.items():
        customer = people.get(email)
        if customer is None or customer.account_id is None:
            continue
        account = db.session.get(Account, customer.account_id)
        assert account is not None
        if db.session.execute(select(ConsentEvent.id).where(
                ConsentEvent.account_id == account.id)).first():
            continue
        for wanted in steps:
            made += len(preferences.change(account, wanted, "preference-centre", actor=customer))
        db.session.commit()
    if made:
        say(f"recorded {made} consent changes")
