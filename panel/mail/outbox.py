"""Queueing and delivering mail.

Nothing is sent where it is written: ``queue`` only adds a row, and ``deliver_due`` (run by
`panel mail send` and `panel cron`) sends it later. That keeps a slow or broken mail server out
of web requests, lets the pre-send hook decide at delivery time (preferences may change in
between), and means a failed delivery waits in the table with its error instead of vanishing.

Delivery is at least once, never twice at the same time: each message is claimed in its own
committed transaction before it is sent, so concurrent runs skip it. Only a process killed
between the server accepting a message and the commit of "sent" can repeat it, after the
claim expires; the Message-ID is the outbox id, so the repeat is recognisably the same mail.
"""

from __future__ import annotations

import mailbox
import re
import smtplib
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email import policy as email_policy
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, select, update

from panel.db_types import utcnow
from panel.extensions import db
from panel.hooks import hook
from panel.mail.dkim import check_key, sign
from panel.mail.models import (
    FAILED,
    QUEUED,
    SENT,
    SUPPRESSED,
    TRANSACTIONAL,
    TRANSACTIONAL_CATEGORIES,
    OutboxMessage,
)

MAX_BODY_BYTES = 1024 * 1024
MAX_SUBJECT_CHARS = 255
FROM_NAME_HEADER = "X-Panel-From-Name"  # the From display name of a reseller's own mail; not sent
MAX_RETRY_DELAY = timedelta(days=1)
#: How long a claimed message is left alone if its sender dies mid-delivery.
CLAIM_SECONDS = 900
SMTP_TIMEOUT = 10
ERROR_CHARS = 300
#: Set by the delivery itself; a stored or hook-added header may not replace them.
RESERVED_HEADERS = frozenset({"from", "to", "cc", "bcc", "subject", "date", "message-id",
                              "sender", "reply-to", "content-type",
                              "content-transfer-encoding", "mime-version"})
_HEADER_NAME = re.compile(r"^[!-9;-~]{1,76}$")  # RFC 5322 field name: printable ASCII but ':'
_CATEGORY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_ADDRESS = re.compile(r"[^\s<>\"'(),;:@]+@[^\s<>\"'(),;:]+")
#: Headers that carry URIs or ids (RFC 2369, RFC 8058, RFC 2919, RFC 5322): a receiver reads
#: them as written, so they are never RFC 2047-encoded, only folded between list items.
STRUCTURED_HEADERS = frozenset({"message-id", "list-id", "list-unsubscribe",
                                "list-unsubscribe-post", "list-help", "list-subscribe",
                                "list-post", "list-owner", "list-archive"})
FOLD_AT = 78  # RFC 5322 2.1.1: lines SHOULD be at most 78 characters ...
MAX_LINE = 998  # ... and MUST be at most 998
_LIST_ITEM_BREAK = re.compile(r"(?<=,)\s+")


class MailConfigError(ValueError):
    """PANEL_SMTP_URL cannot be used; the message says why (never the password)."""


def fold_structured(name: str, value: str, linesep: str = "\r\n") -> str:
    """``Name: value`` folded only at the whitespace after a comma (between URIs), never
    encoded. The default email policy encodes any word longer than a line, and a ~100-character
    unsubscribe token is one: a receiver that does not decode this field then finds no link."""
    if not value.isascii():
        raise ValueError(f"the {name} header must be ASCII: percent-encode the URIs in it")
    lines = [f"{name}:"]
    for item in _LIST_ITEM_BREAK.split(" ".join(value.split())):
        if len(lines[-1]) + 1 + len(item) > FOLD_AT and lines[-1] != f"{name}:":
            lines.append("")
        lines[-1] += " " + item
        if len(lines[-1]) > MAX_LINE:
            raise ValueError(f"the {name} header has an item too long for one line of mail "
                             f"({MAX_LINE} characters at most)")
    return linesep.join(lines) + linesep


class _StructuredHeader(UnstructuredHeader):
    """What the outgoing policy makes of a STRUCTURED_HEADERS field: written as given."""
    max_count = 1

    def fold(self, *, policy: email_policy.Policy) -> str:  # type: ignore[override]
        return fold_structured(self.name, str(self), policy.linesep)


def _outgoing_policy() -> email_policy.EmailPolicy:
    registry = HeaderRegistry()
    for name in STRUCTURED_HEADERS:
        registry.map_to_type(name, _StructuredHeader)
    return email_policy.default.clone(header_factory=registry)


#: The policy every message is built with; the transports and the DKIM signer write with it.
OUTGOING = _outgoing_policy()


# --- queueing ---------------------------------------------------------------------------------


def check_header(name: str, value: str) -> None:
    """Refuse header injection and overriding the headers the outbox sets itself."""
    if not isinstance(name, str) or not _HEADER_NAME.match(name):
        raise ValueError(f"{name!r} is not a valid mail header name")
    if name.lower() in RESERVED_HEADERS:
        raise ValueError(f"the {name} header is set by the outbox and cannot be given")
    if not isinstance(value, str) or "\r" in value or "\n" in value:
        raise ValueError(f"the {name} header must be a single line of text")
    if name.lower() in STRUCTURED_HEADERS:
        fold_structured(name, value)  # refuses what could not go out unencoded


def queue(*, to: str, subject: str, body: str, category: str = TRANSACTIONAL,
          account_id: uuid.UUID | None = None,
          headers: dict[str, str] | None = None) -> OutboxMessage:
    """Add a message to the outbox (the caller commits, with the change that caused it).

    Everything that would make the message undeliverable is refused here, with ValueError,
    so the mistake surfaces where it was made rather than as a retrying outbox row.
    """
    if not isinstance(subject, str) or "\r" in subject or "\n" in subject:
        raise ValueError("the subject must be a single line: it contains a line break")
    if len(subject) > MAX_SUBJECT_CHARS:
        raise ValueError(f"the subject is longer than {MAX_SUBJECT_CHARS} characters")
    if not isinstance(category, str) or not _CATEGORY.match(category):
        raise ValueError(f"{category!r} is not a mail category (lower-case letters, digits, "
                         "'_', '-', '.')")
    size = len(body.encode("utf-8"))
    if size > MAX_BODY_BYTES:
        raise ValueError(f"the message body is {size} bytes; the outbox accepts at most "
                         f"{MAX_BODY_BYTES} bytes (1 MiB)")
    try:
        # test_environment admits the reserved .test domain (`panel demo` people live there);
        # it adds no DNS lookup, and other special-use names (localhost, .invalid) stay refused
        address = validate_email(to, check_deliverability=False,
                                 test_environment=True).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"the recipient is not a valid email address: {exc}") from None
    extra = dict(headers or {})
    for name, value in extra.items():
        check_header(name, value)
    message = OutboxMessage(id=uuid.uuid4(), category=category, account_id=account_id,
                            subject=subject, headers=extra, status=QUEUED, attempts=0,
                            next_attempt_at=utcnow(), created_at=utcnow())
    message.to_addr = address
    message.body = body
    db.session.add(message)
    return message


# --- transports -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpSettings:
    """``smtp://[user:pass@]host[:port][?starttls=1]`` or ``smtps://...``.

    Default ports: 465 for smtps, 587 for smtp with STARTTLS, 25 for plain smtp.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise MailConfigError("PANEL_SMTP_URL must start with smtp:// or smtps://")
    try:
        port = parts.port
    except ValueError:
        raise MailConfigError("PANEL_SMTP_URL has an invalid port") from None
    if not parts.hostname:
        raise MailConfigError("PANEL_SMTP_URL names no host")
    flag = parse_qs(parts.query).get("starttls", ["0"])[-1].lower()
    starttls = flag in ("1", "true", "yes", "on")
    implicit = parts.scheme == "smtps"
    if implicit and starttls:
        raise MailConfigError("PANEL_SMTP_URL: smtps:// is already TLS; drop ?starttls=1")
    default_port = 465 if implicit else 587 if starttls else 25
    return SmtpSettings(
        host=parts.hostname, port=port or default_port, implicit_tls=implicit,
        starttls=starttls, username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None)


class _Stop(Exception):
    """The transport itself is broken: no point trying the rest of the batch."""


class SmtpTransport:
    """One connection reused for a batch; reopened after any error that may have broken it."""
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        conn: smtplib.SMTP
        if s.implicit_tls:
            conn = smtplib.SMTP_SSL(s.host, s.port, timeout=SMTP_TIMEOUT, context=context)
        else:
            conn = smtplib.SMTP(s.host, s.port, timeout=SMTP_TIMEOUT)
        try:
            conn.ehlo()
            if s.starttls:
                conn.starttls(context=context)
                conn.ehlo()
            if s.username:
                conn.login(s.username, s.password or "")
        except BaseException:
            _close(conn)
            raise
        return conn

    def send(self, message: EmailMessage | bytes, sender: str, recipient: str) -> None:
        if self.conn is None:
            try:
                self.conn = self._connect()
            except (OSError, smtplib.SMTPException) as exc:
                raise _Stop() from exc
        try:
            if isinstance(message, bytes):  # DKIM-signed: sent byte for byte
                self.conn.sendmail(sender, [recipient], message)
            else:
                self.conn.send_message(message, from_addr=sender, to_addrs=[recipient])
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                smtplib.SMTPDataError, smtplib.SMTPNotSupportedError) as exc:
            if getattr(exc, "smtp_code", None) == 421:  # the server is closing the session
                self.close()
                raise _Stop() from exc
            raise  # only this message was refused; smtplib has reset the session
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise _Stop() from exc

    def close(self) -> None:
        if self.conn is not None:
            _close(self.conn)
            self.conn = None


def _close(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (OSError, smtplib.SMTPException):
        conn.close()


class MaildirTransport:
    """Without PANEL_SMTP_URL mail lands in instance/mail/, readable under /admin/mail."""
    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, message: EmailMessage | bytes, sender: str, recipient: str) -> None:
        try:
            mailbox.Maildir(self.path, create=True).add(message)
        except OSError as exc:
            raise _Stop() from exc

    def close(self) -> None:
        return None


def maildir_path() -> Path:
    return Path(current_app.instance_path) / "mail"


def transport() -> SmtpTransport | MaildirTransport:
    url = current_app.config.get("SMTP_URL")
    return SmtpTransport(parse_smtp_url(url)) if url else MaildirTransport(maildir_path())


# --- delivery ---------------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off from MAIL_RETRY_SECONDS, never more than a day."""
    base = int(current_app.config["MAIL_RETRY_SECONDS"])
    seconds = base * 2 ** min(max(attempts - 1, 0), 30)
    return min(timedelta(seconds=seconds), MAX_RETRY_DELAY)


def short_error(exc: BaseException, recipient: str | None = None) -> str:
    """One line for the admin list: what went wrong, never the message nor an address."""
    if isinstance(exc, _Stop) and exc.__cause__ is not None:
        exc = exc.__cause__
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()), (0, b""))
        text = f"recipient refused: {code} {_decode(reply)}"
    elif isinstance(exc, smtplib.SMTPResponseException):
        text = f"{type(exc).__name__}: {exc.smtp_code} {_decode(exc.smtp_error)}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    if recipient:
        text = re.sub(re.escape(recipient), "<recipient>", text, flags=re.IGNORECASE)
    text = _ADDRESS.sub("<address>", text)
    text = " ".join(text.split())
    return text if len(text) <= ERROR_CHARS else text[:ERROR_CHARS - 1] + "…"


def _decode(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def build(message: OutboxMessage, headers: dict[str, str],
          footers: list[str] | None = None) -> EmailMessage:
    """The message as sent. The outbox id is the Message-ID, so a repeat is recognisable.
    ``footers`` (from panel_email_footer) go under a signature separator, added per delivery."""
    sender = current_app.config["MAIL_FROM"]
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    if not domain.isascii():  # the Message-ID is never encoded: an IDN goes as A-labels
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            domain = "localhost"
    mail = EmailMessage(policy=OUTGOING)
    from_name = headers.get(FROM_NAME_HEADER)
    if from_name:  # a reseller writing to its own customers signs with its brand (P25)
        check_header(FROM_NAME_HEADER, from_name)
        sender = formataddr((from_name, parseaddr(sender)[1]))
    mail["From"] = sender
    mail["To"] = message.to_addr or ""
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(message.created_at)
    mail["Message-ID"] = f"<{message.id}@{domain}>"
    for name, value in headers.items():
        if name == FROM_NAME_HEADER:
            continue
        check_header(name, value)
        mail[name] = value
    body = message.body or ""
    if footers:
        body = body.rstrip("\n") + "\n\n-- \n" + "\n".join(footers) + "\n"
    mail.set_content(body)
    return mail


def _claim(message_id: uuid.UUID, seen_attempts: int) -> bool:
    """Take the message for this run in a committed transaction; False when another run has.

    The conditional UPDATE is atomic on every backend (PostgreSQL re-checks the WHERE after a
    concurrent update commits; SQLite serialises writers), so exactly one run wins.
    """
    now = utcnow()
    lease = max(retry_delay(seen_attempts + 1), timedelta(seconds=CLAIM_SECONDS))
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == QUEUED,
               OutboxMessage.attempts == seen_attempts, OutboxMessage.next_attempt_at <= now)
        .values(attempts=OutboxMessage.attempts + 1, next_attempt_at=now + lease)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1  # type: ignore[attr-defined]


def _pre_send(message: OutboxMessage, headers: dict[str, str]) -> str | None:
    for reason in hook().panel_email_pre_send(message=message, headers=headers):
        if reason is not None:
            return str(reason)[:500] or "suppressed"
    if message.category not in TRANSACTIONAL_CATEGORIES and "List-Unsubscribe" not in headers:
        # Nothing checked the recipient's preference (e.g. the privacy plugin is off): a
        # non-transactional message never goes out unchecked and without its unsubscribe link.
        return "no active plugin checked the email preference or added an unsubscribe link"
    return None


@dataclass
class Summary:
    sent: int = 0
    suppressed: int = 0
    failed: int = 0
    retrying: int = 0
    stopped: str | None = None

    def __str__(self) -> str:
        text = (f"sent {self.sent}, suppressed {self.suppressed}, failed {self.failed}, "
                f"retrying {self.retrying}")
        return f"{text}; stopped early: {self.stopped}" if self.stopped else text


def deliver_due(limit: int = 200) -> str:
    """Deliver up to ``limit`` due messages, committing each outcome on its own.

    A transport that is down (connection refused, disk full) ends the batch after recording
    the failure once: the rest stay due, untouched, for the next run.
    """
    out = transport()  # a bad PANEL_SMTP_URL raises here, before any message is touched

    check_key()  # and so does an unusable PANEL_DKIM_KEY
    max_attempts = int(current_app.config["MAIL_MAX_ATTEMPTS"])
    sender = parseaddr(current_app.config["MAIL_FROM"])[1]
    due = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.attempts)
        .where(OutboxMessage.status == QUEUED, OutboxMessage.next_attempt_at <= utcnow())
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.created_at)
        .limit(limit)).all()
    summary = Summary()
    try:
        for message_id, attempts in due:
            if not _claim(message_id, attempts):
                continue
            message = db.session.get(OutboxMessage, message_id)
            if message is None:  # deleted (e.g. by an erasure) after it was claimed
                continue
            _deliver_one(message, out, sender, max_attempts, summary)
            if summary.stopped:
                break
    finally:
        out.close()
    return str(summary)


def _deliver_one(message: OutboxMessage, out: SmtpTransport | MaildirTransport, sender: str,
                 max_attempts: int, summary: Summary) -> None:
    recipient = None
    try:
        recipient = message.to_addr
        headers = dict(message.headers or {})
        reason = _pre_send(message, headers)
        if reason is not None:
            message.status, message.suppressed_reason = SUPPRESSED, reason
            message.attempts = max(message.attempts - 1, 0)  # nothing was attempted
            db.session.commit()
            summary.suppressed += 1
            return
        footers = [f for f in hook().panel_email_footer(message=message) if f]
        out.send(_signed(build(message, headers, footers)), sender, recipient or "")
    except Exception as exc:  # noqa: BLE001 - any failure keeps the message, with its error
        db.session.rollback()
        _record_failure(message, exc, recipient, max_attempts, summary)
        if isinstance(exc, _Stop):
            summary.stopped = message.last_error
        return
    message.status, message.sent_at, message.last_error = SENT, utcnow(), None
    db.session.commit()
    summary.sent += 1


def _signed(mail: EmailMessage) -> EmailMessage | bytes:
    """DKIM-signed bytes when PANEL_DKIM_KEY is set, else the message as built."""
    if not current_app.config.get("DKIM_KEY"):
        return mail

    return sign(mail)


def _record_failure(message: OutboxMessage, exc: BaseException, recipient: str | None,
                    max_attempts: int, summary: Summary) -> None:
    message.last_error = short_error(exc, recipient)
    if message.attempts >= max_attempts:
        message.status = FAILED
        summary.failed += 1
    else:
        message.next_attempt_at = utcnow() + retry_delay(message.attempts)
        summary.retrying += 1
    db.session.commit()
    current_app.logger.warning("mail %s not delivered (attempt %d): %s", message.id,
                               message.attempts, message.last_error)


class RetryError(ValueError):
    """A message named for a retry is not there or did not fail; the message says which."""


#: Messages put back per transaction by `panel mail retry --all-failed`.
RETRY_BATCH = 500


def failed_ids(ids: list[uuid.UUID] | None = None) -> list[uuid.UUID]:
    """The failed messages to retry: ``ids``, each of which must exist and have failed (else
    RetryError, before anything changes), or with ``None`` every failed message."""
    if ids is None:
        return list(db.session.scalars(select(OutboxMessage.id)
                                       .where(OutboxMessage.status == FAILED)
                                       .order_by(OutboxMessage.created_at)))
    found = dict(db.session.execute(select(OutboxMessage.id, OutboxMessage.status)
                                    .where(OutboxMessage.id.in_(ids))).all())
    for message_id in ids:
        if message_id not in found:
            raise RetryError(f"no message in the outbox has the id {message_id}")
        if found[message_id] != FAILED:
            raise RetryError(f"message {message_id} is {found[message_id]}, not failed: "
                             "only failed messages can be retried")
    return list(ids)


def requeue(ids: list[uuid.UUID], record: Callable[[OutboxMessage], None],
            progress: Callable[[int], None] | None = None) -> int:
    """Put failed messages back in the queue, due now with no attempts; returns how many.

    ``record`` puts each on the trail in the same transaction as its change. Batches commit
    on their own so a large outbox never holds one long transaction; ``progress`` hears how
    many each batch put back. A message no longer failed (another retry won) is skipped.
    """
    done = 0
    for start in range(0, len(ids), RETRY_BATCH):
        batch = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.id.in_(ids[start:start + RETRY_BATCH]),
                                        OutboxMessage.status == FAILED)
            .with_for_update()).all()
        for message in batch:
            message.status, message.attempts, message.next_attempt_at = QUEUED, 0, utcnow()
            record(message)
        db.session.commit()
        done += len(batch)
        if progress:
            progress(len(ids[start:start + RETRY_BATCH]))
    return done


def status_counts() -> dict[str, int]:
    """How many messages are in each state, for the admin outbox page."""
    rows = db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    return {status: count for status, count in rows}
