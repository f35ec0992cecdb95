"""The layout on every page, for every role, at 1280 and 375 px (issue 15): the menu collapses
on a phone without script, nothing scrolls sideways, and no word is broken inside itself (only
long machine tokens may break: ids, digests, addresses, URLs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.helpers import sign_in
from tests.browser.test_screens import PHONE, WIDTH_JS, people  # noqa: F401 - a fixture
from tests.browser_fixtures import settle
from tests.factories import Factories

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}

# Each word (a run of letters split at spaces and after hyphens and slashes) of every table cell,
# caption, heading and menu link must lie on one line. A word whose Range has client rects on
# two lines was broken inside itself ("Res ult", "Statu s"). Long machine tokens may break:
# anything inside code or .token, and whitespace-separated words with "@" or ":" (addresses,
# URLs, times), a slash or dot next to a digit (versions, paths, IP addresses), or of 20
# characters or more.
BROKEN_JS = """() => {
  const places = document.querySelectorAll(
    "main td, main th, main caption, main h1, main h2, main h3, nav[aria-label=Main] a");
  const broken = [];
  for (const place of places) {
    if (!place.getClientRects().length) continue;
    const walk = document.createTreeWalker(place, NodeFilter.SHOW_TEXT);
    while (walk.nextNode()) {
      const node = walk.currentNode;
      if (node.parentElement.closest("code, .token, pre")) continue;
      for (const m of node.textContent.matchAll(/[^\\s\\-\\u2010-\\u2014\\/]+[\\-\\u2010-\\u2014\\/]?/g)) {
        const word = m[0], text = node.textContent;
        let start = m.index, end = m.index + word.length;
        while (start > 0 && !/\\s/.test(text[start - 1])) start--;
        while (end < text.length && !/\\s/.test(text[end])) end++;
        const whole = text.slice(start, end);
        if (word.length < 2 || whole.length >= 20 || /[@:]|[\\/.]\\d|\\d[\\/.]/.test(whole)) continue;
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + word.length);
        const tops = [...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top));
        if (tops.length > 1 && Math.max(...tops) - Math.min(...tops) > 2)
          broken.push(`${place.tagName} "${word}" in "${place.textContent.trim().slice(0, 60)}"`);
      }
    }
  }
  return broken;
}"""


def pages_of(page: Page, *extra: str) -> list[str]:
    """Every page of the signed-in person's menu, and ``extra`` ones."""
    links = page.get_by_role("navigation", name="Main").locator("a")
    hrefs = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
    return list(dict.fromkeys([*hrefs, *extra]))


def check(page: Page, path: str, width: dict[str, int], problems: list[str]) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, (path, response and response.status)
    if width is PHONE:
        size = page.evaluate(WIDTH_JS)
        if size["scroll"] > size["client"]:
            problems.append(f"{path} at {width['width']} px: {size['scroll']} px wide, "
                            f"widest: {size['wide'][:2]}")
    for word in page.evaluate(BROKEN_JS):
        problems.append(f"{path} at {width['width']} px: broken word {word}")


def test_every_page_fits_and_keeps_words_whole_for_every_role_at_both_widths(
        new_context: Callable[..., BrowserContext], people: dict[str, Any]) -> None:  # noqa: F811
    extra = {"subscriber": [f"/client/domains/{people['domain']}", f"/client/invoices/{people['invoice']}",
                            f"/client/services/{people['service']}/cancel"],
             "reseller": [f"/reseller/customers/{people['customer']}", "/reseller/cancellations"],
             "admin": ["/admin/cancellations"]}
    problems: list[str] = []
    for role in ("subscriber", "reseller", "admin"):
        for width in (DESKTOP, PHONE):
            page = new_context(viewport=width).new_page()
            sign_in(page, people[role])
            paths = pages_of(page, *extra[role])
            assert len(paths) >= 5, (role, paths)
            for path in paths:
                check(page, path, width, problems)
            page.context.close()
    assert not problems, "\n".join(problems)


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
