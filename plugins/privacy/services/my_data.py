"""What we hold about a subscriber, why, from where, who else gets it, and for how long (P06).

CATEGORIES is the one description of every category: the My data page, the HTML summary and
the JSON export all read it, so what the page says and what the export contains cannot drift.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select

from panel.accounts.models import CONTACT_FIELDS, Account
from panel.billing.models import Invoice
from panel.extensions import db
from plugins.privacy.models import SupportCredential
from plugins.privacy.models_export import SigninEvent
from plugins.privacy.services import credentials, signins

PAGE_ROWS = 20


@dataclass(frozen=True)
class Category:
    key: str
    title: str
    what: str
    why: str
    source: str
    shared_with: str
    kept_for: str
    columns: tuple[str, ...] = field(default=())  # the CSV header; plugin rows may add more

    def describe(self) -> dict[str, str]:
        """The description as it appears in every export."""
        return {k: v for k, v in asdict(self).items() if k not in ("key", "columns")}


CATEGORIES: tuple[Category, ...] = (
    Category("profile", "Profile",
             "Your name, company, address, phone number, tax id, date of birth if given, "
             "sign-in email address, and whether two-factor sign-in is on.",
             "To provide the service, bill you and contact you about your account.",
             "You, at sign-up and when you edit your profile.",
             "No one, except the payment gateway for the billing address on a payment.",
             "While your account is open; erased when it is closed.",
             ("account_number", "status", "created_at", "email", *CONTACT_FIELDS,
              "date_of_birth", "two_factor", "last_login_at")),
    Category("domains", "Domains",
             "The domains you register with us, their dates, name servers and privacy setting.",
             "To register and renew them.",
             "You, when you register or transfer a domain.",
             "The domain registrar and the registry (the domain name is public).",
             "While the domain is registered with us.",
             ("name", "status", "registered_on", "expires_on", "nameservers", "privacy_enabled")),
    Category("domain_contacts", "Domain contacts (WHOIS)",
             "The registrant, administrative, technical and billing contact of each domain.",
             "Registries require them for every domain.",
             "You, when you register a domain or edit its contacts.",
             "The domain registrar and registry; published in WHOIS only when domain privacy "
             "is off.",
             "While the domain is registered with us.",
             ("domain", "role", "name", "organization", "email", "phone", "street", "city",
              "state", "postcode", "country")),
    Category("services", "Services",
             "Your hosting services: product, domain, status, dates and price.",
             "To provide and bill the services you ordered.",
             "You, when you order; us, as the service runs.",
             "No one.",
             "While your account is open.",
             ("product", "domain_name", "status", "started_on", "next_due_on", "price_cents")),
    Category("invoices", "Invoices",
             "Every invoice: number, dates, amounts, and the billing name, address and tax id "
             "printed on it.",
             "Billing, and the tax and accounting law that requires us to keep invoices.",
             "Us, from your services and profile.",
             "The payment gateway (amount and reference), tax authorities on request.",
             "Seven years from the invoice date, even after your account is closed.",
             ("number", "issued_on", "due_on", "status", "currency", "total_cents",
              "description", "billing_name", "billing_address", "billing_tax_id")),
    Category("payment_methods", "Payment methods",
             "Card brand, last four digits and expiry only. The full card number never "
             "reaches us; the payment gateway keeps it.",
             "To take payments you authorised.",
             "The payment gateway, when you add a card.",
             "The payment gateway.",
             "Until you remove the card or close your account.",
             ("gateway", "brand", "last4", "exp_month", "exp_year", "created_at")),
    Category("support_credentials", "Support credentials",
             "The labels of credentials you handed to support. The secrets themselves are "
             "never shown or exported.",
             "So support can work on your service when you ask them to.",
             "You, on the Support credentials page.",
             "No one; support staff see them only inside a recorded access session.",
             "Until the expiry you chose (at most 90 days), then deleted.",
             ("kind", "label", "created_at", "expires_at")),
    Category("email_preferences", "Email preferences",
             "Which kinds of non-essential email you agreed to receive; account, billing, "
             "security and service notices are always sent.",
             "To send only the email you want.",
             "You, in the panel, through an unsubscribe link or by replying to unsubscribe.",
             "The mail provider that delivers our email.",
             "While your account is open.",
             ("category", "allowed", "locked")),
    Category("consent_history", "Consent history",
             "Each consent you gave or withdrew: what, when, how, the exact wording you were "
             "shown, and the IP address and browser it came from.",
             "Evidence that we only email you as you allowed.",
             "You, when you change a preference.",
             "No one.",
             "While your account is open, and six years after it is closed.",
             ("at", "category", "granted", "method", "setting", "notice_version",
              "notice_sha256", "notice", "ip", "user_agent")),
    Category("partner_disclosures", "Shared with partners",
             "Each time your name and email address were given to a partner for a joint "
             "offer you agreed to receive. Billing data is never shared.",
             "Co-marketing you opted in to.",
             "Us, when we send a partner the list of consenting customers.",
             "The partner named in each row.",
             "While your account is open, and six years after it is closed.",
             ("at", "partner", "purpose", "fields")),
    Category("sign_ins", "Sign-in history",
             "Each sign-in: time, IP address, browser, the page you came from, and the method.",
             "To keep your account secure and let you spot sign-ins that were not you.",
             "Your browser, when you sign in.",
             "No one.",
             f"{signins.RETENTION_DAYS} days, then deleted.",
             ("at", "ip", "user_agent", "referrer", "method")),
    Category("account_activity", "Account activity",
             "Failed sign-in attempts and security-relevant changes to your account: "
             "password, two-step sign-in, email address, closing and reopening.",
             "To keep your account secure and let you spot activity that was not you.",
             "Your browser, and us as the changes happen.",
             "No one.",
             "90 days, then deleted.",
             ("at", "kind", "method", "reason", "ip", "user_agent", "referrer")),
    Category("whois_relay_settings", "WHOIS contact form",
             "Whether people may write to you through the contact form that replaces your "
             "email address in WHOIS, per domain.",
             "To keep your address private while you stay reachable.",
             "You, on each domain's page.",
             "No one.",
             "While the domain is registered with us.",
             ("domain", "contact_form_messages")),
    Category("whois_relay_messages", "Messages through the WHOIS contact form",
             "Messages others wrote to you through the contact form, with the name they "
             "gave. Their email address is theirs and is not included.",
             "To pass messages on without revealing your address.",
             "The people who wrote to you.",
             "No one: only you receive them.",
             "30 days, then deleted.",
             ("domain", "received_at", "from_name", "message", "answered_at", "deleted_after")),
    Category("whois_complaints", "Complaints about your domains",
             "Legal complaints about a privacy-protected domain: who complained, on what legal "
             "basis, your answer and the outcome.",
             "The legal-disclosure process of our domain privacy service.",
             "The complainant and our staff; you, when you answer.",
             "No one, unless the case ends in a disclosure listed below.",
             "As long as the law needs the evidence.",
             ("domain", "opened_at", "legal_basis", "complainant", "details", "answer_due",
              "your_answer", "your_details", "status", "closed_at")),
    Category("whois_disclosures", "Disclosures of your domain contact data",
             "Each time your registrant data was given to someone: to whom, when, why and "
             "which fields.",
             "A legal obligation, or your consent, in a complaint case.",
             "Us, when a complaint case is closed as disclosed.",
             "Only the recipient named in each row.",
             "As long as the law needs the evidence.",
             ("domain", "disclosed_at", "recipient", "legal_basis", "fields",
              "with_your_consent")),
    Category("staff_access", "Staff access",
             "Each time support staff asked to open your account: who, when, why, for how "
             "long, and your decision.",
             "So you can see and control staff access.",
             "Us, when staff ask for access.",
             "No one.",
             "As long as your account exists.",
             ("requested_at", "staff", "reason", "ticket", "note", "status", "break_glass",
              "minutes", "started_at", "expires_at", "ended_at", "end_reason")),
    Category("privacy_trail", "Privacy record",
             "The tamper-evident record of privacy events on your account: changes, staff "
             "views, requests, exports. It names the fields involved, never their values.",
             "Accountability: it proves what was done with your data, and by whom.",
             "Us, as things happen.",
             "No one.",
             "As long as the law needs the evidence, also after the account is closed.",
             ("at", "action", "object", "fields", "actor_role", "actor", "result",
              "reason_code", "ticket", "ip")),
)
BY_KEY = {c.key: c for c in CATEGORIES}


def describe(key: str) -> Category:
    """A category's description; one a plugin adds without a description gets a plain one."""
    return BY_KEY.get(key) or Category(
        key, key.replace("_", " ").capitalize(), "Data another part of the panel keeps.",
        "See our privacy policy.", "The panel.", "No one.", "See our privacy policy.")


def summary(account: Account) -> dict[str, Any]:
    """What the My data page shows: every category, with its rows or a count and the latest."""
    user = account.user
    profile = [(f.replace("_", " ").capitalize(), getattr(account, f)) for f in CONTACT_FIELDS]
    profile = [("Email", user.email if user else None), *profile,
               ("Date of birth", account.date_of_birth),
               ("Two-factor sign-in", "on" if user and user.totp_secret else "off")]
    invoices = list(db.session.execute(
        select(Invoice).where(Invoice.account_id == account.id)
        .order_by(Invoice.issued_on.desc(), Invoice.number.desc()).limit(PAGE_ROWS)).scalars())
    invoice_count = db.session.execute(select(func.count()).select_from(Invoice)
                                       .where(Invoice.account_id == account.id)).scalar_one()
    credential_count = db.session.execute(
        select(func.count()).select_from(SupportCredential)
        .where(SupportCredential.account_id == account.id)).scalar_one()
    signin_count = db.session.execute(
        select(func.count()).select_from(SigninEvent)
        .where(SigninEvent.account_id == account.id)).scalar_one()
    return {"categories": BY_KEY, "profile": profile, "domains": account.domains,
            "services": account.services, "invoices": invoices, "invoice_count": invoice_count,
            "payment_methods": account.payment_methods,
            "credentials": credentials.current(account), "credential_count": credential_count,
            "signins": signins.recent(account, PAGE_ROWS), "signin_count": signin_count,
            **_email_summary(account), "whois_counts": _whois_counts(account)}


def _count(model: Any, *where: Any) -> int:
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _email_summary(account: Account) -> dict[str, Any]:
    from plugins.privacy.models_email import ConsentEvent, PartnerDisclosure
    from plugins.privacy.services import email_prefs

    current = email_prefs.current(account)
    return {"email_switches": [(email_prefs.label_of(k), v) for k, v in current.items()],
            "consent_count": _count(ConsentEvent, ConsentEvent.account_id == account.id),
            "disclosure_count": _count(PartnerDisclosure,
                                       PartnerDisclosure.account_id == account.id)}


def _whois_counts(account: Account) -> dict[str, int]:
    from panel.domains.models import Domain
    from plugins.privacy.models_whois import ComplaintCase, Disclosure, DomainRelay, RelayMessage

    return {"whois_relay_settings": _count(DomainRelay, DomainRelay.domain_id.in_(
                select(Domain.id).where(Domain.account_id == account.id))),
            "whois_relay_messages": _count(RelayMessage, RelayMessage.account_id == account.id),
            "whois_complaints": _count(ComplaintCase, ComplaintCase.account_id == account.id),
            "whois_disclosures": _count(Disclosure, Disclosure.account_id == account.id)}
