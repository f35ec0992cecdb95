"""The layout (issue 15): the menu collapses on a phone without script. That no page scrolls
sideways and no word is broken inside itself, on every page for every role at both widths, is
checked by the one browser walk (tests/browser/test_walk.py, tests/browser/checks.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.helpers import sign_in
from tests.browser.test_screens import PHONE
from tests.browser_fixtures import settle
from tests.factories import Factories

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}


def test_the_menu_collapses_on_a_phone_and_opens_without_javascript(
        new_context: Callable[..., BrowserContext], factories: Factories) -> None:
    email = factories.subscriber().email
    settle()
    page = new_context(viewport=PHONE, java_script_enabled=False).new_page()
    sign_in(page, email)
    menu = page.get_by_role("navigation", name="Main")
    toggle = menu.locator("summary")
    expect(toggle).to_have_text("Menu: Overview")  # says where you are
    expect(menu.get_by_role("link", name="Domains")).to_be_hidden()
    box = toggle.bounding_box()
    assert box is not None and box["height"] < 60, "the closed menu takes more than one line"
    toggle.click()
    expect(menu.get_by_role("list", name="Privacy")).to_be_visible()
    menu.get_by_role("link", name="Domains").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your domains")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Domains")).to_be_hidden()

    wide = new_context(viewport=DESKTOP, java_script_enabled=False).new_page()
    sign_in(wide, email)
    menu = wide.get_by_role("navigation", name="Main")
    expect(menu.locator("summary")).to_be_hidden()
    for group in ("Services", "Privacy", "Account"):  # every group shown, no click needed
        expect(menu.get_by_role("list", name=group)).to_be_visible()
    expect(menu.get_by_role("link", name="Overview")).to_have_attribute("aria-current", "page")
