"""WHOIS fixtures: a real WHOIS server on a thread, the mail fixtures, and the browser ones."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from panel.extensions import db
from plugins.privacy.whois.services.server import Settings, WhoisServer
from tests.conftest import post_form
from tests.core.mail.conftest import register_plugin, smtp  # noqa: F401 - shared fixtures

SESSION = {"reason": "support", "ticket": "T-1", "note": "n", "minutes": "30"}


class RunningWhois:
    def __init__(self, app: Flask, settings: Settings) -> None:
        self.server = WhoisServer(app, settings)
        self.loop = asyncio.new_event_loop()
        self.port = 0
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            srv = self.loop.run_until_complete(self.server.start("127.0.0.1", 0))
            self.port = srv.sockets[0].getsockname()[1]
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, name="whois-test", daemon=True)
        self.thread.start()
        assert started.wait(5)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def start_whois(app: Flask) -> Iterator[Any]:
    """``start_whois(timeout=0.5, rate="100 per minute")`` -> a running server with ``.port``."""
    running: list[RunningWhois] = []

    def start(**options: Any) -> RunningWhois:
        db.session.commit()  # the server's threads must see what the test wrote
        db.session.close()
        server = RunningWhois(app, Settings(**{"timeout": 2.0, "rate": "1000 per minute",
                                               **options}))
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()


def open_session(client: Any, account_id: Any) -> None:
    """Staff open an access session on the account (P16)."""
    response = post_form(client, f"/admin/access/new/{account_id}", SESSION)
    assert response.status_code == 302, response.get_data(as_text=True)


def private_and_public(factories: Any) -> tuple[Any, Any, Any]:
    """A customer with one private and one public domain; returns (user, private, public)."""
    user = factories.subscriber(first_name="Henrietta", last_name="Swan")
    private = factories.domain(user.account, "hidden-swan.test", privacy=True)
    public = factories.domain(user.account, "open-swan.test", privacy=False)
    return user, private, public
