"""Issue 8, done when: a browser sees the cookie banner, and with ``Sec-GPC: 1`` no analytics
cookie is ever set and no page view is counted (P23)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect
from sqlalchemy import func, select

from panel.extensions import db
from plugins.privacy.retention.models import CookieConsent, PageView
from tests.browser_fixtures import settle

pytestmark = pytest.mark.browser


def _views() -> int:
    settle()
    return int(db.session.scalar(select(func.coalesce(func.sum(PageView.views), 0))))


def test_p23_banner_without_javascript_and_gpc_honoured(
        app, new_context: Callable[..., BrowserContext]) -> None:
    plain = new_context(java_script_enabled=False)
    page = plain.new_page()
    page.goto("/login")
    banner = page.get_by_role("region", name="Cookies")
    expect(banner).to_be_visible()
    assert {c["name"] for c in plain.cookies()} <= {"panel_session"}
    banner.get_by_role("button", name="Accept all").click()
    expect(page.get_by_role("region", name="Cookies")).to_have_count(0)
    page.goto("/login")
    assert "panel_analytics" in {c["name"] for c in plain.cookies()}
    assert _views() == 2  # the page after choosing, and this one

    gpc = new_context(extra_http_headers={"Sec-GPC": "1"})
    page = gpc.new_page()
    page.goto("/login")
    banner = page.get_by_role("region", name="Cookies")
    expect(banner).to_contain_text("Global Privacy Control")
    expect(banner).to_contain_text("honour it")
    banner.get_by_role("button", name="Accept all").click()
    for path in ("/login", "/cookies", "/login"):
        page.goto(path)
    page.get_by_role("link", name="Cookie settings").first.click()
    expect(page.get_by_role("status").first).to_contain_text("Global Privacy Control")
    assert "panel_analytics" not in {c["name"] for c in gpc.cookies()}
    assert _views() == 2  # still only the first visitor's views
    signals = db.session.execute(select(CookieConsent.signal)).scalars().all()
    assert sorted(s or "" for s in signals) == ["", "gpc"]
