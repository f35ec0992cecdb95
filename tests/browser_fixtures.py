"""Browser fixtures: the test app served for real, driven by Debian's Chromium via Playwright.

``live_server`` serves the ``app`` fixture (so every browser test runs on SQLite and on
PostgreSQL) from a thread; ``browser`` is one headless Chromium for the session; ``page`` is
a page in a fresh context. ``new_context`` makes further contexts (a second user, JavaScript
off, a phone viewport); every context records the URL of each request it makes in
``context.requests_seen`` so tests can check nothing leaves the panel's own origin.

Seed data (``factories`` or ``panel.demo.seed()``) before browsing, and call
``settle()`` after touching the database from the test thread: the test thread holds its own
session, and on SQLite an open read transaction there would block the server's writes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from werkzeug.serving import make_server

from panel.extensions import db

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 10_000


def settle() -> None:
    """End the test thread's transaction so the server thread sees, and may write, everything."""
    db.session.commit()
    db.session.close()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    settle()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    chromium = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                 headless=True)
    yield chromium
    chromium.close()


@pytest.fixture
def new_context(browser: Browser, live_server: str) -> Iterator[Callable[..., BrowserContext]]:
    """``new_context(java_script_enabled=False, viewport=...)``: a fresh cookie jar on the server."""
    made: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = browser.new_context(base_url=live_server, **options)
        context.set_default_timeout(TIMEOUT_MS)
        seen: list[str] = []
        context.on("request", lambda request: seen.append(request.url))
        context.requests_seen = seen  # type: ignore[attr-defined]
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    return new_context().new_page()
