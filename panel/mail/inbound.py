"""`panel mail inbound`: read mail sent to the panel (a Maildir or an mbox) and hand each
message to the plugins (panel_email_inbound), e.g. RFC 2369 mailto unsubscribe requests.

Messages are never deleted (the mailbox stays the operator's), but each handled one is
flagged as read (Maildir "S", mbox "R") and skipped next time: replaying an old unsubscribe
would undo a later re-subscription. One message that fails is reported and the rest go on.
Each outcome is reported by its Message-ID, never by its sender.
"""

from __future__ import annotations

import mailbox
from collections import Counter
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from panel.extensions import db
from panel.hooks import hook

MAX_MESSAGE_BYTES = 256 * 1024


SEEN = {mailbox.MaildirMessage: "S", mailbox.mboxMessage: "R"}


def _open(path: Path) -> mailbox.Mailbox:
    if path.is_dir():
        return mailbox.Maildir(path, create=False)
    if path.is_file():
        return mailbox.mbox(path, create=False)
    raise FileNotFoundError(f"{path} is neither a Maildir folder nor an mbox file")


def _unread(box: mailbox.Mailbox) -> Iterator[tuple[str, mailbox.Message]]:
    for key in list(box.iterkeys()):
        stored = box.get_message(key)
        if SEEN[type(stored)] not in stored.get_flags():  # type: ignore[attr-defined]
            yield key, stored


def _handle(message: EmailMessage) -> str:
    try:
        outcomes = [o for o in hook().panel_email_inbound(message=message) if o]
    except Exception as exc:  # one bad message must not stop the others on every run
        db.session.rollback()
        return f"error: {type(exc).__name__}, left unread to try again"
    return outcomes[0] if outcomes else "ignored: no plugin handles this message"


def process(path: Path, report: Callable[[str], None]) -> Counter[str]:
    """Handle every unread message; ``report`` gets one line per message."""
    parser = BytesParser(policy=policy.default)
    counts: Counter[str] = Counter()
    box = _open(path)
    box.lock()
    try:
        for key, stored in _unread(box):
            message = parser.parsebytes(stored.as_bytes()[:MAX_MESSAGE_BYTES])
            assert isinstance(message, EmailMessage)
            ident = str(message.get("Message-ID", "(no Message-ID)"))[:200]
            outcome = _handle(message)
            kind = outcome.split(":", 1)[0]
            counts[kind if kind in ("done", "error") else "ignored"] += 1
            report(f"{ident}: {outcome}")
            if kind != "error":
                stored.add_flag(SEEN[type(stored)])  # type: ignore[attr-defined]
                if isinstance(stored, mailbox.MaildirMessage):
                    stored.set_subdir("cur")
                box[key] = stored
        box.flush()
    finally:
        box.unlock()
        box.close()
    return counts
