"""WHOIS privacy data in the subscriber's copy of their data (P06) and in erasure (P09)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import delete, select

from panel.accounts.models import Account
from panel.domains.models import Domain
from panel.extensions import db
from plugins.privacy.models_whois import (
    ANSWERS,
    LEGAL_BASES,
    ComplaintCase,
    Disclosure,
    DomainRelay,
    RelayMessage,
)
from plugins.privacy.services import disclosure


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


def categories(account: Account) -> dict[str, Iterable[dict[str, Any]]]:
    return {"whois_relay_messages": _relay_messages(account),
            "whois_relay_settings": _relay_settings(account),
            "whois_complaints": _complaints(account),
            "whois_disclosures": _disclosures(account)}


def erase(account: Account) -> None:
    db.session.execute(delete(RelayMessage).where(RelayMessage.account_id == account.id))
    db.session.execute(delete(DomainRelay).where(DomainRelay.domain_id.in_(
        select(Domain.id).where(Domain.account_id == account.id))))
    disclosure.erase(account)
