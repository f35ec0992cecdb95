"""Passkeys in Chromium, with a CDP virtual authenticator (CTAP2, resident keys, user
verification): register one, sign in with it on its own and as the second step, remove it;
and a copied authenticator (its sign count going back) is refused.

WebAuthn refuses an IP address as the relying party, so these pages are opened on
http://localhost:<port> (a secure context, like 127.0.0.1) with BASE_URL to match.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from panel.extensions import db
from panel.passkeys.models import Passkey
from tests.browser.helpers import sign_in, sign_out
from tests.browser_fixtures import TIMEOUT_MS, settle

pytestmark = pytest.mark.browser

PAGE = "/account/security/passkeys"


@pytest.fixture
def on_localhost(app: Flask, browser: Browser, live_server: str) -> Iterator[Callable[..., Any]]:
    """``open(js=True)``: a page on http://localhost:<port> and, with JavaScript, its virtual
    authenticator (a CDP session)."""
    origin = live_server.replace("127.0.0.1", "localhost")
    app.config["BASE_URL"] = origin
    made: list[BrowserContext] = []

    def open_page(js: bool = True) -> tuple[Page, Any, str | None]:
        context = browser.new_context(base_url=origin, java_script_enabled=js)
        context.set_default_timeout(TIMEOUT_MS)
        made.append(context)
        page = context.new_page()
        if not js:
            return page, None, None
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        made_authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
            "hasUserVerification": True, "isUserVerified": True,
            "automaticPresenceSimulation": True}})
        return page, cdp, made_authenticator["authenticatorId"]

    yield open_page
    for context in made:
        context.close()


def add_passkey(page: Page, name: str) -> None:
    page.goto(PAGE)
    page.get_by_label("Name of this passkey").fill(name)
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_text(f"Passkey “{name}” added")).to_be_visible()
    expect(page.get_by_role("cell", name=name, exact=True)).to_be_visible()


def passkey_sign_in(page: Page) -> None:
    page.goto("/login")
    page.get_by_role("button", name="Use a passkey", exact=True).click()
    page.wait_for_load_state()


def test_register_sign_in_with_the_passkey_alone_and_remove_it(on_localhost, factories):
    factories.subscriber(email="passkey@example.com", first_name="Ada")
    settle()
    page, _, _ = on_localhost()
    sign_in(page, "passkey@example.com")
    add_passkey(page, "This laptop")
    sign_out(page)

    passkey_sign_in(page)  # no address, no password: the passkey names the account
    expect(page.get_by_role("heading", name="Welcome, Ada")).to_be_visible()
    assert page.url.endswith("/client/")

    page.goto(PAGE)
    expect(page.get_by_role("cell", name="This laptop", exact=True)).to_be_visible()
    page.get_by_role("button", name="Remove passkey This laptop").click()
    expect(page.get_by_text("Passkey “This laptop” removed")).to_be_visible()
    expect(page.get_by_text("You have no passkeys yet.")).to_be_visible()
    sign_out(page)

    passkey_sign_in(page)  # the authenticator still holds it; the panel no longer knows it
    expect(page.get_by_text("This passkey is not registered here")).to_be_visible()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_passkey_is_the_second_step_after_the_password(on_localhost, factories):
    email = factories.staff(email="staff-passkey@example.com").email
    settle()
    page, _, _ = on_localhost()
    sign_in(page, email)  # password and a code from the app
    add_passkey(page, "Security key")
    sign_out(page)

    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_role("button", name="Use a passkey instead").click()
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    assert page.url.endswith("/admin/")


def test_a_copied_authenticator_whose_count_goes_back_is_refused(on_localhost, factories):
    factories.subscriber(email="cloned@example.com", first_name="Ada")
    settle()
    page, cdp, authenticator = on_localhost()
    sign_in(page, "cloned@example.com")
    add_passkey(page, "Phone")
    sign_out(page)
    passkey_sign_in(page)
    expect(page.get_by_role("heading", name="Welcome, Ada")).to_be_visible()
    sign_out(page)
    stored = db.session.execute(select(Passkey.sign_count)).scalar_one()
    settle()
    assert stored >= 1

    # A copy of the key taken before that sign-in: the same private key, an older counter.
    [credential] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    cdp.send("WebAuthn.removeCredential", {"authenticatorId": authenticator,
                                           "credentialId": credential["credentialId"]})
    cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator,
                                        "credential": {**credential, "signCount": 0}})
    passkey_sign_in(page)
    expect(page.get_by_text("its use counter went backwards")).to_be_visible()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/client/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_without_javascript_the_list_and_removal_work_and_adding_says_why_not(on_localhost,
                                                                             factories):
    factories.subscriber(email="nojs@example.com")
    settle()
    page, _, _ = on_localhost()
    sign_in(page, "nojs@example.com")
    add_passkey(page, "Tablet")
    plain, _, _ = on_localhost(js=False)
    sign_in(plain, "nojs@example.com")
    plain.goto(PAGE)
    plain.get_by_label("Name of this passkey").fill("Another")
    plain.get_by_role("button", name="Add a passkey").click()
    expect(plain.get_by_text("Your browser sent no passkey.")).to_be_visible()
    plain.get_by_role("button", name="Remove passkey Tablet").click()
    expect(plain.get_by_text("Passkey “Tablet” removed")).to_be_visible()
