"""Real SMTP servers (aiosmtpd) that accept or refuse, a pluggable pre-send hook, a clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from flask import Flask

from panel.db_types import utcnow
from tests.pg import free_port


class Collecting:
    """Accepts every message and keeps it, the way a mail server would deliver it."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        self.envelopes.append(envelope)
        return "250 2.0.0 Ok: queued"

    @property
    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.content, policy=policy.default)  # type: ignore[misc]
                for e in self.envelopes]


class Refusing:
    """Refuses every message, naming the recipient as real servers do."""

    def __init__(self) -> None:
        self.refused = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.refused += 1
        return f"550 5.7.1 Message for {envelope.rcpt_tos[0]} refused by policy"


class Server:
    def __init__(self, handler: Any, **options: Any) -> None:
        self.handler = handler
        self.controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"


def _serve(handler: Any, **options: Any) -> Iterator[Server]:
    server = Server(handler, **options)
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()


@pytest.fixture
def smtp() -> Iterator[Server]:
    yield from _serve(Collecting())


@pytest.fixture
def slow_smtp() -> Iterator[Server]:
    """Takes a moment per message, so concurrent senders really overlap."""
    yield from _serve(Collecting(delay=0.02))


def _check_login(server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
    def text(value: str | bytes) -> str:
        return value.decode() if isinstance(value, bytes) else value

    ok = isinstance(auth_data, LoginPassword) and (
        text(auth_data.login), text(auth_data.password)) == ("mailer@panel.test", "p@ss:w/rd")
    return AuthResult(success=ok, handled=False)  # unhandled: the server answers 535


@pytest.fixture
def auth_smtp() -> Iterator[Server]:
    """Requires SMTP AUTH as mailer@panel.test / p@ss:w/rd (over plain TCP, for the test)."""
    yield from _serve(Collecting(), authenticator=_check_login, auth_required=True,
                      auth_require_tls=False)


@pytest.fixture
def refusing_smtp() -> Iterator[Server]:
    yield from _serve(Refusing())


@pytest.fixture
def maildir_app(app: Flask) -> Flask:
    app.config["SMTP_URL"] = None
    return app


@pytest.fixture
def register_plugin(app: Flask) -> Iterator[Callable[[object], None]]:
    """Register plugin objects on the app's plugin manager for one test."""
    pm = app.extensions["panel.plugins"].pm
    registered: list[object] = []

    def register(plugin: object) -> None:
        pm.register(plugin)
        registered.append(plugin)

    yield register
    for plugin in registered:
        pm.unregister(plugin)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[timedelta], datetime]:
    """``clock(timedelta(minutes=6))`` moves the outbox's idea of now forward."""
    offset = [timedelta()]
    monkeypatch.setattr("panel.mail.outbox.utcnow", lambda: utcnow() + offset[0])

    def advance(by: timedelta) -> datetime:
        offset[0] += by
        return utcnow() + offset[0]

    return advance
