"""Each check of the browser walk (tests/browser/checks.py) fails on the defect it is for: a page
with one defect of each kind, served with the panel's own headers from a routed address."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Route

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


#: Each case: (status, Content-Security-Policy, body).
CASES = {"good": (200, CSP, GOOD), "status 500": (500, CSP, GOOD), "no policy": (200, "", GOOD),
         "no viewport": (200, CSP, GOOD.replace('<meta name="viewport"', '<meta name="x"')),
         **{check: (200, CSP, f"{HEAD}<body>{body}</body></html>") for check, body in BAD.items()}}


@pytest.fixture(scope="module")
def found(browser: Browser) -> dict[str, dict[str, list[str]]]:
    """What the checks report on each case's page, all in one context."""
    context = browser.new_context(base_url=BASE)
    requests: list[str] = []
    checks.prepare(context, requests)
    paths = {f"{BASE}/{i}": case for i, case in enumerate(CASES.values())}

    def serve(route: Route) -> None:
        status, csp, body = paths.get(route.request.url, (404, CSP, ""))
        route.fulfill(status=status, content_type="text/html", body=body,
                      headers={"Content-Security-Policy": csp})

    context.route("**/*", serve)
    page = context.new_page()
    result = {}
    try:
        for i, name in enumerate(CASES):
            problems = checks.empty()
            checks.check_page(page, page.goto(f"/{i}"), f"test /{i}", (1280, checks.PHONE), problems)
            checks.off_site(requests, BASE, f"test /{i}", problems)
            result[name] = problems
    finally:
        context.close()
    return result


def test_a_good_page_passes_every_check(found: dict[str, dict[str, list[str]]]) -> None:
    assert found["good"] == checks.empty()


@pytest.mark.parametrize("check", sorted(BAD))
def test_each_check_finds_its_defect(found: dict[str, dict[str, list[str]]], check: str) -> None:
    assert found[check][check], found[check]
    assert all(line.startswith("test /") for line in found[check][check])


@pytest.mark.parametrize("case", ["status 500", "no policy", "no viewport"])
def test_status_finds_a_wrong_answer_a_missing_policy_or_viewport(
        found: dict[str, dict[str, list[str]]], case: str) -> None:
    assert found[case]["status"], found[case]
