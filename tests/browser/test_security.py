"""The Security page in a real browser (issue 14): every role finds it in its navigation; a
subscriber turns two-step sign-in on, keeps the recovery codes (download, print view), signs
in with one typed carelessly, and turns two-step sign-in off again."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from panel.auth.models import User
from panel.extensions import db
from tests.browser.helpers import sign_in, sign_out
from tests.browser_fixtures import settle
from tests.factories import DEFAULT_PASSWORD, Factories

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("role", ["subscriber", "reseller", "staff", "admin"])
def test_every_role_opens_security_from_its_navigation(page: Page, factories: Factories,
                                                       role: str) -> None:
    user = (factories.subscriber() if role == "subscriber" else factories.reseller()
            if role == "reseller" else factories.staff(role))
    email = user.email
    settle()
    sign_in(page, email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Security").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Security")
    assert page.url.endswith("/account/security")
    for section in ("Password", "Two-step sign-in"):
        expect(page.get_by_role("heading", level=2, name=section)).to_be_visible()
    expect(page.get_by_role("link", name="Change password")).to_be_visible()


def _fresh_code(user_id) -> str:
    user = db.session.get(User, user_id)
    user.totp_last_step = None  # a new 30-second window
    secret = user.totp_secret
    settle()
    return pyotp.TOTP(secret).now()


def test_a_subscriber_turns_two_step_on_keeps_the_codes_uses_one_and_turns_it_off(
        new_context: Callable[..., BrowserContext], factories: Factories) -> None:
    user = factories.subscriber()
    email, user_id = user.email, user.id
    settle()
    context = new_context(accept_downloads=True)
    page = context.new_page()
    sign_in(page, email)
    page.get_by_role("link", name="Security").click()
    expect(page.get_by_text("Two-step sign-in is optional")).to_be_visible()
    page.get_by_role("link", name="Set up two-step sign-in").click()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    expect(page.get_by_text(re.compile("recovery", re.I))).to_have_count(0)
    secret = page.locator("p", has_text="Key:").locator("code").inner_text()
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-step sign-in is on")
    codes = page.locator("ul.codes code").all_inner_texts()
    assert len(codes) == 10

    with page.expect_download() as download:
        page.get_by_role("button", name="Download as .txt").click()
    assert download.value.suggested_filename == "recovery-codes.txt"
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    assert all(code in saved for code in codes)

    with context.expect_page() as printed:
        page.get_by_role("button", name="Print").click()
    print_view = printed.value
    print_view.wait_for_load_state()
    expect(print_view.get_by_role("heading", level=1)).to_have_text("Recovery codes")
    assert print_view.locator("ul.codes code").all_inner_texts() == codes
    print_view.close()

    # signing in again asks for the second step; a recovery code typed carelessly answers it
    sign_out(page)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Lost your phone?")).to_be_visible()
    page.get_by_label("Code from your authenticator app, or a recovery code").fill(
        " " + codes[0].upper().replace("-", " - ") + " ")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")

    page.get_by_role("link", name="Security").click()
    expect(page.get_by_text("9 of 10 recovery codes are unused.")).to_be_visible()
    page.get_by_role("link", name="Turn off two-step sign-in").click()
    page.get_by_label("Your password").fill(DEFAULT_PASSWORD)
    page.get_by_label("Code from your authenticator app, or a recovery code").fill(
        _fresh_code(user_id))
    page.get_by_role("button", name="Turn off two-step sign-in").click()
    expect(page.get_by_role("status")).to_contain_text("Two-step sign-in is off.")
    expect(page.get_by_text("Off.", exact=True)).to_be_visible()
