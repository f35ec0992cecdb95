"""Sign-in and activity log (P21): failures, security actions, other sessions, new browsers."""

from __future__ import annotations

from sqlalchemy import select, text

from panel.extensions import db
from panel.mail.models import OutboxMessage
from plugins.privacy.retention.models import ActivityEvent
from tests.conftest import login, post_form
from tests.factories import DEFAULT_PASSWORD

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")


def _notices(user) -> list[OutboxMessage]:
    return list(db.session.execute(select(OutboxMessage).where(
        OutboxMessage.account_id == user.account_id,
        OutboxMessage.subject == "New sign-in to your hosting panel account")).scalars())


def test_p21_failed_sign_in_is_in_the_history_with_browser_and_reason(app, client, factories):
    user = factories.subscriber()
    client.environ_base["HTTP_USER_AGENT"] = FIREFOX
    wrong = post_form(client, "/login", {"email": user.email, "password": "not it"})
    assert wrong.status_code == 200
    assert login(client, user).status_code == 302
    page = client.get("/client/privacy/activity").get_data(as_text=True)
    assert "Sign-in failed: wrong password" in page
    assert "Signed in" in page and "Firefox on Linux" in page
    assert "127.0.0.1" in page  # the IP, decrypted for its owner


def test_p21_unknown_address_failure_keeps_no_address(app, client):
    post_form(client, "/login", {"email": "ghost.person@example.org", "password": "x"})
    event = db.session.execute(select(ActivityEvent)).scalar_one()
    assert event.user_id is None and event.kind == "signin.failed"
    with db.engine.connect() as conn:
        dump = " ".join(str(v) for row in conn.execute(text(
            "SELECT * FROM privacy_activity_event")) for v in row)
    assert "ghost" not in dump and "127.0.0.1" not in dump  # IP sealed, address not kept


def test_p21_password_change_is_recorded(app, client, login_as):
    user = login_as("subscriber")
    post_form(client, "/account/password", {"current": DEFAULT_PASSWORD, "new": "another long pass 42",
                                            "confirm": "another long pass 42"})
    kinds = db.session.execute(select(ActivityEvent.kind).where(
        ActivityEvent.account_id == user.account_id)).scalars().all()
    assert "password.change" in kinds
    assert "Password changed" in client.get("/client/privacy/activity").get_data(as_text=True)


def test_p21_sign_out_my_other_sessions(app, factories):
    user = factories.subscriber()
    first, second = app.test_client(), app.test_client()
    login(first, user)
    login(second, user)
    assert second.get("/client/privacy/activity").status_code == 200
    done = post_form(first, "/client/privacy/activity/sign-out-others", {},
                     token_from="/client/privacy/activity")
    assert done.status_code == 302
    assert first.get("/client/privacy/activity").status_code == 200  # this one stays in
    assert second.get("/client/privacy/activity").status_code == 302  # the other is out
    assert "Other sessions signed out" in first.get("/client/privacy/activity").get_data(as_text=True)
    missing_csrf = first.post("/client/privacy/activity/sign-out-others")
    assert missing_csrf.status_code in (302, 400)
    assert second.get("/client/privacy/activity").status_code == 302


def test_p21_new_browser_sends_a_notice_and_a_known_one_does_not(app, factories):
    user = factories.subscriber()
    laptop = app.test_client()
    laptop.environ_base["HTTP_USER_AGENT"] = FIREFOX
    login(laptop, user)
    assert _notices(user) == []  # the first browser ever: nothing to compare with
    assert laptop.get_cookie("panel_device") is not None
    post_form(laptop, "/logout", {}, token_from="/client/privacy/activity")
    login(laptop, user)  # same browser, device cookie known
    assert _notices(user) == []
    phone = app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = SAFARI
    login(phone, user)
    notices = _notices(user)
    assert len(notices) == 1 and notices[0].category == "transactional"
    assert "Safari on iOS" in notices[0].body
    other_firefox = app.test_client()  # no device cookie, but a browser family seen before
    other_firefox.environ_base["HTTP_USER_AGENT"] = FIREFOX
    login(other_firefox, user)
    assert len(_notices(user)) == 1


def test_p21_new_country_sends_a_notice(app, factories, monkeypatch):
    from plugins.privacy.retention.services import activity

    user = factories.subscriber()
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = FIREFOX
    monkeypatch.setattr(activity, "country_of", lambda ip: "GB")
    login(client, user)
    post_form(client, "/logout", {}, token_from="/client/privacy/activity")
    monkeypatch.setattr(activity, "country_of", lambda ip: "BR")
    login(client, user)
    notices = _notices(user)
    assert len(notices) == 1 and "Country: BR" in notices[0].body


def test_p09_subscriber_closes_account_with_password(app, client, login_as):
    user = login_as("subscriber")
    bad = post_form(client, "/client/privacy/activity/close", {"password": "wrong",
                                                                "understood": "y"})
    assert bad.status_code == 400 and "not right" in bad.get_data(as_text=True)
    unticked = post_form(client, "/client/privacy/activity/close", {"password": DEFAULT_PASSWORD})
    assert unticked.status_code == 400
    done = post_form(client, "/client/privacy/activity/close", {"password": DEFAULT_PASSWORD,
                                                                 "understood": "y"})
    assert done.status_code == 302
    db.session.expire_all()
    assert user.account.closed_at is not None and user.account.status == "closed"
    assert client.get("/client/privacy/activity").status_code == 302  # signed out
    assert login(client, user).status_code == 403  # and cannot sign in again


def test_p09_staff_close_an_account_only_inside_an_access_session(app, client, factories,
                                                                  login_as):
    customer = factories.subscriber()
    login_as("staff")
    url = f"/admin/privacy/accounts/{customer.account_id}/closure"
    assert client.get(url).status_code == 302  # to opening an access session
    post_form(client, f"/admin/access/new/{customer.account_id}",
              {"reason": "support", "ticket": "T-1", "note": "n", "minutes": "30"})
    assert post_form(client, url, {"action": "close", "confirm": "yes"}).status_code == 302
    db.session.expire_all()
    assert customer.account.closed_at is not None
    assert post_form(client, url, {"action": "reopen"}).status_code == 302
    db.session.expire_all()
    assert customer.account.closed_at is None
    assert client.get("/admin/privacy/accounts/not-an-id/closure").status_code == 404
    from plugins.privacy.retention.models import ActivityEvent

    done = db.session.execute(select(ActivityEvent).where(
        ActivityEvent.account_id == customer.account_id,
        ActivityEvent.kind.in_(("account.close", "account.reopen")))).scalars().all()
    assert len(done) == 2  # the customer sees both, by staff, without the staff's IP or browser
    assert all(e.method == "staff" and e.ip is None and e.user_agent is None for e in done)
