"""Every page a role can reach, found the way a person finds them: through the menu.

Shared by the one browser walk that checks every page (tests/browser/test_walk.py) and
`make screenshots` (tests/screenshots.py): both take their pages from ``visits``. Pages are
discovered, not listed, so a page another part adds to a menu is checked and photographed
without touching this file: each menu link, then on each of those pages the first link of each
new shape in the same area that is in no menu (a domain, an invoice, a customer, the
cancellation requests a dashboard links to), which covers the main detail pages.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Response
from sqlalchemy import select
from werkzeug.serving import make_server

from panel import demo, migrate
from panel.accounts.models import Account
from panel.app import create_app
from panel.auth.models import User
from panel.crypto.keyring import initialise
from panel.extensions import db
from panel.instance_setup import setup
from tests.browser.helpers import sign_in
from tests.browser_fixtures import TIMEOUT_MS, settle

WIDTHS = (1280, 375)
#: Pages anyone sees before signing in (those that answer 404 here are skipped).
PUBLIC = ["/login", "/forgot-password", "/signup", "/privacy", "/cookies"]
HEIGHT = 800

#: The demo people each area is seen as (`panel demo`): a house customer, a reseller's
#: customer (white label), a reseller, support staff (also inside an access session), an admin.
ROLES = {
    "subscriber": "client21@demo.test",
    "customer-of-reseller": "client1@demo.test",
    "reseller": "reseller1@demo.test",
    "staff": "staff1@demo.test",
    "staff-in-session": "staff2@demo.test",
    "admin": "admin@demo.test",
}
#: The customer whose page staff open an access session on.
SESSION_CUSTOMER = "client22@demo.test"

# Ids in a path: UUIDs and numbers. Two links differing only there are one kind of page.
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}|\d+")
# Links that leave the page's world or act when followed: never walked.
_SKIP = re.compile(r"^/(logout|unsubscribe/|email-preferences/|access/help/|access/approve/|invite/)|"
                   r"\.(zip|json|csv|png|pdf|txt|css)$|/(export|download)")

LINKS_JS = """(scope) => [...document.querySelectorAll(scope + ' a[href]')]
  .map(a => a.href).filter(h => h.startsWith(location.origin))"""


@dataclass(frozen=True)
class Stop:
    """One page of the walk: its path, a file-friendly name and what the server answered."""

    path: str
    name: str
    response: Response | None = field(default=None, compare=False)


def name_of(path: str) -> str:
    """/client/domains/<uuid>/contacts/registrant -> client-domains-id-contacts-registrant."""
    shape = _ID.sub("id", path.strip("/")) or "home"
    return re.sub(r"[^a-z0-9]+", "-", shape.lower()).strip("-") or "home"


def _paths(page: Page, scope: str) -> list[str]:
    seen: list[str] = []
    for href in page.evaluate(LINKS_JS, scope):
        parts = urlsplit(href)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path not in seen and not _SKIP.search(parts.path):
            seen.append(path)
    return seen


def area_of(path: str) -> str:
    return "/" + path.strip("/").split("/", 1)[0] + "/"


def stops(page: Page) -> Iterator[Stop]:
    """Visit every menu page and one of each kind of page it links to in its own area, yielding each
    once the browser is on it (the caller checks or photographs it there). ``page`` is
    signed in and on its home page."""
    menu = _paths(page, 'nav[aria-label="Main"]')
    seen_shapes: set[str] = set()
    for path in menu:
        shape = name_of(urlsplit(path).path)
        if shape in seen_shapes:
            continue
        response = page.goto(path)
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        seen_shapes.add(shape)
        # below this page (a domain, an invoice), or elsewhere in its area but in no menu
        # (the cancellation requests the dashboard links to, the password page of security)
        deeper = [p for p in _paths(page, "main") if p not in menu
                  and urlsplit(p).path.startswith(area_of(path))]
        yield Stop(path, shape, response)
        for detail in deeper:
            kind = name_of(urlsplit(detail).path)
            if kind in seen_shapes:
                continue
            seen_shapes.add(kind)
            response = page.goto(detail)  # an error page is yielded too: a dead link is a defect
            if response is not None and "text/html" in response.headers.get("content-type", ""):
                yield Stop(detail, kind, response)


def account_id_of(email: str) -> str:
    user = db.session.execute(select(User).where(User.email.matches(email))).scalar_one()
    account = db.session.get(Account, user.account_id)
    assert account is not None
    ident = str(account.id)
    settle()
    return ident


def open_access_session(page: Page, customer_email: str) -> str:
    """As the signed-in staff member, open an access session on the customer through the real
    form; returns the path of the staff customer page, now inside the session."""
    account = account_id_of(customer_email)
    page.goto(f"/admin/access/new/{account}")
    page.get_by_label("Reason").select_option(index=1)
    page.get_by_label("Ticket or case reference").fill("TICKET-4242")
    page.get_by_label("Note").fill("Customer asked us to check their domain contacts.")
    page.get_by_role("button", name="Open session").click()
    page.wait_for_load_state()
    return f"/admin/customers/{account}"


def enter(page: Page, role: str, password: str) -> list[Stop]:
    """Sign in as the role's demo person; the extra stops only this role has (the customer page
    inside an access session)."""
    sign_in(page, ROLES[role], password)
    reject = page.get_by_role("button", name="Reject all")
    if reject.count():  # what a new person does once; the banner then stays out of the pictures
        reject.first.click()
        page.wait_for_load_state()
    if role == "staff-in-session":
        customer = open_access_session(page, SESSION_CUSTOMER)
        return [Stop(customer, "admin-customers-id-in-session")]
    return []


def visits(browser: Browser, base: str, roles: list[str], password: str,
           prepare: Callable[[BrowserContext], None] | None = None,
           ) -> Iterator[tuple[str, Page, Stop]]:
    """Every page of the walk as (role, page, stop), the browser on it at WIDTHS[0]: for each
    role one fresh context (``prepare`` sees it first), signed in through the real form; the
    anonymous role sees the PUBLIC pages that exist."""
    for role in roles:
        context = browser.new_context(base_url=base, viewport={"width": WIDTHS[0], "height": HEIGHT})
        context.set_default_timeout(TIMEOUT_MS * 3)
        if prepare is not None:
            prepare(context)
        page = context.new_page()
        try:
            if role == "anonymous":
                for path in PUBLIC:
                    response = page.goto(path)
                    if response is not None and response.status != 404:
                        yield role, page, Stop(path, name_of(path), response)
                continue
            for extra in enter(page, role, password):
                yield role, page, Stop(extra.path, extra.name, page.goto(extra.path))
            for stop in stops(page):
                yield role, page, stop
        finally:
            context.close()


@contextlib.contextmanager
def demo_site(instance: Path, **config: Any) -> Iterator[tuple[Flask, str]]:
    """A panel on a fresh instance, set up as `make run` does it (secrets, migrations,
    `panel demo`), served from a thread on a free port; yields the app (its context pushed, for
    the sign-in codes) and the base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    base = f"http://127.0.0.1:{port}"
    setup(instance)
    app = create_app({"INSTANCE_PATH": str(instance), "BASE_URL": base,
                      "DATABASE_URL": f"sqlite:///{instance / 'panel.db'}", "SMTP_URL": None,
                      **config})
    for noisy in ("werkzeug", "panel.request"):  # progress, not a request log
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with app.app_context():
        migrate.upgrade(app)
        initialise(db.engine, app.extensions["panel.keyring"].master)
        demo.seed()
        settle()
        server = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True, name="demo-site")
        thread.start()
        try:
            yield app, base
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
            db.session.remove()
            db.engine.dispose()
