"""Erasing an account (P09): personal data goes, billing records stay for their retention.

The core anonymises its own tables; plugins erase theirs through panel_account_erasure, in
the same transaction, so an erasure is never half done.
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete, func, select, update

from panel import audit
from panel.accounts.models import CLOSED, CONTACT_FIELDS, Account
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.auth.passwords import hash_password
from panel.auth.services import sign_out_everywhere
from panel.billing.models import Invoice, PaymentMethod, Service
from panel.db_types import utcnow
from panel.domains.models import Domain, DomainContact
from panel.extensions import db
from panel.hooks import hook
from panel.mail.models import QUEUED, OutboxMessage

TOMBSTONE = "[erased]"


class ErasureRefused(ValueError):
    """Erasure cannot happen yet; the message says why, for the customer and staff."""


class Blocker(str):
    """A reason erasure must wait, in words, and the client-area page where the customer
    deals with it (no dead ends). A plain str everywhere else, so plugins' reasons mix in."""

    endpoint: str | None
    action: str

    def __new__(cls, text: str, endpoint: str | None = None, action: str = "") -> Blocker:
        made = super().__new__(cls, text)
        made.endpoint, made.action = endpoint, action
        return made


def blockers(account: Account) -> list[str]:
    """What stops erasure now (Blesta and HostBill refuse in the same cases)."""
    reasons: list[str] = []
    unpaid = db.session.scalar(select(func.count()).select_from(Invoice).where(
        Invoice.account_id == account.id, Invoice.status == "unpaid"))
    if unpaid:
        reasons.append(Blocker(f"{unpaid} unpaid invoice(s) must be paid or cancelled first",
                               "client.invoices", "See your invoices"))
    running = db.session.execute(select(Service.cancel_on).where(
        Service.account_id == account.id, Service.status == "active")).scalars().all()
    active = sum(1 for day in running if day is None)
    if active:
        reasons.append(Blocker(f"{active} active service(s) must be cancelled first",
                               "client.services", "Cancel services"))
    ending = sorted(day for day in running if day is not None)
    if ending:
        reasons.append(Blocker(
            f"{len(ending)} service(s) asked to be cancelled run until {ending[-1]:%d %B %Y}: "
            "the account can be closed after that, or once they are cancelled now",
            "client.services",
            "Cancel them now"))
    for found in hook().panel_erasure_blockers(account=account):
        reasons.extend(found or [])
    return reasons


def erase(account: Account, actor: User | None) -> None:
    """Anonymise the account now; the caller commits."""
    reasons = blockers(account)
    if reasons:
        raise ErasureRefused("Erasure is not possible yet: " + "; ".join(reasons) + ".")
    for name in CONTACT_FIELDS:
        setattr(account, name, None)
    account.first_name, account.date_of_birth = TOMBSTONE, None
    account.status = CLOSED
    user = db.session.execute(select(User).where(User.account_id == account.id)).scalar()
    if user is not None:
        user.email = f"erased-{account.number}@erased.invalid"  # unique, and reaches no one
        user.display_name, user.totp_secret, user.recovery_hashes = TOMBSTONE, None, None
        user.password_hash = hash_password(secrets.token_urlsafe(32))
        user.active = False
        sign_out_everywhere(user)  # signs every session out, and their addresses go
    domain_ids = select(Domain.id).where(Domain.account_id == account.id)
    db.session.execute(delete(DomainContact).where(DomainContact.domain_id.in_(domain_ids)))
    db.session.execute(update(Domain).where(Domain.account_id == account.id)  # WHOIS changed
                       .values(updated_at=utcnow()))
    db.session.execute(delete(PaymentMethod).where(PaymentMethod.account_id == account.id))
    db.session.execute(delete(OutboxMessage).where(  # delivered or dead mail to the old address
        OutboxMessage.account_id == account.id, OutboxMessage.status != QUEUED))
    hook().panel_account_erasure(account=account, actor=actor)
    audit.record(AuditEvent("account.erase", actor=actor, account_id=account.id,
                            object=f"account {account.number}",
                            fields=["profile", "login", "domain contacts", "payment methods"]))
