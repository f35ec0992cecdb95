"""Every page, as every role, at 1280 and 375 px: axe-core finds nothing, and a phone never
scrolls sideways.

The pages are those each demo person reaches through the menu (tests/browser/walk.py), so a
new page is checked as soon as it is linked. One walk serves both tests: one browser, one
context per role, each page loaded once and checked at both widths.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from panel import demo
from tests.browser.walk import HEIGHT, PUBLIC, ROLES, WIDTHS, demo_site, enter, stops
from tests.browser_fixtures import TIMEOUT_MS

pytestmark = pytest.mark.browser

PHONE = 375

# How much wider than the window the page is, and the innermost elements that stick out.
SCROLL_JS = """() => {
  const doc = document.documentElement, limit = doc.clientWidth + 1;
  const over = [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > limit);
  const innermost = over.filter(e => !over.some(o => o !== e && e.contains(o)));
  return {extra: doc.scrollWidth - doc.clientWidth,
          wide: innermost.slice(0, 3).map(e => e.tagName + " " + (e.textContent || "").trim().slice(0, 40))};
}"""


@dataclass
class Walk:
    pages: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    sideways: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _violations(axe: Axe, page: Page, where: str) -> list[str]:
    found = axe.run(page).response["violations"]
    return [f"{where}: {v['id']} ({v['impact']}) {v['help']}: "
            + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
            + (f" (+{len(v['nodes']) - 5} more)" if len(v["nodes"]) > 5 else "")
            for v in found]


def _check(axe: Axe, page: Page, walk: Walk, where: str) -> None:
    walk.pages.append(where)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        walk.violations += _violations(axe, page, f"{where} at {width} px")
        if width == PHONE:
            scroll = page.evaluate(SCROLL_JS)
            if scroll["extra"] > 0:
                walk.sideways.append(f"{where}: {scroll['extra']} px too wide, {scroll['wide']}")
    page.set_viewport_size({"width": WIDTHS[0], "height": HEIGHT})


@pytest.fixture(scope="module")
def walk(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Walk:
    started, result, axe = time.monotonic(), Walk(), Axe()
    plugins = os.environ.get("PANEL_TEST_PLUGINS", "privacy")
    with demo_site(tmp_path_factory.mktemp("axe") / "instance", PLUGINS=plugins) as (_app, base):
        for role in ["anonymous", *ROLES]:
            context = browser.new_context(base_url=base, viewport={"width": WIDTHS[0], "height": HEIGHT})
            context.set_default_timeout(TIMEOUT_MS * 3)
            page = context.new_page()
            if role == "anonymous":
                for path in PUBLIC:
                    response = page.goto(path)
                    if response is not None and response.status != 404:
                        _check(axe, page, result, f"{role} {path}")
            else:
                for extra in enter(page, role, demo.DEFAULT_PASSWORD):
                    page.goto(extra.path)
                    _check(axe, page, result, f"{role} {extra.path} ({extra.name})")
                for stop in stops(page):
                    _check(axe, page, result, f"{role} {stop.path}")
            context.close()
    result.seconds = time.monotonic() - started
    print(f"\naxe walk: {len(result.pages)} pages x {len(WIDTHS)} widths in {result.seconds:.0f} s")
    return result


def test_axe_finds_no_violation_of_any_impact_on_any_page(walk: Walk) -> None:
    assert len(walk.pages) > 40, walk.pages  # the walk really went through every area
    assert walk.violations == [], "\n".join(walk.violations)


def test_no_page_scrolls_sideways_at_375_px(walk: Walk) -> None:
    assert walk.pages
    assert walk.sideways == [], "\n".join(walk.sideways)
