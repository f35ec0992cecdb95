"""Each check of the browser walk (tests/browser/checks.py) fails on the defect it is for: a page
with one defect of each kind, served with the panel's own headers from a routed address."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.browser import checks

pytestmark = pytest.mark.browser

BASE = "http://panel.test"
# The panel's policy, with inline styles and any image allowed so the defects below show.
CSP = "default-src 'self'; script-src 'self'; style-src 'unsafe-inline'; img-src *"
HEAD = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title>' \
       '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
GOOD = f'{HEAD}<body><main><h1>A page</h1><table><caption>Invoices</caption>' \
       '<tr><th scope="col">Result</th></tr><tr><td>Newsletter</td></tr></table></main></body></html>'
#: One defect per check: what the check must report.
BAD = {
    "axe": '<main><h1>A page</h1><img src="/x.png"></main>',  # an image without alt text
    "sideways": '<main><h1>A page</h1><p style="width: 600px">wide</p></main>',
    "broken words": '<main><h1>A page</h1><table style="width: 3em; overflow-wrap: anywhere">'
                    '<tr><th scope="col">Newsletter</th></tr><tr><td>x</td></tr></table></main>',
    "labels": '<main><h1>A page</h1><form><input name="email" aria-label="Email"></form></main>',
    "contrast": '<main><h1>A page</h1><p style="color: #ccc">pale</p></main>',
    "off-site": '<main><h1>A page</h1><img alt="" src="http://elsewhere.test/pixel.png"></main>',
}


def _problems(browser: Browser, body: str, status: int = 200, csp: str = CSP) -> dict[str, list[str]]:
    context = browser.new_context(base_url=BASE)
    requests: list[str] = []
    checks.prepare(context, requests)
    context.route("**/*", lambda route: route.fulfill(
        status=status if route.request.url == f"{BASE}/" else 404, content_type="text/html",
        headers={"Content-Security-Policy": csp},
        body=body if route.request.url == f"{BASE}/" else ""))
    page = context.new_page()
    problems = checks.empty()
    try:
        checks.check_page(page, page.goto("/"), "test /", (1280, checks.PHONE), problems)
        checks.off_site(requests, BASE, "test /", problems)
    finally:
        context.close()
    return problems


def test_a_good_page_passes_every_check(browser: Browser) -> None:
    assert _problems(browser, GOOD) == checks.empty()


@pytest.mark.parametrize("check", sorted(BAD))
def test_each_check_finds_its_defect(browser: Browser, check: str) -> None:
    problems = _problems(browser, f"{HEAD}<body>{BAD[check]}</body></html>")
    assert problems[check], problems
    assert all(line.startswith("test /") for line in problems[check])


def test_status_finds_a_wrong_answer_and_a_missing_policy(browser: Browser) -> None:
    assert _problems(browser, GOOD, status=500)["status"]
    assert _problems(browser, GOOD, csp="")["status"]
    assert _problems(browser, GOOD.replace('<meta name="viewport"', '<meta name="x"'))["status"]
