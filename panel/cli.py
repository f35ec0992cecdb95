"""The `panel` command line: Flask's group plus the core's commands (and plugins', by hook)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from panel.app import NotReady, create_app
from panel.cliutil import needs_database


def _app():  # type: ignore[no-untyped-def]
    return create_app()


@click.group(cls=FlaskGroup, create_app=_app, add_version_option=False)
def cli() -> None:
    """Hosting panel: serve, migrate, run jobs and manage keys."""


def main() -> None:
    """Console entry point: configuration problems are one clear line, not a traceback."""
    from panel.config import ConfigError
    from panel.crypto.errors import KeyringError

    try:
        cli.main(standalone_mode=True)
    except (ConfigError, KeyringError, NotReady) as exc:
        click.echo(f"panel: {exc}", err=True)
        sys.exit(2)


@click.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.argument("revision", default="heads")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations (every branch) and create the key ring if it is new."""
    from panel import migrate
    from panel.crypto.keyring import initialise

    migrate.upgrade(current_app, revision)
    if initialise(current_app.extensions["panel.keyring"]._engine_getter(),
                  current_app.extensions["panel.keyring"].master):
        click.echo("created the key ring (data, index and audit keys)")
    click.echo("database is up to date")


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Show the applied revision of each branch and whether it is the newest."""
    from panel import migrate

    behind = migrate.missing(current_app)
    click.echo(f"applied: {', '.join(sorted(migrate.current(current_app))) or 'none'}")
    click.echo(f"behind: run `panel db upgrade` ({', '.join(sorted(behind))})" if behind
               else "up to date")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (e.g. `panel@base`)."""
    from panel import migrate

    migrate.downgrade(current_app, revision)


@click.group("user")
def user_group() -> None:
    """People who sign in."""


@user_group.command("create")
@click.option("--role", type=click.Choice(["subscriber", "reseller", "staff", "admin"]), required=True)
@click.option("--email", required=True)
@click.option("--name", default=None, help="Display name.")
@needs_database
def user_create(role: str, email: str, name: str | None) -> None:
    """Create a user. The password is prompted for, or read from standard input."""
    from panel.auth.models import User
    from panel.auth.passwords import MIN_LENGTH, hash_password
    from panel.extensions import db
    from panel.people import create_subscriber

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
    from panel import audit
    from panel.auth.models import User, new_session_token
    from panel.extensions import db

    user = db.session.execute(select(User).where(User.email.matches(email))).scalar_one_or_none()
    if user is None:
        raise click.UsageError(f"no user has the email {email}")
    user.active = reinstate
    if not reinstate:
        user.session_token = new_session_token()  # signs out every session at once
    action = "user.reinstate" if reinstate else "user.suspend"
    audit.record(audit.AuditEvent(action, account_id=user.account_id, object=f"{user.role} {user.id}"))
    db.session.commit()
    click.echo(f"{'reinstated' if reinstate else 'suspended'} {user.role} {user.id}")


@click.command("cron")
@click.option("--force", is_flag=True, help="Run every job now, due or not.")
@needs_database
def cron(force: bool) -> None:
    """Run every due job once; safe to start while another run is going."""
    from panel.jobs import run_due
    from panel.plugins import hook

    jobs = [j for group in hook().panel_jobs() for j in group]
    run_due(jobs, click.echo, force=force)


@click.command("demo")
@click.option("--password", default=None, help="Password for every demo login.")
@click.option("--json", "as_json", is_flag=True, help="Print the demo logins as JSON.")
@needs_database
def demo(password: str | None, as_json: bool) -> None:
    """Seed demo data (idempotent) and print the demo logins."""
    from panel.demo import seed

    seed(password=password, as_json=as_json)


def core_commands() -> list[click.Command]:
    from panel.crypto.cli import keys_group
    from panel.mail.cli import mail_group

    return [db_group, user_group, cron, demo, keys_group, mail_group]
