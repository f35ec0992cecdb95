"""`panel mail inbound`: read mail sent to the panel (a Maildir or an mbox) and hand each
message to the plugins (panel_email_inbound), e.g. RFC 2369 mailto unsubscribe requests.

Messages are read, never deleted: processing is idempotent, and the mailbox stays the
operator's. Each message's outcome is reported by its Message-ID, never by its sender.
"""

from __future__ import annotations

import mailbox
from collections import Counter
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from panel.plugins import hook

MAX_MESSAGE_BYTES = 256 * 1024


def _messages(path: Path) -> Iterator[bytes]:
    if path.is_dir():
        box: mailbox.Mailbox = mailbox.Maildir(path, create=False)
    elif path.is_file():
        box = mailbox.mbox(path, create=False)
    else:
        raise FileNotFoundError(f"{path} is neither a Maildir folder nor an mbox file")
    for key in box.iterkeys():
        data = box.get_bytes(key)
        yield data[:MAX_MESSAGE_BYTES]


def process(path: Path, report: Callable[[str], None]) -> Counter[str]:
    """Handle every message; ``report`` gets one line per message."""
    parser = BytesParser(policy=policy.default)
    counts: Counter[str] = Counter()
    for data in _messages(path):
        message = parser.parsebytes(data)
        assert isinstance(message, EmailMessage)
        ident = str(message.get("Message-ID", "(no Message-ID)"))[:200]
        outcomes = [o for o in hook().panel_email_inbound(message=message) if o]
        outcome = outcomes[0] if outcomes else "ignored: no plugin handles this message"
        counts["done" if outcome.startswith("done") else "ignored"] += 1
        report(f"{ident}: {outcome}")
    return counts
