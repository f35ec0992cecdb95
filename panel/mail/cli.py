"""`panel mail`: deliver the outbox."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from panel.mail.dkim import DkimConfigError
from panel.mail.inbound import process
from panel.mail.outbox import MailConfigError, deliver_due


@click.group("mail")
def mail_group() -> None:
    """The mail outbox."""


@mail_group.command("send")
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True,
              help="Deliver at most this many messages in this run.")
@with_appcontext
def send(limit: int) -> None:
    """Deliver the messages that are due; safe to run while another run is going."""
    try:
        summary = deliver_due(limit=limit)
    except (MailConfigError, DkimConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(summary)


@mail_group.command("inbound")
@click.argument("mailbox", type=click.Path(exists=True, path_type=Path))
@with_appcontext
def inbound(mailbox: Path) -> None:
    """Process mail sent to the panel (e.g. mailto unsubscribes) from a Maildir or an mbox.

    Each message is reported on one line by its Message-ID; requests that cannot be honoured
    (a sender who is not the subscriber, a bad link) are ignored and reported.
    """
    counts = process(mailbox, click.echo)
    errors = f", failed {counts['error']} (left unread)" if counts['error'] else ""
    click.echo(f"processed {counts['done']}, ignored {counts['ignored']}{errors}")
