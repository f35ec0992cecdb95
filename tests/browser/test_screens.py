"""The screens the browser walk (tests/browser/test_walk.py) cannot reach by following links, on
a 375 px phone: a form sent back with its error, a page that is not there, a search sent by
POST. Each gets every check of the walk (tests/browser/checks.py). Also: a sensible keyboard
order, and long addresses and domain names that wrap."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser import checks
from tests.browser.helpers import sign_in
from tests.browser_fixtures import settle
from tests.factories import DEFAULT_PASSWORD, Factories

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}

WIDTH_JS = """() => {
  const doc = document.documentElement, limit = doc.clientWidth + 1;
  const over = [...document.querySelectorAll("body *")].filter(e =>
    e.getBoundingClientRect().right > limit || (e.clientWidth && e.scrollWidth > e.clientWidth + 1));
  const innermost = over.filter(e => !over.some(o => o !== e && e.contains(o)));
  return {scroll: doc.scrollWidth, client: doc.clientWidth, inner: window.innerWidth,
          wide: innermost.slice(0, 3).map(e => e.tagName + " " + (e.textContent || "").trim().slice(0, 50))};
}"""


def check_screen(page: Page, response: Any, status: int, where: str) -> None:
    problems = checks.empty()
    checks.check_page(page, response, where, (PHONE["width"],), problems, status)
    assert [line for lines in problems.values() for line in lines] == [], problems


def visit(page: Page, path: str, status: int = 200) -> None:
    check_screen(page, page.goto(path), status, path)


@pytest.fixture
def people(factories: Factories) -> dict[str, Any]:
    """A subscriber with a full profile, and an admin who finds them by client id."""
    sub = factories.subscriber(company="Lovelace Analytical Engines Ltd", address1="12 St James's Square")
    admin = factories.staff("admin")
    ids = {"subscriber": sub.email, "admin": admin.email, "number": str(sub.account.number)}
    settle()
    return ids


def test_error_and_posted_screens_pass_every_check_on_a_phone(
        new_context: Callable[..., BrowserContext], live_server: str, people: dict[str, Any]) -> None:
    contexts = []

    def phone() -> Page:
        context = new_context(viewport=PHONE)
        checks.prepare(context, [])  # axe in every page; off-site requests are checked below
        contexts.append(context)
        return context.new_page()

    page = phone()
    visit(page, "/no-such-page", 404)
    page.goto("/login")
    page.get_by_label("Email").fill(people["subscriber"])
    page.get_by_label("Password").fill("a wrong password")
    with page.expect_navigation() as sent:
        page.get_by_role("button", name="Sign in").click()
    check_screen(page, sent.value, 200, "login with an error")
    expect(page.get_by_text("The email address or password is not right.")).to_be_visible()
    sign_in(page, people["subscriber"])
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    visit(page, "/admin/", 404)
    page.goto("/client/profile")
    page.get_by_label("Phone", exact=True).fill("not a number")
    with page.expect_navigation() as sent:
        page.get_by_role("button", name="Save").click()
    check_screen(page, sent.value, 400, "profile with an error")

    page = phone()
    sign_in(page, people["admin"])
    page.goto("/admin/")
    page.get_by_label("Find by client id").fill(str(people["number"]))
    with page.expect_navigation() as sent:
        page.get_by_role("button", name="Search").click()
    check_screen(page, sent.value, 200, "customer search")  # posted: the term is in no URL
    assert page.url.rstrip("/").endswith("/admin")

    seen = [url for context in contexts for url in context.requests_seen]  # type: ignore[attr-defined]
    assert len(seen) > 10
    assert [url for url in seen if not url.startswith(live_server + "/")] == []


def test_keyboard_order_follows_the_page(page: Page, factories: Factories) -> None:
    email = factories.subscriber().email
    settle()

    def focused() -> str:
        return page.evaluate("""() => { const e = document.activeElement;
            return e.id || e.getAttribute("name") || (e.textContent || "").trim(); }""")

    page.goto("/login")
    page.keyboard.press("Tab")
    assert focused() == "Skip to content"
    expect(page.get_by_role("link", name="Skip to content")).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert focused() == "main"
    order = []
    for _ in range(3):
        page.keyboard.press("Tab")
        order.append(focused())
    assert order == ["email", "password", "Sign in"]

    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.keyboard.press("Enter")  # the form is sent from the keyboard alone
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")

    page.goto("/client/profile")
    page.get_by_label("First name").focus()
    order = [focused()]
    for _ in range(11):
        page.keyboard.press("Tab")
        order.append(focused())
    assert order == ["first_name", "last_name", "company", "phone", "address1", "address2", "city",
                     "state", "postcode", "country", "tax_id", "Save"]


def test_long_emails_and_domain_names_wrap_on_a_phone(
        new_context: Callable[..., BrowserContext], factories: Factories) -> None:
    """Real addresses and domain names are often longer than a phone is wide (a domain label
    alone may have 63 characters): they must wrap, not push the page sideways."""
    reseller = factories.reseller()
    sub = factories.subscriber(email="accounts.payable@northwestern-regional-logistics.example",
                               reseller=reseller)
    domain = factories.domain(sub.account, "northwestern-regional-logistics-and-warehousing.example")
    factories.staff(name="Grace Hopper-Longname", email="grace.hopper.longname@support.example.com")
    emails = {"subscriber": sub.email, "reseller": reseller.email, "admin": factories.staff("admin").email}
    account, domain_id = str(sub.account_id), str(domain.id)
    settle()
    screens = {"subscriber": ["/client/profile", f"/client/domains/{domain_id}",
                              f"/client/domains/{domain_id}/contacts/registrant"],
               "reseller": [f"/reseller/customers/{account}"],  # staff see the same template
               "admin": ["/admin/team/"]}
    too_wide = {}
    for role, paths in screens.items():
        page = new_context(viewport=PHONE).new_page()
        sign_in(page, emails[role])
        for path in paths:
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            width = page.evaluate(WIDTH_JS)
            if width["scroll"] > width["client"]:
                too_wide[path] = f"{width['scroll']} px wide, widest: {width['wide'][:2]}"
    assert not too_wide, "these screens scroll sideways on a 375 px phone:\n" + "\n".join(
        f"  {path}: {what}" for path, what in too_wide.items())
