"""`panel user reset`: a reset link from the shell, for when no admin can sign in."""

from __future__ import annotations

import click
from sqlalchemy import select

from panel.auth.models import User
from panel.cliutil import needs_database
from panel.extensions import db
from panel.password_reset import services


@click.command("reset")
@click.option("--email", required=True)
@click.option("--second-factor", is_flag=True,
              help="Also turn off two-step sign-in (set up again at the next sign-in).")
@needs_database
def user_reset(email: str, second_factor: bool) -> None:
    """Print a reset link (one use, one hour) for any active user; nothing is mailed, so hand
    it over yourself. Recorded on the audit trail."""
    user = db.session.execute(select(User).where(User.email.matches(email))).scalar_one_or_none()
    if user is None:
        raise click.UsageError(f"no user has the email {email}")
    try:
        link = services.operator_link(user, second_factor=second_factor)
    except services.NotAllowed as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"reset link for {user.role} {email}, valid once for one hour:\n{link}")
    if second_factor:
        click.echo("two-step sign-in is off; it is set up again at the next sign-in"
                   + (" (required for this role)" if user.role != "subscriber" else ""))
