"""Newsletters to a category (P13, P27): staff for the house, resellers for their own customers.

Only consenting, unrestricted recipients are queued, in bulk (one multi-row INSERT per batch;
each row still gets its own sealed recipient and body). Consent is checked again by the
pre-send hook at delivery, which also gives each message its own unsubscribe link, so a
subscriber who says no between queueing and sending gets nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update

from panel import audit
from panel.accounts.models import CLOSED, Account
from panel.audit import AuditEvent
from panel.auth.models import RESELLER, User
from panel.crypto.keyring import current_holder
from panel.db_types import utcnow
from panel.extensions import db
from panel.mail.models import QUEUED, OutboxMessage
from panel.reseller.branding import mail_branding
from plugins.privacy.email.models import SENT, Campaign, CampaignMessage
from plugins.privacy.email.services import preferences as email_prefs
from plugins.privacy.email.services.preferences import Category

BATCH = 5000
MAX_BODY_CHARS = 100_000


class CampaignError(ValueError):
    """A campaign that cannot be written or sent; the message is for its author."""


def categories(user: User) -> list[Category]:
    """What ``user`` may send: staff the house's marketing, a reseller its own category."""
    if user.role == RESELLER:
        cat = email_prefs.category(email_prefs.reseller_category(user.id))
        return [cat] if cat else []
    return [c for c in email_prefs.HOUSE if c.marketing]


def scoped(user: User):  # noqa: ANN201 - a Select
    query = select(Campaign).order_by(Campaign.created_at.desc())
    if user.role == RESELLER:
        return query.where(Campaign.reseller_id == user.id)
    return query.where(Campaign.reseller_id.is_(None))


def create(author: User, *, category: str, subject: str, body: str) -> Campaign:
    if category not in {c.key for c in categories(author)}:
        raise CampaignError("Choose one of the categories you may send to.")
    if not subject.strip() or "\n" in subject or "\r" in subject or len(subject) > 255:
        raise CampaignError("The subject must be one line of at most 255 characters.")
    if not body.strip() or len(body) > MAX_BODY_CHARS:
        raise CampaignError(f"Write the newsletter (at most {MAX_BODY_CHARS:,} characters).")
    campaign = Campaign(id=uuid.uuid4(), category=category, subject=subject.strip(), body=body,
                        author_id=author.id,
                        reseller_id=author.id if author.role == RESELLER else None)
    db.session.add(campaign)
    db.session.commit()
    return campaign


@dataclass
class Audience:
    recipients: list[tuple[uuid.UUID, str]]  # account id, sealed email as stored on the user
    user_ids: list[uuid.UUID]
    skipped: int


def audience(campaign: Campaign) -> Audience:
    """Every account of the campaign's owner whose preference and processing allow it."""
    cat = email_prefs.category(campaign.category)
    if cat is None:
        raise CampaignError("This campaign's category no longer exists.")
    owner = Account.reseller_id == campaign.reseller_id if campaign.reseller_id else \
        Account.reseller_id.is_(None)
    rows = db.session.execute(
        select(Account.id, User.id, User._email).join(User, User.account_id == Account.id)
        .where(owner, Account.status != CLOSED, User.active.is_(True),
               User._email.is_not(None))).all()
    wanted = email_prefs.eligible(campaign.category, [a for a, _, _ in rows])
    chosen, users, skipped = [], [], 0
    for account_id, user_id, sealed in rows:
        if account_id not in wanted:
            skipped += 1
            continue
        chosen.append((account_id, sealed))
        users.append(user_id)
    return Audience(chosen, users, skipped)


def send(campaign: Campaign, actor: User,
         progress: Callable[[int, int], None] | None = None) -> Campaign:
    """Queue the campaign once, to its consenting audience."""
    now = utcnow()
    claimed = db.session.execute(  # a double click or a second tab must not send it twice
        update(Campaign).where(Campaign.id == campaign.id, Campaign.status != SENT)
        .values(status=SENT, sent_at=now).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise CampaignError("This campaign was already sent.")
    crowd = audience(campaign)
    headers, footer = _branding(campaign)
    body = campaign.body.rstrip("\n") + "\n" + footer if footer else campaign.body
    ring = current_holder().get()
    email_aad = User.email.aad  # type: ignore[attr-defined]
    to_aad, body_aad = OutboxMessage.to_addr.aad, OutboxMessage.body.aad  # type: ignore[attr-defined]
    total = len(crowd.recipients)
    for start in range(0, total, BATCH):
        outbox, links = [], []
        for (account_id, sealed), user_id in zip(crowd.recipients[start:start + BATCH],
                                                 crowd.user_ids[start:start + BATCH], strict=True):
            message_id = uuid.uuid4()
            address = ring.open(sealed, email_aad(user_id))
            outbox.append({"id": message_id, "category": campaign.category,
                           "account_id": account_id, "to_addr": ring.seal(address, to_aad(message_id)),
                           "subject": campaign.subject,
                           "body": ring.seal(body, body_aad(message_id)), "headers": headers,
                           "status": QUEUED, "attempts": 0, "next_attempt_at": now,
                           "created_at": now})
            links.append({"outbox_id": message_id, "campaign_id": campaign.id})
        db.session.execute(insert(OutboxMessage.__table__), outbox)
        db.session.execute(insert(CampaignMessage.__table__), links)
        if progress:
            progress(min(start + BATCH, total), total)
    campaign.status, campaign.sent_at = SENT, now
    campaign.queued, campaign.skipped = total, crowd.skipped
    audit.record(AuditEvent("campaign.send", actor=actor, object=f"campaign {campaign.id} "
                            f"({campaign.category}): {total} queued, {crowd.skipped} not consenting"))
    db.session.commit()
    return campaign


def _branding(campaign: Campaign) -> tuple[dict[str, str], str]:
    """A reseller's newsletter carries its brand (From name and footer); the house's none."""
    if not campaign.category.startswith(email_prefs.RESELLER_PREFIX):
        return {}, ""
    return mail_branding(uuid.UUID(campaign.category[len(email_prefs.RESELLER_PREFIX):]))


def report(campaign: Campaign) -> dict[str, int]:
    """Queued, suppressed (at queueing or delivery), delivered and failed, from the outbox."""
    counts = dict(db.session.execute(
        select(OutboxMessage.status, func.count()).join(
            CampaignMessage, CampaignMessage.outbox_id == OutboxMessage.id)
        .where(CampaignMessage.campaign_id == campaign.id).group_by(OutboxMessage.status)).all())
    return {"queued": campaign.queued, "waiting": counts.get("queued", 0),
            "not_consenting": campaign.skipped,
            "suppressed": counts.get("suppressed", 0), "delivered": counts.get("sent", 0),
            "failed": counts.get("failed", 0)}
