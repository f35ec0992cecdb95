"""The `panel` command: Flask's group, whose commands come from the core and the plugins by the
``panel_cli_commands`` hook (the core's own are in panel.commands)."""

from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup

from panel.app import create_app
from panel.config import ConfigError
from panel.crypto.errors import KeyringError
from panel.ready import NotReady


def _app():  # type: ignore[no-untyped-def]
    return create_app()


@click.group(cls=FlaskGroup, create_app=_app, add_version_option=False)
def cli() -> None:
    """Hosting panel: serve, migrate, run jobs and manage keys."""


def main() -> None:
    """Console entry point: configuration problems are one clear line, not a traceback."""
    try:
        cli.main(standalone_mode=True)
    except (ConfigError, KeyringError, NotReady) as exc:
        click.echo(f"panel: {exc}", err=True)
        sys.exit(2)
