"""`panel whois serve --host H --port P`: the public WHOIS server (RFC 3912)."""

from __future__ import annotations

import asyncio
import contextlib

import click
from flask import current_app

from panel.cliutil import needs_database
from plugins.privacy.whois.services.server import Settings, WhoisServer


@click.group("whois")
def whois_group() -> None:
    """The public WHOIS service for the panel's domains."""


@whois_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=43, show_default=True, type=click.IntRange(1, 65535),
              help="TCP port (43 is the standard; it needs privileges).")
@click.option("--timeout", type=click.FloatRange(0.1, 300), default=None,
              help="Seconds a client has to send its query (default WHOIS_TIMEOUT or 10).")
@click.option("--rate", default=None, help='Per-address limit, e.g. "60 per minute" '
              "(default WHOIS_RATE_LIMIT).")
@needs_database
def serve(host: str, port: int, timeout: float | None, rate: str | None) -> None:
    """Answer WHOIS queries until stopped (Ctrl-C)."""
    from limits import parse

    from panel.config import ConfigError
    from panel.ratelimit.store import check_redis

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        check_redis(app.config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    settings = Settings(timeout=timeout or float(app.config.get("WHOIS_TIMEOUT", 10.0)),
                        rate=rate or str(app.config.get("WHOIS_RATE_LIMIT", "60 per minute")))
    try:
        parse(settings.rate)
    except ValueError:
        raise click.BadParameter(f"{settings.rate!r} is not a rate like '60 per minute'",
                                 param_hint="--rate") from None
    server = WhoisServer(app, settings)

    def ready(where: str) -> None:
        click.echo(f"WHOIS server listening on {where} (Ctrl-C to stop)", err=True)

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(server.serve_forever(host, port, ready))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
