"""`panel demo` for activity: sign-ins and 60 days of visitor counts per demo domain, so the
sign-in history and the visits chart are not empty."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from panel.auth.models import User
from panel.db_types import today, utcnow
from panel.domains.models import Domain
from panel.extensions import db
from plugins.privacy.retention.models import SigninEvent, VisitorDay

DAYS = 60
CUSTOMERS = ("client1@demo.test", "client21@demo.test", "client22@demo.test")


def seed(people: dict[str, User], say: Callable[[str], None]) -> None:
    signed = counted = 0
    for email in CUSTOMERS:
        customer = people.get(email)
        if customer is None or customer.account_id is None:
            continue
        rnd = random.Random(email)  # noqa: S311 - demo data, deterministic on purpose
        if not db.session.execute(select(SigninEvent.id).where(
                SigninEvent.user_id == customer.id)).first():
            for days in (1, 4, 9, 17, 30):
                db.session.add(SigninEvent(
                    user_id=customer.id, account_id=customer.account_id,
                    at=utcnow() - timedelta(days=days, hours=rnd.randint(0, 12)), method="password",
                    user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"))
                signed += 1
        for domain in db.session.execute(select(Domain).where(
                Domain.account_id == customer.account_id)).scalars():
            if db.session.execute(select(VisitorDay.id).where(VisitorDay.domain_id == domain.id)).first():
                continue
            base = rnd.randint(40, 400)
            for back in range(DAYS, 0, -1):
                visitors = max(1, int(base * (1 + 0.4 * rnd.random()) * (0.7 if back % 7 < 2 else 1)))
                db.session.add(VisitorDay(domain_id=domain.id, day=today() - timedelta(days=back),
                                          visitors=visitors, requests=visitors * rnd.randint(5, 12),
                                          bytes=visitors * rnd.randint(200_000, 900_000)))
                counted += 1
        db.session.commit()
    if signed or counted:
        say(f"added {signed} sign-ins and {counted} days of visitor counts")
