"""Admin views of the outbox and the local Maildir.

Admins only: the outbox shows who is being written to about what. The Maildir pages exist
only while PANEL_SMTP_URL is unset, which is when mail is delivered there.
"""

from __future__ import annotations

import mailbox
import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import select

from panel import audit
from panel.audit import AuditEvent
from panel.auth.access import role_required
from panel.auth.models import ADMIN
from panel.extensions import db
from panel.mail.models import OutboxMessage
from panel.mail.outbox import maildir_path, status_counts
from panel.paging import keyset

bp = Blueprint("admin_mail", __name__, url_prefix="/admin/mail")
PER_PAGE = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@bp.before_request
@role_required(ADMIN)
def _admin_only() -> None:
    return None


def _maildir_enabled() -> bool:
    return not current_app.config.get("SMTP_URL")


# A signed token acts for whoever holds it (one-click unsubscribe, the preference centre,
# approve access, confirm an email, accept an invitation): an admin reading the local Maildir
# must not be able to use a customer's, in a link, a mailto subject or any header. Every such
# token is itsdangerous's: [.]payload[.timestamp].signature, base64url, the signature at least
# 27 characters (an HMAC-SHA1; SHA-256 gives 43). "%20" precedes it in a mailto subject.
SIGNED_TOKEN = re.compile(r"(?:(?<=%20)|(?<![A-Za-z0-9_.%\-]))\.?[A-Za-z0-9_\-]+"
                          r"(?:\.[A-Za-z0-9_\-]+)?\.[A-Za-z0-9_\-]{27,}(?![A-Za-z0-9_\-])")
HIDDEN = "[link hidden: it acts for the recipient]"


@bp.route("/")
def index() -> Any:
    page = keyset(select(OutboxMessage), [OutboxMessage.created_at, OutboxMessage.id])
    return render_template("mail/outbox.html", page=page, counts=status_counts(),
                           maildir=_maildir_enabled())


def _maildir() -> mailbox.Maildir | None:
    if not _maildir_enabled():
        abort(404)
    path: Path = maildir_path()
    return mailbox.Maildir(path, create=False) if path.is_dir() else None


def hide_tokens(text: str) -> str:
    """The text with every signed token replaced; used for bodies and headers alike."""
    return SIGNED_TOKEN.sub(HIDDEN, text)


def _date(value: str | None) -> datetime:
    try:
        parsed = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        parsed = None
    if parsed is None:
        return _EPOCH
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@bp.route("/maildir")
def maildir() -> Any:
    box = _maildir()
    rows = []
    for key in box.keys() if box is not None else []:
        try:
            with box.get_file(key) as fh:  # type: ignore[union-attr]
                head = BytesHeaderParser(policy=policy.default).parse(fh)  # type: ignore[arg-type]
        except (KeyError, OSError):  # removed while we were reading
            continue
        rows.append({"key": key, "from": hide_tokens(str(head.get("From", ""))),
                     "to": hide_tokens(str(head.get("To", ""))),
                     "subject": hide_tokens(str(head.get("Subject", ""))),
                     "date": _date(head.get("Date"))})
    rows.sort(key=lambda r: (r["date"], r["key"]), reverse=True)
    pages = max((len(rows) + PER_PAGE - 1) // PER_PAGE, 1)
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    return render_template("mail/maildir.html", rows=rows[(page - 1) * PER_PAGE:page * PER_PAGE],
                           total=len(rows), page=page, pages=pages, path=maildir_path())


@bp.route("/maildir/<key>")
def maildir_message(key: str) -> Any:
    box = _maildir()
    if box is None:
        abort(404)
    try:
        with box.get_file(key) as fh:
            mail = BytesParser(policy=policy.default).parse(fh)  # type: ignore[arg-type]
    except (KeyError, OSError):
        abort(404)
    assert isinstance(mail, EmailMessage)
    part = mail.get_body(preferencelist=("plain",))
    text = None
    if part is not None:
        try:
            text = part.get_content()
        except (LookupError, ValueError):  # an unknown charset: show it undecoded
            payload = part.get_payload(decode=True)
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else None
    # an admin reading a customer's mail is a staff view of customer data: on the trail
    audit.record(AuditEvent("mail.read", actor=current_user, object=f"maildir message {key}"[:255]))
    db.session.commit()
    if text:
        text = hide_tokens(text)
    return render_template("mail/maildir_message.html", key=key,
                           headers=[(name, hide_tokens(str(value))) for name, value in mail.items()],
                           text=text, has_html=mail.get_body(preferencelist=("html",)) is not None)
