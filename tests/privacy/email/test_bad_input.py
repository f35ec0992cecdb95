"""Hostile and broken one-click requests (P14): forged, truncated, revoked, erased, wrong body,
oversized, floods."""

from __future__ import annotations

import pytest

from panel.accounts.erasure import erase
from panel.extensions import db
from plugins.privacy.email.services import preferences as email_prefs
from plugins.privacy.email.services import unsubscribe

FORM = "application/x-www-form-urlencoded"
ONE_CLICK = "List-Unsubscribe=One-Click"


@pytest.fixture
def ada(factories):
    user = factories.subscriber()
    email_prefs.change(user.account, {"newsletter": True}, "import")
    db.session.commit()
    return user


def _post(client, token, body=ONE_CLICK, **kw):
    return client.post(f"/unsubscribe/{token}", data=body, content_type=kw.pop("ct", FORM), **kw)


def _subscribed(user) -> bool:
    return email_prefs.allowed(user.account, "newsletter")


def test_p14_get_shows_confirmation_and_changes_nothing(app, ada):
    token = unsubscribe.make(ada.account.id, "newsletter")
    page = app.test_client().get(f"/unsubscribe/{token}")
    assert page.status_code == 200
    assert 'name="List-Unsubscribe" value="One-Click"' in page.get_data(as_text=True)
    assert _subscribed(ada)


def test_p14_forged_and_truncated_tokens_are_refused(app, ada):
    token = unsubscribe.make(ada.account.id, "newsletter")
    client = app.test_client()
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (forged, token[: len(token) // 2], "x" * 400, "not-a-token"):
        answer = _post(client, bad)
        assert answer.status_code == 404, bad
        assert "not valid" in answer.get_data(as_text=True)
    # a token signed with another key names another account in vain
    from itsdangerous import URLSafeSerializer
    other = URLSafeSerializer("another-secret-key-000000", salt=unsubscribe.SALT).dumps(
        [ada.account.id.hex, "newsletter", 0])
    assert _post(client, other).status_code == 404
    assert _subscribed(ada)


def test_p14_revoked_one_click_link_still_unsubscribes_but_opens_nothing_else(app, ada):
    """Revoking stops a forwarded email's links from opening the preference centre; its
    one-click unsubscribe keeps working, because a mail provider's button must not fail."""
    token = unsubscribe.make(ada.account.id, "newsletter")
    centre = unsubscribe.make(ada.account.id)
    unsubscribe.revoke_all(ada.account)
    db.session.commit()
    client = app.test_client()
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and "revoked" in page.get_data(as_text=True)
    assert "/email-preferences/" not in page.get_data(as_text=True)
    refused = client.get(f"/email-preferences/{centre}")
    assert refused.status_code == 404 and "revoked" in refused.get_data(as_text=True)
    assert _subscribed(ada)
    assert _post(client, token).status_code == 200
    assert not _subscribed(ada)


@pytest.mark.parametrize("body,ct", [
    ("List-Unsubscribe=Yes", FORM), ("", FORM), ("unsubscribe=One-Click", FORM),
    ('{"List-Unsubscribe": "One-Click"}', "application/json"),
])
def test_p14_post_with_the_wrong_body_changes_nothing(app, ada, body, ct):
    token = unsubscribe.make(ada.account.id, "newsletter")
    answer = _post(app.test_client(), token, body, ct=ct)
    assert answer.status_code == 400
    assert "List-Unsubscribe=One-Click" in answer.get_data(as_text=True)
    assert _subscribed(ada)


def test_p14_oversized_body_is_refused(app, ada):
    token = unsubscribe.make(ada.account.id, "newsletter")
    for size in (5000, 2 * 1024 * 1024):
        answer = _post(app.test_client(), token, ONE_CLICK + "&pad=" + "x" * size)
        assert answer.status_code == 413
    assert _subscribed(ada)


def test_p14_token_for_an_erased_account_does_nothing(app, ada):
    token = unsubscribe.make(ada.account.id, "newsletter")
    erase(ada.account, None)
    db.session.commit()
    answer = _post(app.test_client(), token)
    assert answer.status_code == 404
    assert "closed" in answer.get_data(as_text=True)
    assert app.test_client().get(f"/email-preferences/{token}").status_code == 404


def test_p14_flood_is_rate_limited_per_ip_but_real_unsubscribes_pass(app, ada, factories):
    app.config["UNSUBSCRIBE_BAD_LIMIT_PER_IP"] = "5 per minute"
    client = app.test_client()
    codes = [_post(client, f"garbage{i}.token").status_code for i in range(8)]
    assert codes[:5] == [404] * 5 and codes[5:] == [429] * 3
    # the same IP with a real link is still unsubscribed at once
    assert _post(client, unsubscribe.make(ada.account.id, "newsletter")).status_code == 200
    assert not _subscribed(ada)
    # another IP is not limited by the flood
    other = app.test_client()
    assert _post(other, "garbage.token", environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 404


def test_p14_one_click_needs_no_csrf_but_the_tokened_centre_does(app, ada):
    token = unsubscribe.make(ada.account.id)
    client = app.test_client()
    answer = client.post(f"/email-preferences/{token}", data={"category": ["newsletter"]})
    assert answer.status_code == 400  # no CSRF token
    assert _subscribed(ada)
