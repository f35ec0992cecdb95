"""The core's own commands: `panel db`, `panel cron` and `panel demo`, with the key ring's,
mail's and users' groups from their features. Added to `panel` by core_hooks."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from panel import migrate
from panel.auth.cli import user_group
from panel.cliutil import needs_database
from panel.crypto.keyring import initialise
from panel.demo import seed
from panel.hooks import hook
from panel.jobs import run_due
from panel.keys.cli import keys_group
from panel.mail.cli import mail_group


@click.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.argument("revision", default="heads")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations (every branch) and create the key ring if it is new."""
    migrate.upgrade(current_app, revision)
    if initialise(current_app.extensions["panel.keyring"]._engine_getter(),
                  current_app.extensions["panel.keyring"].master):
        click.echo("created the key ring (data, index and audit keys)")
    click.echo("database is up to date")


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Show the applied revision of each branch and whether it is the newest."""
    behind = migrate.missing(current_app)
    click.echo(f"applied: {', '.join(sorted(migrate.current(current_app))) or 'none'}")
    click.echo(f"behind: run `panel db upgrade` ({', '.join(sorted(behind))})" if behind
               else "up to date")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (e.g. `panel@base`)."""
    migrate.downgrade(current_app, revision)


@click.command("cron")
@click.option("--force", is_flag=True, help="Run every job now, due or not.")
@needs_database
def cron(force: bool) -> None:
    """Run every due job once; safe to start while another run is going."""
    jobs = [j for group in hook().panel_jobs() for j in group]
    run_due(jobs, click.echo, force=force)


@click.command("demo")
@click.option("--password", default=None, help="Password for every demo login.")
@click.option("--json", "as_json", is_flag=True, help="Print the demo logins as JSON.")
@needs_database
def demo(password: str | None, as_json: bool) -> None:
    """Seed demo data (idempotent) and print the demo logins."""
    seed(password=password, as_json=as_json)


def core_commands() -> list[click.Command]:
    return [db_group, user_group, cron, demo, keys_group, mail_group]
