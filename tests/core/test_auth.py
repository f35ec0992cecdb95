"""Sign-in, throttling, session hardening and password changes."""

from __future__ import annotations

import re

from panel.auth.models import User
from panel.extensions import db
from tests.conftest import csrf_token, login, post_form
from tests.factories import DEFAULT_PASSWORD


def test_unknown_email_and_wrong_password_get_the_same_answer(client, factories):
    factories.subscriber(email="known@example.com")
    wrong = login(client, "known@example.com", "not the password")
    unknown = login(client, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 200
    text = "The email address or password is not right."
    assert text in wrong.get_data(as_text=True)
    assert text in unknown.get_data(as_text=True)
    # the page differs only in what the user typed
    assert wrong.get_data(as_text=True).replace("known@", "X@").split("csrf_token")[-1][200:] == \
        unknown.get_data(as_text=True).replace("nobody@", "X@").split("csrf_token")[-1][200:]


def test_failed_sign_ins_are_throttled_per_account(client, factories):
    factories.subscriber(email="target@example.com")
    for _ in range(5):
        assert login(client, "target@example.com", "guess").status_code == 200
    blocked = login(client, "target@example.com", DEFAULT_PASSWORD)
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)


def test_failed_sign_ins_are_throttled_per_ip_across_accounts(client, factories, app):
    app.config["LOGIN_LIMIT_PER_IP"] = "3 per minute"
    for n in range(3):
        login(client, f"spray{n}@example.com", "guess")
    assert login(client, "spray9@example.com", "guess").status_code == 429


def test_successful_sign_ins_do_not_count_against_the_limit(client, factories):
    user = factories.subscriber()
    for _ in range(7):
        assert login(client, user).status_code == 302
        post_form(client, "/logout", token_from="/client/")


def test_sign_in_rotates_the_session(client, factories):
    user = factories.subscriber()
    before = csrf_token(client, "/login")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    assert login(client, user).status_code == 302
    with client.session_transaction() as sess:
        assert "planted" not in sess
    assert csrf_token(client, "/client/profile") != before


def test_session_cookie_is_hardened(client, factories):
    user = factories.subscriber()
    response = login(client, user)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_password_change_signs_out_every_other_session(app, factories):
    user = factories.subscriber()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user)
    login(phone, user)
    assert phone.get("/client/").status_code == 200
    response = post_form(laptop, "/account/password", {
        "current": DEFAULT_PASSWORD, "new": "a brand new passphrase", "confirm": "a brand new passphrase"})
    assert response.status_code == 302
    assert laptop.get("/client/").status_code == 200  # the session that changed it stays in
    assert phone.get("/client/").status_code == 302  # every other one is signed out
    fresh = app.test_client()
    assert login(fresh, user, DEFAULT_PASSWORD).status_code == 200
    assert login(fresh, user, "a brand new passphrase").status_code == 302


def test_password_change_needs_the_current_password(client, login_as):
    login_as("subscriber")
    response = post_form(client, "/account/password", {
        "current": "wrong", "new": "a brand new passphrase", "confirm": "a brand new passphrase"})
    assert response.status_code == 400
    assert "That is not your current password." in response.get_data(as_text=True)


def test_suspended_user_cannot_sign_in(client, factories):
    user = factories.subscriber()
    user.active = False
    db.session.commit()
    response = login(client, user)
    assert response.status_code == 403
    assert "suspended" in response.get_data(as_text=True)


def test_passwords_are_stored_as_argon2id(factories):
    user = factories.subscriber()
    assert db.session.get(User, user.id).password_hash.startswith("$argon2id$")


def test_sign_out_needs_a_post_with_csrf(client, login_as):
    login_as("subscriber")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token: a link cannot sign you out
    assert client.get("/client/").status_code == 200
    assert post_form(client, "/logout", token_from="/client/").status_code == 302
    assert client.get("/client/").status_code == 302


def test_pages_send_a_content_security_policy_without_inline_script(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", response.get_data(as_text=True), re.S)
    assert scripts, "the sign-in page loads the passkey script"
    for attributes, body in scripts:  # only files of the panel's own, nothing inline
        assert re.search(r'\bsrc="/static/[\w.-]+\.js"', attributes) and not body.strip(), attributes
    assert response.headers["X-Frame-Options"] == "DENY"
