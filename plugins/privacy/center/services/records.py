"""What the panel core holds about a subscriber, as the privacy center describes it (P06), and
what erasing an account means for the privacy center's own tables (P09).

The core's tables are the center's to describe: the core knows nothing of My data. Every other
feature registers its own categories the same way, in its ``services/records.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from panel.accounts.models import CONTACT_FIELDS, Account
from panel.auth.models import User
from panel.billing.models import Invoice, PaymentMethod, Service
from panel.db_types import utcnow
from panel.domains.models import CONTACT_FIELDS as DOMAIN_CONTACT_FIELDS
from panel.domains.models import Domain, DomainContact
from panel.extensions import db
from panel.passkeys.services import export_account as passkey_rows
from plugins.privacy.center.models import OPEN, DataRequest
from plugins.privacy.center.services import email_change, export, policy
from plugins.privacy.processing.services import (
    CARD_ROWS,
    Category,
    Glance,
    Rows,
    count,
    register,
    register_glance,
    stream,
)

PAGE = "privacy/center/my_data_core.html"
DOMAIN_COLUMNS = ("name", "status", "registered_on", "expires_on", "nameservers", "privacy_enabled")
SERVICE_COLUMNS = ("product", "domain_name", "status", "started_on", "next_due_on", "price_cents",
                   "cancel_requested_at", "cancel_on", "cancelled_at")
INVOICE_COLUMNS = ("number", "issued_on", "due_on", "status", "currency", "total_cents",
                   "description", "billing_name", "billing_address", "billing_tax_id")
PAYMENT_COLUMNS = ("gateway", "brand", "last4", "exp_month", "exp_year", "created_at")


# --- rows for the export -------------------------------------------------------------------------


def _profile(account: Account) -> Iterator[dict[str, Any]]:
    user = account.user
    row: dict[str, Any] = {"account_number": account.number, "status": account.status,
                           "created_at": account.created_at, "email": user.email if user else None}
    row.update({f: getattr(account, f) for f in CONTACT_FIELDS})
    row["date_of_birth"] = account.date_of_birth
    row["two_factor"] = bool(user and user.totp_secret)  # whether it is on, never the secret
    row["last_login_at"] = user.last_login_at if user else None
    yield row


def _domains(account: Account) -> Rows:
    return stream(Domain, DOMAIN_COLUMNS, Domain.account_id == account.id, order_by=(Domain.name,))


def _domain_contacts(account: Account) -> Iterator[dict[str, Any]]:
    names = dict(db.session.execute(select(Domain.id, Domain.name)
                                    .where(Domain.account_id == account.id)).all())
    if not names:
        return
    for row in stream(DomainContact, ("domain_id", "role", *DOMAIN_CONTACT_FIELDS),
                      DomainContact.domain_id.in_(list(names)),
                      order_by=(DomainContact.domain_id, DomainContact.role)):
        yield {"domain": names[row.pop("domain_id")], **row}


def _services(account: Account) -> Rows:
    return stream(Service, SERVICE_COLUMNS, Service.account_id == account.id,
                  order_by=(Service.started_on, Service.id))


def _invoices(account: Account) -> Rows:
    return stream(Invoice, INVOICE_COLUMNS, Invoice.account_id == account.id,
                  order_by=(Invoice.issued_on, Invoice.number))


def _payment_methods(account: Account) -> Rows:
    """The mask only, never the gateway token."""
    return stream(PaymentMethod, PAYMENT_COLUMNS, PaymentMethod.account_id == account.id,
                  order_by=(PaymentMethod.created_at,))


def _passkeys(account: Account) -> Rows:
    """Names and dates only: the public key verifies signatures and says nothing about you."""
    return passkey_rows(account.id)


def _passkeys_card(account: Account) -> dict[str, Any]:
    return {"passkeys": list(passkey_rows(account.id))}


def _domain_count(account: Account) -> int:
    return count(Domain, Domain.account_id == account.id)


def _service_count(account: Account) -> int:
    return count(Service, Service.account_id == account.id)


def _invoice_count(account: Account) -> int:
    return count(Invoice, Invoice.account_id == account.id)


# --- the cards on My data ----------------------------------------------------------------------


def _profile_card(account: Account) -> dict[str, Any]:
    user = account.user
    profile = [(f.replace("_", " ").capitalize(), getattr(account, f)) for f in CONTACT_FIELDS]
    return {"profile": [("Email", user.email if user else None), *profile,
                        ("Date of birth", account.date_of_birth),
                        ("Two-factor sign-in", "on" if user and user.totp_secret else "off")]}


def _domains_card(account: Account) -> dict[str, Any]:
    return {"domains": account.domains}


def _services_card(account: Account) -> dict[str, Any]:
    return {"services": account.services}


def _invoices_card(account: Account) -> dict[str, Any]:
    invoices = list(db.session.execute(
        select(Invoice).where(Invoice.account_id == account.id)
        .order_by(Invoice.issued_on.desc(), Invoice.number.desc()).limit(CARD_ROWS)).scalars())
    return {"invoices": invoices, "invoice_count": _invoice_count(account)}


def _payment_methods_card(account: Account) -> dict[str, Any]:
    return {"payment_methods": account.payment_methods}


# --- erasure ---------------------------------------------------------------------------------


def erase(account: Account) -> None:
    """Where policies were accepted from, pending email changes and export files go. Requests
    and which policy versions were accepted stay as the record of what was done."""
    user = db.session.execute(select(User).where(User.account_id == account.id)).scalar()
    if user is not None:
        policy.forget_ips(user)
        email_change.erase_for(user)
    export.erase(account)


register(
    "center",
    Category("profile", "Profile",
             "Your name, company, address, phone number, tax id, date of birth if given, "
             "sign-in email address, and whether two-factor sign-in is on.",
             "To provide the service, bill you and contact you about your account.",
             "You, at sign-up and when you edit your profile.",
             "No one, except the payment gateway for the billing address on a payment.",
             "While your account is open; erased when it is closed.",
             ("account_number", "status", "created_at", "email", *CONTACT_FIELDS,
              "date_of_birth", "two_factor", "last_login_at"),
             order=10, rows=_profile, page=PAGE, summary=_profile_card),
    Category("domains", "Domains",
             "The domains you register with us, their dates, name servers and privacy setting.",
             "To register and renew them.",
             "You, when you register or transfer a domain.",
             "The domain registrar and the registry (the domain name is public).",
             "While the domain is registered with us.",
             DOMAIN_COLUMNS,
             order=20, rows=_domains, page=PAGE, summary=_domains_card, count=_domain_count),
    Category("domain_contacts", "Domain contacts (WHOIS)",
             "The registrant, administrative, technical and billing contact of each domain.",
             "Registries require them for every domain.",
             "You, when you register a domain or edit its contacts.",
             "The domain registrar and registry; published in WHOIS only when domain privacy "
             "is off.",
             "While the domain is registered with us.",
             ("domain", "role", "name", "organization", "email", "phone", "street", "city",
              "state", "postcode", "country"),
             order=30, rows=_domain_contacts, page=PAGE, summary=_domains_card),
    Category("services", "Services",
             "Your hosting services: product, domain, status, dates and price.",
             "To provide and bill the services you ordered.",
             "You, when you order; us, as the service runs.",
             "No one.",
             "While your account is open.",
             SERVICE_COLUMNS,
             order=40, rows=_services, page=PAGE, summary=_services_card,
             count=_service_count),
    Category("invoices", "Invoices",
             "Every invoice: number, dates, amounts, and the billing name, address and tax id "
             "printed on it.",
             "Billing, and the tax and accounting law that requires us to keep invoices.",
             "Us, from your services and profile.",
             "The payment gateway (amount and reference), tax authorities on request.",
             "Seven years from the invoice date, even after your account is closed.",
             INVOICE_COLUMNS,
             order=50, rows=_invoices, page=PAGE, summary=_invoices_card,
             count=_invoice_count),
    Category("payment_methods", "Payment methods",
             "Card brand, last four digits and expiry only. The full card number never "
             "reaches us; the payment gateway keeps it.",
             "To take payments you authorised.",
             "The payment gateway, when you add a card.",
             "The payment gateway.",
             "Until you remove the card or close your account.",
             PAYMENT_COLUMNS,
             order=60, rows=_payment_methods, page=PAGE, summary=_payment_methods_card),
    Category("passkeys", "Passkeys",
             "The name you gave each passkey, when it was added and last used, and how your "
             "device reaches it. Its public key checks your sign-ins; the private key never "
             "leaves your device.",
             "To sign you in with a passkey.",
             "You, when you add a passkey.",
             "No one.",
             "Until you remove the passkey or close your account.",
             ("name", "added", "last_used", "transports"),
             order=65, rows=_passkeys, page=PAGE, summary=_passkeys_card),
    erase=erase,
)


def _open_requests(account: Account) -> dict[str, Any]:
    return {"open": db.session.execute(
        select(DataRequest).where(DataRequest.account_id == account.id,
                                  DataRequest.status.in_(OPEN))
        .order_by(DataRequest.due_on)).scalars().all()}


def _latest_export(account: Account) -> dict[str, Any]:
    latest = export.mine(account, limit=1)
    return {"latest": latest[0] if latest else None, "now": utcnow()}


register_glance(
    Glance("requests", "Your requests", "privacy_requests.mine", "privacy/center/glance_requests.html",
           _open_requests, order=40),
    Glance("export", "A copy of your data", "privacy_data.index",
           "privacy/center/glance_export.html", _latest_export, order=50))
