"""What WHOIS privacy holds about a subscriber (P06) and how an erasure treats it (P09): the
contact-form switch per domain, messages through it, complaints and disclosures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import delete, select

from panel.accounts.models import Account
from panel.domains.models import Domain
from panel.extensions import db
from plugins.privacy.processing.services import (
    Category,
    Glance,
    count,
    counted,
    register,
    register_glance,
)
from plugins.privacy.whois.models import (
    ANSWERS,
    LEGAL_BASES,
    ComplaintCase,
    Disclosure,
    DomainRelay,
    RelayMessage,
)
from plugins.privacy.whois.services import disclosure

PAGE = "privacy/whois/my_data.html"


def _relay_messages(account: Account) -> Iterator[dict[str, Any]]:
    """Messages written to the subscriber; the sender's address is someone else's data."""
    names = dict(db.session.execute(select(Domain.id, Domain.name)
                                    .where(Domain.account_id == account.id)).all())
    rows = db.session.execute(select(RelayMessage).where(RelayMessage.account_id == account.id)
                              .order_by(RelayMessage.created_at)).scalars()
    for m in rows:
        yield {"domain": names.get(m.domain_id, ""), "received_at": m.created_at,
               "from_name": m.sender_name, "message": m.body, "answered_at": m.replied_at,
               "deleted_after": m.expires_at}


def _relay_settings(account: Account) -> Iterator[dict[str, Any]]:
    rows = db.session.execute(select(Domain.name, DomainRelay.enabled).join(
        DomainRelay, DomainRelay.domain_id == Domain.id).where(Domain.account_id == account.id))
    for name, enabled in rows:
        yield {"domain": name, "contact_form_messages": bool(enabled)}


def _complaints(account: Account) -> Iterator[dict[str, Any]]:
    rows = db.session.execute(select(ComplaintCase).where(ComplaintCase.account_id == account.id)
                              .order_by(ComplaintCase.opened_at)).scalars()
    for c in rows:
        yield {"domain": c.domain_name, "opened_at": c.opened_at,
               "legal_basis": LEGAL_BASES.get(c.legal_basis, c.legal_basis),
               "complainant": c.complainant_name, "details": c.details,
               "answer_due": c.due_at, "your_answer": ANSWERS.get(c.answer or "", ""),
               "your_details": c.answer_text, "status": c.status_label, "closed_at": c.closed_at}


def _disclosures(account: Account) -> Iterator[dict[str, Any]]:
    rows = db.session.execute(select(Disclosure).where(Disclosure.account_id == account.id)
                              .order_by(Disclosure.disclosed_at)).scalars()
    for d in rows:
        yield {"domain": d.domain_name, "disclosed_at": d.disclosed_at, "recipient": d.recipient,
               "legal_basis": d.basis_label, "fields": ", ".join(d.fields or []),
               "with_your_consent": d.consented}


def erase(account: Account) -> None:
    db.session.execute(delete(RelayMessage).where(RelayMessage.account_id == account.id))
    db.session.execute(delete(DomainRelay).where(DomainRelay.domain_id.in_(
        select(Domain.id).where(Domain.account_id == account.id))))
    disclosure.erase(account)


def _relay_settings_card(account: Account) -> dict[str, Any]:
    return {"count": count(DomainRelay, DomainRelay.domain_id.in_(
        select(Domain.id).where(Domain.account_id == account.id)))}


register(
    "whois",
    Category("whois_relay_settings", "WHOIS contact form",
             "Whether people may write to you through the contact form that replaces your "
             "email address in WHOIS, per domain.",
             "To keep your address private while you stay reachable.",
             "You, on each domain's page.",
             "No one.",
             "While the domain is registered with us.",
             ("domain", "contact_form_messages"),
             order=130, rows=_relay_settings, page=PAGE, summary=_relay_settings_card),
    Category("whois_relay_messages", "Messages through the WHOIS contact form",
             "Messages others wrote to you through the contact form, with the name they "
             "gave. Their email address is theirs and is not included.",
             "To pass messages on without revealing your address.",
             "The people who wrote to you.",
             "No one: only you receive them.",
             "30 days, then deleted.",
             ("domain", "received_at", "from_name", "message", "answered_at", "deleted_after"),
             order=140, rows=_relay_messages, page=PAGE, summary=counted(RelayMessage)),
    Category("whois_complaints", "Complaints about your domains",
             "Legal complaints about a privacy-protected domain: who complained, on what legal "
             "basis, your answer and the outcome.",
             "The legal-disclosure process of our domain privacy service.",
             "The complainant and our staff; you, when you answer.",
             "No one, unless the case ends in a disclosure listed below.",
             "As long as the law needs the evidence.",
             ("domain", "opened_at", "legal_basis", "complainant", "details", "answer_due",
              "your_answer", "your_details", "status", "closed_at"),
             order=150, rows=_complaints, page=PAGE, summary=counted(ComplaintCase)),
    Category("whois_disclosures", "Disclosures of your domain contact data",
             "Each time your registrant data was given to someone: to whom, when, why and "
             "which fields.",
             "A legal obligation, or your consent, in a complaint case.",
             "Us, when a complaint case is closed as disclosed.",
             "Only the recipient named in each row.",
             "As long as the law needs the evidence.",
             ("domain", "disclosed_at", "recipient", "legal_basis", "fields",
              "with_your_consent"),
             order=160, rows=_disclosures, page=PAGE, summary=counted(Disclosure)),
    erase=erase,  # relay messages, complaint cases and their files, disclosures
)


def _glance(account: Account) -> dict[str, Any]:
    domains = db.session.execute(select(Domain).where(Domain.account_id == account.id)
                                 .order_by(Domain.name)).scalars().all()
    return {"domains": domains}


register_glance(Glance("whois", "WHOIS privacy", "client.domains", "privacy/whois/glance.html",
                       _glance, order=10))
