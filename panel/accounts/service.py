"""Changing account and domain-contact data, in one place for every kind of editor."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from panel import audit
from panel.accounts.models import CONTACT_FIELDS, Account
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.domains.models import CONTACT_FIELDS as DOMAIN_CONTACT_FIELDS
from panel.domains.models import Domain, DomainContact
from panel.extensions import db
from panel.plugins import hook


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
