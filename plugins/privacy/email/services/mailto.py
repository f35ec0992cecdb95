"""Unsubscribe by email (RFC 2369 mailto), read by `panel mail inbound`.

The List-Unsubscribe mailto carries the message's one-click token in its subject. A request
is honoured only when the token is a one-click one (revoked or not: unsubscribing is always
safe) and the sender is the subscriber it belongs to; any other request is ignored and
reported (the report names no address).
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

from panel.crypto import normalise
from panel.extensions import db
from plugins.privacy.email.services import preferences as email_prefs
from plugins.privacy.email.services import unsubscribe
from plugins.privacy.email.services.unsubscribe import LinkError

TOKEN = re.compile(r"\bunsubscribe\s+([A-Za-z0-9_.\-]{10,300})", re.IGNORECASE)


def _same(a: str, b: str | None) -> bool:
    try:
        return bool(b) and normalise.email(a) == normalise.email(b or "")
    except ValueError:
        return False


def handle(message: EmailMessage) -> str | None:
    """The outcome, or None when the message was not sent to the unsubscribe address."""
    ours = unsubscribe.mailto_address()
    rcpts = [addr for _, addr in getaddresses(
        [str(v) for h in ("To", "Cc", "Delivered-To") for v in message.get_all(h, [])])]
    if not any(_same(addr, ours) for addr in rcpts):
        return None
    found = TOKEN.search(str(message.get("Subject", "")))
    if found is None:
        return "ignored: no unsubscribe link in the subject"
    try:
        link = unsubscribe.resolve_one_click(found.group(1))
    except LinkError as exc:
        kind = "not an unsubscribe link" if exc.kind == "not-one-click" else exc.kind
        return f"ignored: the link in the subject is {kind}"
    sender = parseaddr(str(message.get("From", "")))[1]
    user = link.account.user
    if user is None or not _same(sender, user.email):
        return "ignored: the sender is not the subscriber this link was sent to"
    assert link.category is not None  # resolve_one_click refuses a preference-centre link
    if email_prefs.category(link.category, link.account) is None:
        return "ignored: that kind of email is no longer sent to this subscriber"
    email_prefs.change(link.account, {link.category: False}, "mailto", actor=user)
    db.session.commit()
    return (f"done: account {link.account.number} unsubscribed from "
            f"{email_prefs.label_of(link.category)}")
