"""What a person does and sees in the panel, in Playwright terms."""

from __future__ import annotations

from urllib.parse import urlsplit

import pyotp
from playwright.sync_api import Page, expect
from sqlalchemy import select

from panel.auth.models import User
from panel.extensions import db
from tests.browser_fixtures import settle
from tests.factories import DEFAULT_PASSWORD

NOT_FOUND = "Not found"


def sign_in(page: Page, email: str, password: str = DEFAULT_PASSWORD) -> None:
    """Fill in and send the real sign-in form, the way a person would; if the panel asks for
    a code from the authenticator app (two-step sign-in), type the current one."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    if urlsplit(page.url).path == "/login/verify":
        page.get_by_label("Code from your authenticator app").fill(current_code(email))
        page.get_by_role("button", name="Continue").click()
        page.wait_for_load_state()


def current_code(email: str) -> str:
    """What the person's authenticator app shows now. Each code works once, so the used step
    is forgotten first: every browser sign-in in a test stands for a new 30-second window."""
    user = db.session.execute(select(User).where(User.email.matches(email))).scalar_one()
    if hasattr(user, "totp_last_step"):
        user.totp_last_step = None
    secret = user.totp_secret
    settle()
    assert secret, f"{email} was asked for a code but has no authenticator secret"
    return pyotp.TOTP(secret).now()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def nav_labels(page: Page) -> list[str]:
    return [t.strip() for t in page.get_by_role("navigation", name="Main").get_by_role("link")
            .all_inner_texts()]


def expect_not_found(page: Page, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 404, (path, response and response.status)
    expect(page.get_by_role("heading", level=1)).to_have_text(NOT_FOUND)
    expect(page.get_by_text("There is nothing at this address.")).to_be_visible()


def unlabelled_fields(page: Page) -> list[str]:
    """Visible inputs and selects without exactly one non-empty <label for=their id>.
    Uses locators only, so it works with JavaScript switched off too."""
    missing = []
    fields = page.locator("input:not([type=hidden]), select, textarea")
    for i in range(fields.count()):
        field = fields.nth(i)
        if not field.is_visible():
            continue
        ident, name = field.get_attribute("id"), field.get_attribute("name")
        labels = page.locator(f'label[for="{ident}"]')
        if not ident or labels.count() != 1 or not labels.inner_text().strip():
            missing.append(f"{name or '?'} (id={ident})")
    return missing
