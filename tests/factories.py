"""Factories for test data: callables that build valid rows with overridable fields."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import pyotp

from panel.accounts.models import Account
from panel.accounts.services import create_subscriber
from panel.auth.models import RESELLER, User
from panel.auth.passwords import hash_password
from panel.billing.models import Invoice, PaymentMethod, Service
from panel.domains.models import CONTACT_ROLES, Domain, DomainContact
from panel.extensions import db

DEFAULT_PASSWORD = "correct horse battery"
_seq = itertools.count(1)


@lru_cache(maxsize=4)
def password_hash(password: str = DEFAULT_PASSWORD) -> str:
    return hash_password(password)


class Factories:
    def subscriber(self, *, email: str | None = None, password: str = DEFAULT_PASSWORD,
                   reseller: User | None = None, **contact: Any) -> User:
        n = next(_seq)
        fields = {"first_name": "Ada", "last_name": f"Lovelace{n}", "phone": f"+4420794609{n % 100:02d}",
                  "city": "London", "country": "GB", **contact}
        return create_subscriber(email=email or f"sub{n}@example.com", password=None,
                                 password_hash=password_hash(password), actor=None,
                                 reseller_id=reseller.id if reseller else None, **fields)

    def _user(self, role: str, email: str | None, name: str | None, password: str) -> User:
        n = next(_seq)
        user = User(role=role, email=email or f"{role}{n}@example.com",
                    display_name=name or f"{role.title()} {n}", password_hash=password_hash(password),
                    totp_secret=pyotp.random_base32())  # these roles need a second factor
        db.session.add(user)
        db.session.commit()
        return user

    def staff(self, role: str = "staff", *, email: str | None = None, name: str | None = None,
              password: str = DEFAULT_PASSWORD) -> User:
        return self._user(role, email, name, password)

    def reseller(self, *, email: str | None = None, name: str | None = None,
                 password: str = DEFAULT_PASSWORD) -> User:
        return self._user(RESELLER, email, name, password)

    def domain(self, account: Account, name: str | None = None, *, contacts: bool = True,
               privacy: bool = True) -> Domain:
        n = next(_seq)
        domain = Domain(account_id=account.id, name=name or f"example{n}.test",
                        registered_on=date(2020, 1, 1), expires_on=date(2030, 1, 1),
                        nameservers="ns1.panel.test ns2.panel.test", privacy_enabled=privacy)
        if contacts:
            for role in CONTACT_ROLES:
                domain.contacts.append(DomainContact(
                    role=role, name=f"{role.title()} Person {n}", organization=None,
                    email=f"{role}{n}@example.com", phone="+442079460000",
                    street="1 High Street", city="London", state=None, postcode="SW1A 1AA",
                    country="GB"))
        db.session.add(domain)
        db.session.commit()
        return domain

    def invoice(self, account: Account, *, issued_on: date | None = None, status: str = "paid",
                total_cents: int = 1000) -> Invoice:
        n = next(_seq)
        issued = issued_on or date(2024, 1, 1)
        invoice = Invoice(account_id=account.id, number=f"INV-T{n:06d}", issued_on=issued,
                          due_on=issued + timedelta(days=14), status=status, total_cents=total_cents,
                          description="Web hosting", billing_name=account.name or "Customer",
                          billing_address="1 High Street, London", billing_tax_id=None)
        db.session.add(invoice)
        db.session.commit()
        return invoice

    def service(self, account: Account, *, status: str = "active") -> Service:
        service = Service(account_id=account.id, product="Shared hosting", status=status,
                          started_on=date(2023, 1, 1), price_cents=500)
        db.session.add(service)
        db.session.commit()
        return service

    def payment_method(self, account: Account) -> PaymentMethod:
        method = PaymentMethod(account_id=account.id, gateway="stripe", gateway_token="tok_test",
                               brand="visa", last4="4242", exp_month=12, exp_year=2030)
        db.session.add(method)
        db.session.commit()
        return method
