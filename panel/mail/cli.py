"""`panel mail`: deliver the outbox."""

from __future__ import annotations

import click


@click.group("mail")
def mail_group() -> None:
    """The mail outbox."""
