"""`panel demo` for staff access: a few ended access sessions with their reasons, so the
customer's Staff access page, the staff list and the trail show what support did."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from panel.accounts.models import Account
from panel.auth.models import User
from panel.extensions import db
from plugins.privacy.access.models import AccessSession
from plugins.privacy.access.services import sessions

#: (staff, customer, reason, ticket, note, days ago)
SESSIONS = [
    ("staff1@demo.test", "client21@demo.test", "support", "TICKET-4242",
     "The customer asked why their site shows an old page.", 12),
    ("staff2@demo.test", "client21@demo.test", "billing", "",
     "Check a double charge on the latest invoice.", 5),
    ("staff1@demo.test", "client1@demo.test", "support", "TICKET-4318",
     "Help moving the domain's name servers.", 3),
    ("staff2@demo.test", "client22@demo.test", "error", "",
     "A backup job failed for this account's site.", 1),
]


def seed(people: dict[str, User], say: Callable[[str], None]) -> None:
    made = 0
    for staff_email, customer_email, reason, ticket, note, days in SESSIONS:
        staff, customer = people.get(staff_email), people.get(customer_email)
        if staff is None or customer is None or customer.account_id is None:
            continue
        account = db.session.get(Account, customer.account_id)
        assert account is not None
        if db.session.execute(select(AccessSession.id).where(
                AccessSession.account_id == account.id, AccessSession.staff_id == staff.id,
                AccessSession.reason_code == reason)).first():
            continue
        s = sessions.request_access(staff, account, reason=reason, ticket=ticket, note=note,
                                    minutes=30)
        sessions.end(s, staff)
        # the session row tells when it happened; the trail keeps its own (true) times
        back = timedelta(days=days)
        for column in ("requested_at", "started_at", "expires_at", "ended_at"):
            if getattr(s, column) is not None:
                setattr(s, column, getattr(s, column) - back)
        db.session.commit()
        made += 1
    if made:
        say(f"opened and ended {made} staff access sessions")
