"""Cookie consent (P23): essential cookies only, a banner without JavaScript, GPC/DNT honoured."""

from __future__ import annotations

from sqlalchemy import func, select

from panel.extensions import db
from plugins.privacy.retention.models import CookieConsent, PageView
from plugins.privacy.retention.services.cookie_consent import ANALYTICS_COOKIE, COOKIE
from tests.conftest import CSRF_RE, post_form


def _views() -> int:
    return int(db.session.scalar(select(func.coalesce(func.sum(PageView.views), 0))))


def _cookie_names(response) -> set[str]:
    return {h.split("=", 1)[0] for h in response.headers.getlist("Set-Cookie")}


def test_p23_only_the_session_cookie_before_consent_and_the_banner_shows(app, client):
    page = client.get("/login")
    assert _cookie_names(page) <= {"panel_session"}  # the CSRF token lives in the session
    html = page.get_data(as_text=True)
    assert "Accept all" in html and "Reject all" in html and "Choose per category" in html
    assert 'href="/cookies"' in html  # the footer link to change it later
    client.get("/login")
    assert _views() == 0  # no consent: nothing counted
    assert client.get_cookie(ANALYTICS_COOKIE) is None


def test_p23_accept_all_counts_page_views_and_is_recorded(app, client):
    client.get("/login")
    done = post_form(client, "/cookies", {"choice": "accept_all", "next": "/login"},
                     token_from="/login")
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert client.get_cookie(COOKIE) is not None
    evidence = db.session.execute(select(CookieConsent)).scalar_one()
    assert evidence.analytics and evidence.targeting and evidence.user_id is None
    page = client.get("/login")
    assert "Accept all" not in page.get_data(as_text=True)  # no banner once chosen
    assert client.get_cookie(ANALYTICS_COOKIE) is not None
    client.get("/login")
    row = db.session.execute(select(PageView)).scalar_one()
    assert (row.path, row.views, row.visitors) == ("/login", 2, 1)


def test_p23_reject_then_change_from_the_footer_page(app, client):
    post_form(client, "/cookies", {"choice": "reject_all"}, token_from="/login")
    client.get("/login")
    assert _views() == 0
    post_form(client, "/cookies", {"choice": "custom", "analytics": "y"})
    client.get("/login")
    assert _views() == 1
    post_form(client, "/cookies", {"choice": "custom"})  # analytics withdrawn
    after = client.get("/login")
    assert _views() == 1
    assert f"{ANALYTICS_COOKIE}=;" in " ".join(after.headers.getlist("Set-Cookie"))  # deleted
    choices = db.session.execute(select(CookieConsent.choice).order_by(
        CookieConsent.at)).scalars().all()
    assert choices == ["reject_all", "custom", "custom"]


def test_p23_gpc_and_dnt_refuse_analytics_whatever_was_chosen(app, client):
    for header in ({"Sec-GPC": "1"}, {"DNT": "1"}):
        page = client.get("/login", headers=header).get_data(as_text=True)
        assert ("Global Privacy Control" if "Sec-GPC" in header else "Do Not Track") in page
        assert "honour it" in page
        token = next(t for t in CSRF_RE.search(page).groups() if t)
        done = client.post("/cookies", data={"csrf_token": token, "choice": "accept_all"},
                           headers=header)
        assert done.status_code == 302
        client.get("/login", headers=header)
        assert client.get_cookie(ANALYTICS_COOKIE) is None
        assert _views() == 0
    signals = db.session.execute(select(CookieConsent.signal).order_by(
        CookieConsent.at)).scalars().all()
    assert signals == ["gpc", "dnt"]


def test_p23_consent_post_without_csrf_is_refused(app, client):
    client.get("/login")
    response = client.post("/cookies", data={"choice": "accept_all"})
    assert response.status_code == 400 and "Form expired" in response.get_data(as_text=True)
    assert client.get_cookie(COOKIE) is None
    assert db.session.scalar(select(func.count()).select_from(CookieConsent)) == 0


def test_p23_unknown_choice_is_refused_and_nothing_saved(app, client):
    response = post_form(client, "/cookies", {"choice": "sell_everything"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(CookieConsent)) == 0


def test_p23_forged_consent_cookie_is_ignored(app, client):
    from itsdangerous import URLSafeTimedSerializer

    forged = URLSafeTimedSerializer("not-the-key", salt="panel.cookie-consent").dumps(
        {"v": "2025-1", "a": True, "t": True})
    for value in (forged, "garbage", "x" * 4000, '{"v":"2025-1","a":true}'):
        client.set_cookie(COOKIE, value)
        page = client.get("/login").get_data(as_text=True)
        assert "Accept all" in page  # treated as no choice: the banner is back
        assert client.get_cookie(ANALYTICS_COOKIE) is None
    assert _views() == 0


def test_p23_signed_in_choice_is_tied_to_the_account(app, client, login_as):
    user = login_as("subscriber")
    post_form(client, "/cookies", {"choice": "reject_all"})
    evidence = db.session.execute(select(CookieConsent)).scalar_one()
    assert evidence.user_id == user.id and evidence.account_id == user.account_id
    page = client.get("/cookies").get_data(as_text=True)
    assert "Your recorded choices" in page and "reject all" in page
