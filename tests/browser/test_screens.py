"""Every screen on a 375 px phone: no sideways scrolling, a label for each field, readable
contrast, a sensible keyboard order, the CSP header, and no request to any other host."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from panel.billing import cancellation
from panel.extensions import db
from tests.browser.helpers import sign_in
from tests.browser_fixtures import settle
from tests.factories import DEFAULT_PASSWORD, Factories

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}

# WCAG 2.1 contrast of every visible piece of text against the background it is drawn on.
CONTRAST_JS = """() => {
  const channel = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const lum = c => 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2]);
  const parse = s => { const m = s.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null; const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const backdrop = el => { for (let e = el; e; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor); if (c && c[3] > 0) return c; }
    return [255, 255, 255, 1]; };
  const bad = [], seen = new Set();
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const text = walk.currentNode.textContent.trim(), el = walk.currentNode.parentElement;
    if (!text || seen.has(el)) continue;
    seen.add(el);
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (!box.width || !box.height || box.right <= 0 || style.visibility === "hidden") continue;
    const fg = parse(style.color), bg = backdrop(el);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    const need = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;
    if (ratio < need) bad.push(`${el.tagName} "${text.slice(0, 40)}": ${ratio.toFixed(2)} < ${need}`);
  }
  return bad;
}"""

WIDTH_JS = """() => {
  const doc = document.documentElement, limit = doc.clientWidth + 1;
  const over = [...document.querySelectorAll("body *")].filter(e =>
    e.getBoundingClientRect().right > limit || (e.clientWidth && e.scrollWidth > e.clientWidth + 1));
  const innermost = over.filter(e => !over.some(o => o !== e && e.contains(o)));
  return {scroll: doc.scrollWidth, client: doc.clientWidth, inner: window.innerWidth,
          wide: innermost.slice(0, 3).map(e => e.tagName + " " + (e.textContent || "").trim().slice(0, 50))};
}"""


# Every visible input and select needs a <label for=its id> with text (one round trip per page).
LABELS_JS = """() => [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
  .filter(f => f.getClientRects().length && getComputedStyle(f).visibility !== "hidden")
  .filter(f => { const labels = f.id ? document.querySelectorAll(`label[for="${CSS.escape(f.id)}"]`) : [];
                 return labels.length !== 1 || !labels[0].textContent.trim(); })
  .map(f => `${f.name || "?"} (id=${f.id || "none"})`)"""


def check_screen(page: Page, response: Any, status: int, where: str) -> None:
    assert response is not None, where
    assert response.status == status, (where, response.status)
    csp = response.headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp and "script-src 'self'" in csp, (where, csp)
    assert page.locator('meta[name="viewport"]').get_attribute("content") == \
        "width=device-width, initial-scale=1", where
    width = page.evaluate(WIDTH_JS)
    assert width["client"] <= PHONE["width"]
    assert width["scroll"] <= width["client"] <= width["inner"], (where, width)
    assert page.evaluate(LABELS_JS) == [], where
    assert page.evaluate(CONTRAST_JS) == [], where


def visit(page: Page, path: str, status: int = 200) -> None:
    check_screen(page, page.goto(path), status, path)


@pytest.fixture
def people(factories: Factories) -> dict[str, Any]:
    """A subscriber with something on every page, a reseller with a customer, and an admin."""
    sub = factories.subscriber(company="Lovelace Analytical Engines Ltd", address1="12 St James's Square")
    account = sub.account
    domain = factories.domain(account, "lovelace-engines.example")
    invoice = factories.invoice(account)
    service = factories.service(account)
    factories.payment_method(account)
    reseller = factories.reseller(name="Northwind Hosting")
    customer = factories.subscriber(reseller=reseller)
    ending = factories.service(customer.account)  # a cancellation request staff and reseller see
    ending.next_due_on = date.today() + timedelta(days=9)
    cancellation.request(ending, customer, cancellation.END_OF_PERIOD)
    db.session.commit()
    admin = factories.staff("admin")
    factories.staff(name="Grace Hopper-Longname", email="grace.hopper.longname@support.example.com")
    ids = {"subscriber": sub.email, "reseller": reseller.email, "admin": admin.email,
           "domain": str(domain.id), "invoice": str(invoice.id), "customer": str(customer.account_id),
           "number": str(account.number), "service": str(service.id)}
    settle()
    return ids


def test_every_screen_fits_a_phone_and_stays_on_the_panel(
        new_context: Callable[..., BrowserContext], live_server: str, people: dict[str, Any]) -> None:
    contexts = []

    def phone() -> Page:
        context = new_context(viewport=PHONE)
        contexts.append(context)
        return context.new_page()

    page = phone()
    visit(page, "/login")
    visit(page, "/forgot-password")
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
    for path in ["/client/", "/client/profile", "/client/domains", f"/client/domains/{people['domain']}",
                 f"/client/domains/{people['domain']}/contacts/registrant", "/client/services",
                 "/client/invoices", f"/client/invoices/{people['invoice']}", "/client/privacy/history",
                 f"/client/services/{people['service']}/cancel", "/account/password",
                 "/account/security"]:
        visit(page, path)
    visit(page, "/admin/", 404)
    page.goto("/client/profile")
    page.get_by_label("Phone", exact=True).fill("not a number")
    with page.expect_navigation() as sent:
        page.get_by_role("button", name="Save").click()
    check_screen(page, sent.value, 400, "profile with an error")

    page = phone()
    sign_in(page, people["reseller"])
    for path in ["/reseller/", f"/reseller/customers/{people['customer']}", "/reseller/cancellations",
                 "/account/security"]:
        visit(page, path)

    page = phone()
    sign_in(page, people["admin"])
    for path in ["/admin/", "/admin/plugins", "/admin/mail/", "/admin/cancellations",
                 "/admin/team/", "/account/security"]:
        visit(page, path)
    expect(page.get_by_role("heading", level=1)).not_to_have_text("Not found")
    page.goto("/admin/")
    page.get_by_label("Find by client id").fill(str(people["number"]))
    with page.expect_navigation() as sent:
        page.get_by_role("button", name="Search").click()
    check_screen(page, sent.value, 200, "customer search")  # posted: the term is in no URL
    assert page.url.rstrip("/").endswith("/admin")

    seen = [url for context in contexts for url in context.requests_seen]  # type: ignore[attr-defined]
    assert len(seen) > 20
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
    emails = {"subscriber": sub.email, "reseller": reseller.email}
    account, domain_id = str(sub.account_id), str(domain.id)
    settle()
    screens = {"subscriber": ["/client/profile", f"/client/domains/{domain_id}",
                              f"/client/domains/{domain_id}/contacts/registrant"],
               "reseller": [f"/reseller/customers/{account}"]}  # staff see the same template
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
