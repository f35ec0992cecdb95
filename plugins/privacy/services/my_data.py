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
             "Which kinds of non-essential email you agreed to receive.",
             "To send only the email you want.",
             "You, in the panel or through an unsubscribe link.",
             "The mail provider that delivers our email.",
             "While your account is open.",
             ("category", "allowed", "changed_at")),
    Category("consent_history", "Consent history",
             "Each consent you gave or withdrew: what, when, how, and what you were told.",
             "Evidence that we only email you as you allowed.",
             "You, when you change a preference.",
             "No one.",
             "While your account is open, and as long as the law needs the evidence after.",
             ("at", "category", "given", "method", "wording")),
    Category("sign_ins", "Sign-in history",
             "Each sign-in: time, IP address, browser, the page you came from, and the method.",
             "To keep your account secure and let you spot sign-ins that were not you.",
             "Your browser, when you sign in.",
             "No one.",
             f"{signins.RETENTION_DAYS} days, then deleted.",
             ("at", "ip", "user_agent", "referrer", "method")),
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
NONE_YET = ("email_preferences", "consent_history")  # recorded by a later feature


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
            "signins": signins.recent(account, PAGE_ROWS), "signin_count": signin_count}
