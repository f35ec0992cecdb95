"""Sessions that really end, in a real browser: a copied cookie dies with the sign-out, and
"Signed-in devices" ends another browser's session."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import sign_in, sign_out

pytestmark = pytest.mark.browser


def test_a_cookie_copied_before_sign_out_gets_the_sign_in_page(new_context, factories):
    factories.subscriber(email="ada@example.com")
    mine = new_context()
    page = mine.new_page()
    sign_in(page, "ada@example.com")
    expect(page).to_have_url(re.compile(r"/client/$"))
    stolen = mine.cookies()
    thief = new_context()
    thief.add_cookies(stolen)
    other = thief.new_page()
    other.goto("/client/")
    expect(other).to_have_url(re.compile(r"/client/$"))  # the copy works while the session lives
    sign_out(page)
    other.goto("/client/")
    expect(other.get_by_role("heading", name="Sign in")).to_be_visible()
    assert "/login" in other.url


def test_signed_in_devices_ends_another_browser(new_context, factories):
    factories.subscriber(email="grace@example.com")
    laptop, phone = new_context().new_page(), new_context().new_page()
    sign_in(laptop, "grace@example.com")
    sign_in(phone, "grace@example.com")
    laptop.goto("/account/security/devices")
    expect(laptop.get_by_role("heading", name="Signed-in devices", level=1)).to_be_visible()
    rows = laptop.get_by_role("row")
    expect(rows).to_have_count(3)  # the header and two sessions
    laptop.get_by_role("button", name="Sign out all other devices").click()
    expect(laptop.get_by_text("Every other browser and device has been signed out.")).to_be_visible()
    expect(laptop.get_by_role("row")).to_have_count(2)
    phone.goto("/client/")
    expect(phone.get_by_role("heading", name="Sign in")).to_be_visible()
    laptop.goto("/client/")
    expect(laptop).to_have_url(re.compile(r"/client/$"))
