"""`panel demo`: idempotent demo data, with progress, and the demo logins.

Running it twice changes nothing; with --password it sets every demo login to that password.
Plugins add their own history through `panel_demo_data`; the mail all this queued is then
delivered (to the instance's Maildir unless PANEL_SMTP_URL is set), so the admin mail viewer
shows real notices.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, timedelta

import click
from sqlalchemy import select

from panel.accounts.models import Account
from panel.accounts.services import create_subscriber
from panel.auth.models import ADMIN, RESELLER, STAFF, SUBSCRIBER, User
from panel.auth.passwords import hash_password, verify
from panel.auth.totp import new_secret
from panel.billing.models import Invoice, PaymentMethod, Service
from panel.db_types import today
from panel.domains.models import CONTACT_ROLES, Domain, DomainContact
from panel.extensions import db
from panel.hooks import hook
from panel.mail.outbox import deliver_due
from panel.reseller.models import ResellerBrand

DEFAULT_PASSWORD = "demo-password"
CLIENTS = 30
INVOICE_YEARS = 8

FIRST = ["Ada", "José", "Zoë", "Ngozi", "Hiroshi", "Fatima", "Lars", "Priya", "Mateo", "Ananya",
         "Chen", "Olga", "Kwame", "Sofía", "Yusuf", "Émile"]
LAST = ["Lovelace", "García", "Müller", "Okafor", "山田", "Haddad", "Nilsson", "Sharma", "Rossi",
        "Kowalski", "Ivanova", "Mensah", "O'Brien", "Dubois", "Nakamura", "Ali"]
CITIES = [("London", "GB", "SW1A 1AA", "+44207946"), ("Berlin", "DE", "10115", "+4930901820"),
          ("Madrid", "ES", "28001", "+3491123"), ("Lagos", "NG", "100001", "+234802312"),
          ("Tokyo", "JP", "100-0001", "+8131234"), ("Austin", "US", "78701", "+1512555")]
PRODUCTS = [("Shared hosting", 499), ("Business hosting", 1499), ("VPS 2 GB", 2400)]


@dataclass
class Login:
    email: str
    role: str
    reseller: str | None = None


def logins() -> list[Login]:
    people = [Login("admin@demo.test", ADMIN), Login("staff1@demo.test", STAFF),
              Login("staff2@demo.test", STAFF), Login("reseller1@demo.test", RESELLER),
              Login("reseller2@demo.test", RESELLER)]
    for n in range(1, CLIENTS + 1):
        owner = "reseller1@demo.test" if n <= 10 else "reseller2@demo.test" if n <= 20 else None
        people.append(Login(f"client{n}@demo.test", SUBSCRIBER, owner))
    return people


def _find(email: str) -> User | None:
    return db.session.execute(select(User).where(User.email.matches(email))).scalar_one_or_none()


def _staff_user(login: Login, pw_hash: str) -> User:
    name = {"admin@demo.test": "Alex Admin", "staff1@demo.test": "Sam Support",
            "staff2@demo.test": "Robin Support", "reseller1@demo.test": "Northwind Hosting",
            "reseller2@demo.test": "Blue Yonder Web"}[login.email]
    user = User(role=login.role, email=login.email, display_name=name, password_hash=pw_hash,
                totp_secret=new_secret())  # these roles sign in with a second factor
    db.session.add(user)
    return user


def _client(n: int, login: Login, reseller: User | None, pw_hash: str) -> User:
    rnd = random.Random(n)  # noqa: S311 - demo data, deterministic on purpose
    first, last = rnd.choice(FIRST), rnd.choice(LAST)
    city, country, postcode, phone_prefix = rnd.choice(CITIES)
    user = create_subscriber(
        email=login.email, password=None, password_hash=pw_hash, first_name=first, last_name=last,
        phone=f"{phone_prefix}{1000 + n:04d}", actor=None,
        reseller_id=reseller.id if reseller else None, commit=False,
        company=f"{last} & Co" if n % 3 == 0 else None, address1=f"{n} Demo Street",
        city=city, postcode=postcode, country=country, tax_id=f"VAT{n:06d}" if n % 3 == 0 else None)
    account = db.session.get(Account, user.account_id)
    assert account is not None
    _domains(account, n, rnd)
    _billing(account, n, rnd)
    return user


def _domains(account: Account, n: int, rnd: random.Random) -> None:
    for k in range(1 + n % 3):
        name = f"client{n}-site{k + 1}.example"
        domain = Domain(account_id=account.id, name=name,
                        registered_on=date(2019, 1, 1) + timedelta(days=n * 7),
                        expires_on=today() + timedelta(days=30 + 11 * n + k),
                        nameservers="ns1.demo.test ns2.demo.test", privacy_enabled=(n + k) % 2 == 0)
        for role in CONTACT_ROLES:
            domain.contacts.append(DomainContact(
                role=role, name=account.name, organization=account.company,
                email=f"{role}@{name}", phone=account.phone, street=account.address1,
                city=account.city, state=None, postcode=account.postcode, country=account.country))
        db.session.add(domain)
        account.services.append(Service(account_id=account.id, product=PRODUCTS[k % 3][0],
                                        domain_name=name, started_on=domain.registered_on,
                                        next_due_on=today() + timedelta(days=rnd.randint(1, 30)),
                                        price_cents=PRODUCTS[k % 3][1]))


def _billing(account: Account, n: int, rnd: random.Random) -> None:
    start = today().replace(day=1) - timedelta(days=365 * INVOICE_YEARS)
    address = f"{account.address1}, {account.postcode} {account.city}, {account.country}"
    month = start
    seq = 0
    while month <= today():
        seq += 1
        unpaid = month > today() - timedelta(days=31) and n % 4 == 0
        db.session.add(Invoice(
            account_id=account.id, number=f"INV-{n:03d}-{seq:04d}", issued_on=month,
            due_on=month + timedelta(days=14), status="unpaid" if unpaid else "paid",
            total_cents=PRODUCTS[n % 3][1], description=f"{PRODUCTS[n % 3][0]}, {month:%B %Y}",
            billing_name=account.name, billing_address=address, billing_tax_id=account.tax_id))
        month = (month + timedelta(days=32)).replace(day=1)
    db.session.add(PaymentMethod(account_id=account.id, gateway="stripe",
                                 gateway_token=f"pm_demo_{n:04d}{rnd.randint(1000, 9999)}",
                                 brand=rnd.choice(["visa", "mastercard", "amex"]),
                                 last4=f"{rnd.randint(0, 9999):04d}", exp_month=rnd.randint(1, 12),
                                 exp_year=today().year + rnd.randint(1, 4)))


def _brand(reseller: User | None) -> None:
    """reseller1's customers see its white label, so the demo shows what resellers can do."""
    if reseller is None or db.session.execute(select(ResellerBrand.id).where(
            ResellerBrand.reseller_id == reseller.id)).first():
        return
    db.session.add(ResellerBrand(reseller_id=reseller.id, name="Harbour Web", slug="harbour-web",
                                 colour="#0b6e4f", support_email="privacy@harbour.demo.test",
                                 privacy_url="https://harbour.demo.test/privacy"))


def seed(password: str | None = None, as_json: bool = False) -> list[dict[str, object]]:
    chosen = password or DEFAULT_PASSWORD
    pw_hash = hash_password(chosen)
    people = logins()
    out = click.echo if not as_json else (lambda *_a, **_k: None)
    created = updated = 0
    users: dict[str, User] = {}
    with click.progressbar(people, label="Seeding demo data", file=None if not as_json else open("/dev/null", "w")) as bar:  # noqa: SIM115, E501
        for n, login in enumerate(bar):
            user = _find(login.email)
            if user is None:
                if login.role == SUBSCRIBER:
                    user = _client(n - 4, login, users.get(login.reseller or ""), pw_hash)
                else:
                    user = _staff_user(login, pw_hash)
                created += 1
            elif password and not verify(user.password_hash, chosen):
                user.password_hash, updated = pw_hash, updated + 1
            users[login.email] = user
            db.session.commit()
    _brand(users.get("reseller1@demo.test"))
    db.session.commit()
    hook().panel_demo_data(people=users, say=out)
    db.session.commit()
    out(f"mail: {deliver_due(limit=1000)}")
    rows = [{"email": p.email, "password": chosen, "role": p.role, "totp_secret": users[p.email].totp_secret}
            for p in people]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        out(f"created {created} logins, updated {updated} passwords; demo password: {chosen}")
        for row in rows[:5]:
            out(f"  {row['role']:<10} {row['email']:<22} TOTP secret {row['totp_secret']}")
        out("  subscriber client1@demo.test (no second factor)")
        out(f"  subscriber client1@demo.test … client{CLIENTS}@demo.test")
        out("Add a TOTP secret to an authenticator app, or `panel demo --json` for all of them.")
    return rows
