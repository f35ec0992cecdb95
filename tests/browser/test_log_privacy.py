"""Done when (issue 17, Logs): the demo served as `make run` serves it, every role's main pages
walked in a real browser, a staff search, a password reset through real mail and the one-click
and preference links; then every line the server and `panel cron` wrote is one JSON object,
and none holds a demo person's email, name, phone, address or domain, nor any token issued
(session cookies, CSRF tokens, reset and unsubscribe links, TOTP secrets and codes, passwords)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser_fixtures import TIMEOUT_MS
from tests.core.test_metrics_served import make_run_gunicorn_options
from tests.pg import free_port

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NEW_PASSWORD = "a brand new passphrase 7"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 2.0.0 Ok: queued"


class Served:
    """`make run` in a temporary folder: instance, demo data, gunicorn with its options."""

    def __init__(self, folder: Path, smtp_port: int) -> None:
        self.instance = folder / "instance"
        self.port = free_port()
        self.base = f"http://localhost:{self.port}"
        self.log = folder / "server.log"
        self.other_lines: list[str] = []  # what the commands wrote (their log, their output)
        self.env = {**os.environ, "PANEL_INSTANCE_PATH": str(self.instance),
                    "PANEL_BASE_URL": self.base, "PYTHONPATH": str(ROOT),
                    "PANEL_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}", "TMPDIR": str(folder)}
        for name in ("PANEL_DATABASE_URL", "PANEL_SECRET_KEY", "PANEL_MASTER_KEY",
                     "PROMETHEUS_MULTIPROC_DIR"):
            self.env.pop(name, None)

    def command(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-c", "from panel.cli import main; main()", *args],
                              cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        self.other_lines += done.stderr.splitlines()
        return done.stdout

    def start(self) -> subprocess.Popen:
        subprocess.run([sys.executable, "-m", "panel.instance_setup", str(self.instance)],
                       cwd=ROOT, env=self.env, check=True, capture_output=True)
        self.command("db", "upgrade")
        self.logins = json.loads(self.command("demo", "--json"))
        with self.log.open("w") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "gunicorn", *make_run_gunicorn_options(), "--workers", "2",
                 "--bind", f"127.0.0.1:{self.port}", "panel.wsgi:app"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def served(tmp_path: Path, inbox: tuple[Inbox, int]) -> Iterator[Served]:
    import time
    import urllib.request

    panel = Served(tmp_path, inbox[1])
    server = panel.start()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{panel.base}/login", timeout=5):  # noqa: S310
                    break
            except OSError:
                assert server.poll() is None, panel.log.read_text()
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.3)
        yield panel
    finally:
        server.terminate()
        server.wait(timeout=30)


class Walk:
    """Everything the browser was issued, kept so the log can be searched for it."""

    def __init__(self, browser: Browser, served: Served) -> None:
        self.browser, self.served = browser, served
        self.secrets: set[str] = {"demo-password", NEW_PASSWORD}
        self.contexts: list[BrowserContext] = []
        self.visited = 0

    def context(self) -> BrowserContext:
        context = self.browser.new_context(base_url=self.served.base)
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        return context

    def visit(self, page: Page, path: str) -> None:
        response = page.goto(path)
        assert response is not None and response.status < 500, (path, response and response.status)
        self.visited += 1
        self.keep_tokens(page)

    def keep_tokens(self, page: Page) -> None:
        fields = page.locator("input[name=csrf_token]")
        for i in range(fields.count()):
            self.secrets.add(fields.nth(i).get_attribute("value") or "")

    def sign_in(self, page: Page, login: dict[str, Any]) -> None:
        self.visit(page, "/login")
        page.get_by_label("Email").fill(login["email"])
        page.get_by_label("Password").fill(login["password"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        if urlsplit(page.url).path == "/login/verify":
            self.keep_tokens(page)
            code = pyotp.TOTP(login["totp_secret"]).now()
            self.secrets |= {login["totp_secret"], code}
            page.get_by_label("Code from your authenticator app").fill(code)
            page.get_by_role("button", name="Continue").click()
            page.wait_for_load_state()
        assert urlsplit(page.url).path != "/login", f"{login['email']} could not sign in"

    def main_pages(self, page: Page, *extra: str) -> None:
        """Every link of the main navigation, and the role's other main pages."""
        links = page.get_by_role("navigation", name="Main").get_by_role("link")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        for href in dict.fromkeys([*hrefs, *extra, "/account/security"]):
            if href and href.startswith("/"):
                self.visit(page, href)

    def finish(self) -> None:
        for context in self.contexts:
            self.secrets |= {c["value"] for c in context.cookies()}
            context.close()


def _people(served: Served) -> set[str]:
    """Every demo person's email, name, phone, street address, company, tax id and domain,
    read from the database through the panel (the fields are sealed)."""
    from sqlalchemy import select

    from panel.accounts.models import Account
    from panel.app import create_app
    from panel.auth.models import User
    from panel.domains.models import Domain
    from panel.extensions import db

    os.environ["PANEL_INSTANCE_PATH"] = str(served.instance)
    try:
        app = create_app({"INSTANCE_PATH": str(served.instance)})
    finally:
        del os.environ["PANEL_INSTANCE_PATH"]
    values: set[str] = set()
    with app.app_context():
        for user in db.session.execute(select(User)).scalars():
            values |= {user.email, user.display_name or ""}
        for a in db.session.execute(select(Account)).scalars():
            values |= {a.first_name or "", a.last_name or "", a.company or "", a.phone or "",
                       a.address1 or "", a.tax_id or "", f"{a.first_name} {a.last_name}"}
        values |= set(db.session.execute(select(Domain.name)).scalars())
        db.session.remove()
        db.engine.dispose()
    return {v for v in values if len(v.strip()) >= 2}


def _links(served: Served) -> tuple[str, str]:
    """A one-click unsubscribe link and a preference-centre link for client1, made as the
    panel makes them for the List-Unsubscribe header and the footer."""
    from sqlalchemy import select

    from panel.app import create_app
    from panel.auth.models import User
    from panel.extensions import db
    from plugins.privacy.email.services import unsubscribe

    app = create_app({"INSTANCE_PATH": str(served.instance), "BASE_URL": served.base})
    with app.app_context():
        user = db.session.execute(select(User).where(User.email.matches("client1@demo.test"))
                                  ).scalar_one()
        links = unsubscribe.make(user.account_id, "newsletter"), unsubscribe.make(user.account_id)
        db.session.remove()
        db.engine.dispose()
    return links


@pytest.mark.needs_privacy
def test_the_log_of_a_demo_walk_holds_no_personal_data_and_no_token(
        served: Served, browser: Browser, inbox: tuple[Inbox, int]) -> None:
    logins = {x["email"]: x for x in served.logins}
    walk = Walk(browser, served)
    walk.secrets |= {x["totp_secret"] for x in served.logins if x.get("totp_secret")}

    # staff: every page of the menu, and a search for a customer by email and by phone
    admin = walk.context().new_page()
    walk.sign_in(admin, logins["admin@demo.test"])
    walk.main_pages(admin, "/admin/audit/", "/admin/privacy/requests/", "/admin/access/")
    for term in ("client1@demo.test", "client12@demo.test"):
        walk.visit(admin, "/admin/")
        admin.get_by_label(re.compile("^Find by")).fill(term)
        admin.get_by_role("button", name=re.compile("^(Find|Search)")).click()
        admin.wait_for_load_state()
        walk.keep_tokens(admin)
    customer = admin.locator("main a[href^='/admin/customers/']").first
    if customer.count():
        walk.visit(admin, customer.get_attribute("href") or "/admin/")
    staff = walk.context().new_page()
    walk.sign_in(staff, logins["staff1@demo.test"])
    walk.main_pages(staff)

    reseller = walk.context().new_page()
    walk.sign_in(reseller, logins["reseller1@demo.test"])
    walk.main_pages(reseller, "/reseller/privacy/requests/", "/reseller/branding")
    first = reseller.locator("main a[href^='/reseller/customers/']").first
    if first.count():
        walk.visit(reseller, first.get_attribute("href") or "/reseller/")

    client = walk.context().new_page()
    walk.sign_in(client, logins["client1@demo.test"])
    walk.main_pages(client, "/client/privacy/", "/client/privacy/data", "/client/privacy/requests/",
                    "/client/privacy/access", "/client/privacy/activity",
                    "/client/email-preferences")

    # a password reset, through `panel cron` and a real mail server, then the link
    anyone = walk.context().new_page()
    walk.visit(anyone, "/forgot-password")
    anyone.get_by_label("Email").fill("client2@demo.test")
    anyone.get_by_role("button").last.click()
    anyone.wait_for_load_state()
    served.other_lines += served.command("cron").splitlines()
    bodies = [m.get_body(("plain",)).get_content() for m in inbox[0].messages]
    [reset] = [u for b in bodies for u in re.findall(r"https?://\S+/reset-password/\S+", b)]
    walk.secrets.add(reset.rsplit("/", 1)[1])
    walk.visit(anyone, urlsplit(reset).path)
    anyone.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    anyone.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    anyone.get_by_role("button").last.click()
    anyone.wait_for_load_state()

    # the links in mail: one-click unsubscribe (GET page, RFC 8058 POST) and the preference centre
    one_click, centre = _links(served)
    walk.secrets |= {one_click, centre}
    mail_reader = walk.context()
    page = mail_reader.new_page()
    walk.visit(page, f"/unsubscribe/{one_click}")
    answer = mail_reader.request.post(f"/unsubscribe/{one_click}",
                                      form={"List-Unsubscribe": "One-Click"})
    assert answer.status == 200
    walk.visit(page, f"/email-preferences/{centre}")
    walk.finish()
    assert walk.visited > 30

    people = _people(served)
    assert len(people) > 100
    secrets = {s for s in walk.secrets if len(s) >= 6}
    server_lines = [x for x in served.log.read_text().splitlines() if x.strip()]
    text = "\n".join([*server_lines, *served.other_lines])
    found_people = sorted(v for v in people if re.search(rf"(?<!\w){re.escape(v)}(?!\w)", text))
    assert not found_people, f"personal data in the log: {found_people}"
    found_secrets = sorted(s for s in secrets if s in text)
    assert not found_secrets, f"tokens in the log: {found_secrets}"
    assert not re.search(r"\b(?!127\.0\.0\.1\b)\d{1,3}\.\d{1,3}\.\d{1,3}\.(?!0/24)\d{1,3}\b", text)

    entries = [json.loads(line) for line in server_lines]  # every line is one JSON object
    assert all(isinstance(e, dict) for e in entries)
    decoded = "\n".join(json.dumps(e, ensure_ascii=False) for e in entries)  # \u escapes undone
    assert not [v for v in people if re.search(rf"(?<!\w){re.escape(v)}(?!\w)", decoded)]
    requests = [e for e in entries if e.get("logger") == "panel.request"]
    assert len(requests) >= walk.visited
    assert {e["role"] for e in requests} >= {"admin", "staff", "reseller", "subscriber", "anonymous"}
    assert "?" not in "".join(str(e.get("rule", "")) for e in requests)
