"""The one browser walk: every page, as every role, at 1280 and 375 px, each page loaded once and
given every check of tests/browser/checks.py at both widths (axe-core at any impact, no
sideways scroll on a phone, no word broken inside itself, a label for each field, text
contrast, status, Content-Security-Policy and viewport, no request to another host).

The pages are those each demo person reaches through the menu (tests/browser/walk.py, which
`make screenshots` shares), so a new page is checked as soon as it is linked. One browser, one
context per role. Each check is its own test, fed by the one walk, and names every failing
page, role and width.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser

from panel import demo
from tests.browser import checks
from tests.browser.walk import ROLES, WIDTHS, demo_site, visits

pytestmark = pytest.mark.browser


@dataclass
class Walk:
    pages: list[str] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=checks.empty)
    seconds: float = 0.0


@pytest.fixture(scope="module")
def walk(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Walk:
    started, result = time.monotonic(), Walk()
    plugins = os.environ.get("PANEL_TEST_PLUGINS", "privacy")
    requests: list[str] = []
    with demo_site(tmp_path_factory.mktemp("walk") / "instance", PLUGINS=plugins) as (_app, base):
        for role, page, stop in visits(browser, base, ["anonymous", *ROLES], demo.DEFAULT_PASSWORD,
                                       prepare=lambda context: checks.prepare(context, requests)):
            where = f"{role} {stop.path}"
            result.pages.append(where)
            checks.check_page(page, stop.response, where, WIDTHS, result.problems)
            checks.off_site(requests, base, where, result.problems)
    result.seconds = time.monotonic() - started
    print(f"\nbrowser walk: {len(result.pages)} pages x {len(WIDTHS)} widths in {result.seconds:.0f} s")
    return result


def test_the_walk_reaches_every_area(walk: Walk) -> None:
    areas = {where.split()[0] + " " + "/".join(where.split()[1].split("/")[:2]) for where in walk.pages}
    assert len(walk.pages) > 40, walk.pages
    for expected in ("anonymous /login", "subscriber /client", "customer-of-reseller /client",
                     "reseller /reseller", "staff /admin", "staff-in-session /admin", "admin /admin"):
        assert expected in areas, (expected, sorted(areas))


@pytest.mark.parametrize("check", checks.CHECKS)
def test_every_page_passes(walk: Walk, check: str) -> None:
    """status: 200 with the CSP and viewport; axe: no violation of any impact; sideways: no
    scroll at 375 px; broken words: no word split inside itself (long tokens may break);
    labels: one label per field; contrast: WCAG AA; off-site: nothing from another host."""
    assert walk.problems[check] == [], checks.report(walk.problems, check)
