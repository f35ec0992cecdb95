"""Creating subscribers and changing account and domain-contact data, in one place for every
kind of editor: sign-up, resellers, staff, the command line and the demo agree."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from email.utils import parseaddr
from typing import Any

from flask import current_app
from sqlalchemy import false, func, select, update

from panel import audit
from panel.accounts.models import CONTACT_FIELDS, Account
from panel.audit import AuditEvent
from panel.auth.models import SUBSCRIBER, User
from panel.auth.passwords import hash_password
from panel.db_types import utcnow
from panel.domains.models import CONTACT_FIELDS as DOMAIN_CONTACT_FIELDS
from panel.domains.models import Domain, DomainContact
from panel.extensions import db
from panel.hooks import hook
from panel.mail.outbox import queue
from panel.reseller.branding import brand_of
from panel.urls import external_url


def assign(target: object, data: Mapping[str, Any], fields: Iterable[str], prefix: str = "") -> list[str]:
    """Set the fields whose value changed (empty strings become None); return their names."""
    changed = []
    for name in fields:
        value = data.get(name)
        value = value if value not in ("", None) else None
        if getattr(target, name) != value:
            setattr(target, name, value)
            changed.append(prefix + name)
    return changed


def _changed(account: Account, actor: User | None, fields: list[str], action: str,
             what: str) -> None:
    """Tell listeners and the trail, inside the transaction that makes the change."""
    hook().panel_account_updated(account=account, actor=actor, fields=fields)
    audit.record(AuditEvent(action, actor=actor, account_id=account.id, object=what,
                            fields=fields))


def update_account(account: Account, data: Mapping[str, Any], actor: User | None) -> list[str]:
    changed = assign(account, data, CONTACT_FIELDS)
    if changed:
        _changed(account, actor, changed, "account.update", f"account {account.number}")
    db.session.commit()
    return changed


def update_domain_contact(domain: Domain, role: str, data: Mapping[str, Any],
                          actor: User | None) -> list[str]:
    contact = domain.contact(role)
    if contact is None:
        contact = DomainContact(role=role)
        domain.contacts.append(contact)
    changed = assign(contact, data, DOMAIN_CONTACT_FIELDS)
    if changed:
        domain.updated_at = utcnow()  # WHOIS "Updated Date", RDAP "last changed"
        _changed(domain.account, actor, changed, "domain_contact.update",
                 f"domain {domain.name} {role} contact")
    db.session.commit()
    return changed


def profile_as_contact(account: Account) -> dict[str, str | None]:
    """The profile in the shape of a domain contact, for "copy my profile into this contact"."""
    street = ", ".join(p for p in (account.address1, account.address2) if p) or None
    email = account.user.email if account.user else None
    return {"name": account.name or None, "organization": account.company, "email": email,
            "phone": account.phone, "street": street, "city": account.city,
            "state": account.state, "postcode": account.postcode, "country": account.country}


#: Held by the transaction that gives out a client id (PostgreSQL advisory lock key).
ACCOUNT_NUMBER_LOCK = 0x70616E656C  # "panel"


def next_account_number() -> int:
    """The next client id. Accounts created at the same moment (two sign-ups on two app
    servers) would both read the same largest id, so the transaction first takes a lock that
    it holds until it ends: an advisory lock on PostgreSQL, the database's write lock on
    SQLite (a write that changes nothing)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(ACCOUNT_NUMBER_LOCK)))
    else:
        db.session.execute(update(Account.__table__).where(false())
                           .values(number=Account.__table__.c.number))
    return (db.session.execute(select(func.max(Account.number))).scalar() or 1000) + 1


def create_subscriber(*, email: str, password: str | None, first_name: str, last_name: str,
                      phone: str | None, actor: User | None, password_hash: str | None = None,
                      reseller_id: uuid.UUID | None = None, commit: bool = True,
                      **contact: str | None) -> User:
    hashed = password_hash or hash_password(password or "")  # slow: before the id's lock
    account = Account(id=uuid.uuid4(), number=next_account_number(), reseller_id=reseller_id,
                      first_name=first_name or None, last_name=last_name or None, phone=phone,
                      **contact)
    user = User(role=SUBSCRIBER, email=email, display_name=f"{first_name} {last_name}".strip(),
                password_hash=hashed, account_id=account.id)
    db.session.add(account)
    db.session.flush()  # account and user reference each other: the account row goes first
    db.session.add(user)
    db.session.flush()
    hook().panel_account_created(account=account, actor=actor)
    if commit:
        db.session.commit()
    return user


def tell_address_owner(user: User, where: str) -> None:
    """Someone tried to open an account with an address that already has one. They get the
    same answer as for a new address (so nobody learns who has an account here), and the
    owner hears of it instead; the caller commits."""
    if not user.email:
        return
    login = external_url("auth.login")
    forgot = external_url("password_reset.forgot")
    body = (f"Hello,\n\nSomeone tried to create a hosting account with this email address "
            f"({where}). It already has an account with us, so nothing was created or changed, "
            "and nobody was given access to it.\n\n"
            f"If it was you, sign in here: {login}\n"
            f"If you have forgotten your password, choose a new one here: {forgot}\n"
            "If it was not you, you need not do anything.\n")
    queue(to=user.email, subject="Someone tried to create an account with your email address",
          body=body, account_id=user.account_id)


def support_address(account: Account | None = None) -> str:
    """Where a customer writes when a message says "write to support": their reseller's support
    address when it set one (the white label), else the house's ``SUPPORT_EMAIL``, by default
    support@ the domain mail is sent from. A message that sends someone to support names it."""
    brand = brand_of(account.reseller_id) if account is not None else None
    if brand is not None and brand.support_email:
        return brand.support_email
    configured = current_app.config.get("SUPPORT_EMAIL")
    if configured:
        return str(configured)
    domain = parseaddr(current_app.config["MAIL_FROM"])[1].rpartition("@")[2] or "localhost"
    return f"support@{domain}"
