"""`panel mail`: deliver the outbox, put failed messages back in it, read inbound mail.

Every command here reads sealed fields, so each checks first that the master key opens the
key ring (needs_database): with a wrong key `send` would otherwise spend every due message's
attempts on decryption errors until they fail for good.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import click

from panel import audit
from panel.audit import AuditEvent
from panel.cliutil import needs_database
from panel.mail.dkim import DkimConfigError
from panel.mail.inbound import process
from panel.mail.models import OutboxMessage
from panel.mail.outbox import MailConfigError, RetryError, deliver_due, failed_ids, requeue


@click.group("mail")
def mail_group() -> None:
    """The mail outbox."""


@mail_group.command("send")
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True,
              help="Deliver at most this many messages in this run.")
@needs_database
def send(limit: int) -> None:
    """Deliver the messages that are due; safe to run while another run is going."""
    try:
        summary = deliver_due(limit=limit)
    except (MailConfigError, DkimConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(summary)


@mail_group.command("retry")
@click.option("--id", "ids", multiple=True, metavar="ID",
              help="A failed message to send again (repeat for several).")
@click.option("--all-failed", is_flag=True, help="Every failed message.")
@needs_database
def retry(ids: tuple[str, ...], all_failed: bool) -> None:
    """Put failed messages back in the queue: no attempts yet, due now (recorded on the trail).

    The next `panel mail send` or `panel cron` delivers them.
    """
    if bool(ids) == all_failed:
        raise click.UsageError("give either --id ID (one or more) or --all-failed")
    wanted = None
    if ids:
        wanted = []
        for given in dict.fromkeys(ids):
            try:
                wanted.append(uuid.UUID(given))
            except ValueError:
                raise click.BadParameter(f"{given!r} is not a message id; the outbox page "
                                         "(/admin/mail) shows each failed message's",
                                         param_hint="--id") from None

    def record(message: OutboxMessage) -> None:
        audit.record(AuditEvent("mail.retry", account_id=message.account_id,
                                object=f"mail {message.id}"))

    try:
        todo = failed_ids(wanted)
    except RetryError as exc:
        raise click.ClickException(str(exc)) from None
    done = 0
    if todo:
        with click.progressbar(length=len(todo), label="re-queueing", file=sys.stderr,
                               show_pos=True) as bar:
            done = requeue(todo, record, progress=bar.update)
    click.echo(f"re-queued {done} failed message(s); `panel mail send` delivers them"
               if done else "no failed messages to re-queue")


@mail_group.command("inbound")
@click.argument("mailbox", type=click.Path(exists=True, path_type=Path))
@needs_database
def inbound(mailbox: Path) -> None:
    """Process mail sent to the panel (e.g. mailto unsubscribes) from a Maildir or an mbox.

    Each message is reported on one line by its Message-ID; requests that cannot be honoured
    (a sender who is not the subscriber, a bad link) are ignored and reported.
    """
    counts = process(mailbox, click.echo)
    errors = f", failed {counts['error']} (left unread)" if counts['error'] else ""
    click.echo(f"processed {counts['done']}, ignored {counts['ignored']}{errors}")
