"""`panel user`: create, suspend and reinstate the people who sign in."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from panel import audit
from panel.accounts.services import create_subscriber
from panel.auth.models import RESELLER, User
from panel.auth.passwords import MIN_LENGTH, hash_password
from panel.auth.services import sign_out_everywhere
from panel.cliutil import needs_database
from panel.extensions import db
from panel.password_reset.cli import user_reset
from panel.reseller.customers import withdraw_invitations


@click.group("user")
def user_group() -> None:
    """People who sign in."""


user_group.add_command(user_reset)


@user_group.command("create")
@click.option("--role", type=click.Choice(["subscriber", "reseller", "staff", "admin"]), required=True)
@click.option("--email", required=True)
@click.option("--name", default=None, help="Display name.")
@needs_database
def user_create(role: str, email: str, name: str | None) -> None:
    """Create a user. The password is prompted for, or read from standard input."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < MIN_LENGTH:
        raise click.UsageError(f"the password must have at least {MIN_LENGTH} characters")
    if db.session.execute(select(User.id).where(User.email.matches(email))).first():
        raise click.UsageError(f"a user with the email {email} already exists")
    if role == "subscriber":
        user = create_subscriber(email=email, password=password, first_name=name or "",
                                 last_name="", phone=None, actor=None)
    else:
        user = User(role=role, email=email, display_name=name or email.split("@")[0],
                    password_hash=hash_password(password))
        db.session.add(user)
        db.session.commit()
    click.echo(f"created {role} {email} ({user.id})")


@user_group.command("suspend")
@click.option("--email", required=True)
@click.option("--reinstate", is_flag=True, help="Lift the suspension instead.")
@needs_database
def user_suspend(email: str, reinstate: bool) -> None:
    """Suspend a user (no sign-in; a reseller's own marketing stops, its customers keep their
    data and requests), or reinstate one. Recorded on the audit trail."""
    user = db.session.execute(select(User).where(User.email.matches(email))).scalar_one_or_none()
    if user is None:
        raise click.UsageError(f"no user has the email {email}")
    user.active = reinstate
    if not reinstate:
        sign_out_everywhere(user)  # signs out every session at once
        if user.role == RESELLER:
            withdraw_invitations(user)  # its open invitations stop working, even once reinstated
    action = "user.reinstate" if reinstate else "user.suspend"
    audit.record(audit.AuditEvent(action, account_id=user.account_id, object=f"{user.role} {user.id}"))
    db.session.commit()
    click.echo(f"{'reinstated' if reinstate else 'suspended'} {user.role} {user.id}")
