"""The WHOIS contact relay (P19): anyone can write to a private domain's registrant without
learning the address, and the registrant can answer without revealing theirs.

The message goes through the outbox in its own category (``whois_relay``); the registrant's
switch is checked again at delivery. The sender's address is sealed and kept only so the
registrant can answer through the panel; the whole message is deleted after
RETENTION_RELAY_SENDER_DAYS (30) by `panel cron`.
"""

from __future__ import annotations

import re
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from panel import audit
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.db_types import utcnow
from panel.domains.models import Domain
from panel.extensions import db
from panel.mail.models import OutboxMessage
from panel.mail.outbox import queue
from panel.urls import external_url
from plugins.privacy.whois.models import DomainRelay, RelayMessage

CATEGORY = "whois_relay"
DOMAIN_HEADER = "X-Whois-Relay-Domain"
DEFAULT_DAYS = 30
MAX_LINKS = 2
MIN_WORDS = 4
_LINK = re.compile(r"(?i)\b(?:https?://|www\.)\S+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}/\S*")
_WORD = re.compile(r"[^\W\d_]{2,}")


class RelayError(ValueError):
    """The message cannot be relayed; the message says why."""


def keep_days() -> int:
    return int(current_app.config.get("RETENTION_RELAY_SENDER_DAYS", DEFAULT_DAYS))


def enabled(domain: Domain) -> bool:
    row = db.session.get(DomainRelay, domain.id)
    return True if row is None else bool(row.enabled)


def set_enabled(domain: Domain, on: bool, actor: User | None) -> bool:
    if enabled(domain) == on:
        return False
    row = db.session.get(DomainRelay, domain.id) or DomainRelay(domain_id=domain.id)
    row.enabled = on
    db.session.add(row)
    audit.record(AuditEvent(f"whois.relay_{'on' if on else 'off'}", actor=actor,
                            account_id=domain.account_id,
                            object=f"domain {domain.name} contact relay", fields=["relay"]))
    db.session.commit()
    return True


def spam_reason(body: str) -> str | None:
    """Links-only or link-stuffed messages are refused; real messages have words."""
    links = _LINK.findall(body)
    words = _WORD.findall(_LINK.sub(" ", body))
    if len(links) > MAX_LINKS:
        return f"Messages may contain at most {MAX_LINKS} links."
    if links and len(words) < MIN_WORDS * 2:
        return "Write a few sentences saying why you are contacting the registrant; " \
               "a message that is mostly links is not relayed."
    if len(words) < MIN_WORDS:
        return f"Write at least {MIN_WORDS} words saying why you are contacting the registrant."
    return None


def _registrant_email(domain: Domain) -> str | None:
    contact = domain.contact("registrant")
    if contact is not None and contact.email:
        return contact.email
    user = domain.account.user if domain.account else None
    return user.email if user else None


def send(domain: Domain, sender_name: str, sender_email: str, body: str) -> RelayMessage:
    if not domain.privacy_enabled:
        raise RelayError("This domain's contact data is published in WHOIS: write to the "
                         "registrant directly.")
    if not enabled(domain):
        raise RelayError("The registrant of this domain does not accept messages through "
                         "this form.")
    reason = spam_reason(body)
    if reason:
        raise RelayError(reason)
    to = _registrant_email(domain)
    if not to:
        raise RelayError("The registrant cannot be reached through this form at the moment.")
    now = utcnow()
    message = RelayMessage(domain_id=domain.id, account_id=domain.account_id,
                           sender_name=sender_name, sender_email=sender_email, body=body,
                           created_at=now, expires_at=now + timedelta(days=keep_days()))
    db.session.add(message)
    db.session.flush()
    reply = external_url("privacy_whois_client.relay_reply", domain_id=domain.id,
                         message_id=message.id)
    page = external_url("client.domain", domain_id=domain.id)
    text = "\n".join([
        f"Someone wrote to you about {domain.name} through the WHOIS contact form.",
        "Your email address was not shown to them.", "",
        f"From: {sender_name}", "", body, "",
        f"To answer without revealing your address, reply in the panel within {keep_days()} "
        f"days: {reply}",
        f"You can switch these messages off on the domain's page: {page}"])
    queue(to=to, subject=f"WHOIS contact form: a message about {domain.name}", body=text,
          category=CATEGORY, account_id=domain.account_id, headers={DOMAIN_HEADER: domain.name})
    audit.record(AuditEvent("whois.relay_message", actor=None, account_id=domain.account_id,
                            object=f"domain {domain.name} contact relay message"))
    db.session.commit()
    return message


def reply(message: RelayMessage, domain: Domain, user: User, text: str) -> None:
    """The registrant answers; the sender sees the panel's address, never the registrant's."""
    if message.expires_at <= utcnow() or not message.sender_email:
        raise RelayError("This message is too old to answer: the sender's address was deleted.")
    body = "\n".join([f"The registrant of {domain.name} answered your message sent through the "
                      "WHOIS contact form:", "", text, "",
                      "This answer was relayed by the privacy service; the registrant's "
                      "address is not shown. Write again through the form to answer."])
    queue(to=message.sender_email, subject=f"Answer from the registrant of {domain.name}",
          body=body)
    message.replied_at = utcnow()
    audit.record(AuditEvent("whois.relay_reply", actor=user, account_id=domain.account_id,
                            object=f"domain {domain.name} contact relay message"))
    db.session.commit()


def messages(domain: Domain, limit: int = 20) -> list[RelayMessage]:
    return list(db.session.execute(
        select(RelayMessage).where(RelayMessage.domain_id == domain.id)
        .order_by(RelayMessage.created_at.desc()).limit(limit)).scalars())


def suppress_reason(message: OutboxMessage, headers: dict[str, str]) -> str | None:
    """At delivery: the registrant may have switched the relay off since the message came."""
    if message.category != CATEGORY:
        return None
    name = (message.headers or {}).get(DOMAIN_HEADER)
    domain = db.session.execute(select(Domain).where(Domain.name == name)).scalar_one_or_none()
    if domain is None:
        return "the domain is no longer registered here"
    if not enabled(domain):
        return "the registrant switched off messages from the WHOIS contact form"
    # RFC 2369: where the recipient stops these messages (the switch on the domain's page)
    headers["List-Unsubscribe"] = f"<{external_url('client.domain', domain_id=domain.id)}>"
    return None
