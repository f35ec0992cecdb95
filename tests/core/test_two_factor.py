"""Two-step sign-in (TOTP) for resellers, staff and admins."""

from __future__ import annotations

import re

import pyotp

from panel.auth.models import User
from panel.extensions import db
from tests.conftest import post_form
from tests.factories import DEFAULT_PASSWORD


def _password_step(client, user):
    return post_form(client, "/login", {"email": user.email, "password": DEFAULT_PASSWORD})


def test_staff_need_a_code_after_the_password(client, factories):
    staff = factories.staff()
    response = _password_step(client, staff)
    assert response.headers["Location"].endswith("/login/verify")
    assert client.get("/admin/").status_code == 302  # not signed in yet
    wrong = post_form(client, "/login/verify", {"code": "000000"})
    assert "That code is not right" in wrong.get_data(as_text=True)
    code = pyotp.TOTP(staff.totp_secret).now()
    assert post_form(client, "/login/verify", {"code": code}).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_code_works_only_once(app, factories):
    staff = factories.staff()
    first, second = app.test_client(), app.test_client()
    code = pyotp.TOTP(staff.totp_secret).now()
    _password_step(first, staff)
    assert post_form(first, "/login/verify", {"code": code}).status_code == 302
    _password_step(second, staff)
    replay = post_form(second, "/login/verify", {"code": code})
    assert "already used" in replay.get_data(as_text=True)


def test_the_code_step_cannot_be_skipped(client, factories):
    staff = factories.staff()
    _password_step(client, staff)
    assert client.get("/reseller/").status_code == 302
    assert client.get("/admin/").status_code == 302


def test_enrolment_with_qr_code_and_recovery_codes(client, factories):
    reseller = factories.reseller()
    reseller.totp_secret = None
    db.session.commit()
    assert _password_step(client, reseller).status_code == 302
    assert client.get("/reseller/").headers["Location"].endswith("/account/2fa")
    page = client.get("/account/2fa").get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in page  # the QR code, drawn on the server
    secret = re.search(r"Key: <code>([A-Z2-7]+)</code>", page).group(1)
    bad = post_form(client, "/account/2fa", {"code": "123456"})
    assert bad.status_code == 400 and "does not match" in bad.get_data(as_text=True)
    done = post_form(client, "/account/2fa", {"code": pyotp.TOTP(secret).now()})
    codes = re.findall(r"<code>([0-9a-f]{6}-[0-9a-f]{6})</code>", done.get_data(as_text=True))
    assert len(codes) == 10
    assert client.get("/reseller/").status_code == 200
    # a recovery code signs in once
    other = client.application.test_client()
    _password_step(other, reseller)
    assert post_form(other, "/login/verify", {"code": codes[0]}).status_code == 302
    third = client.application.test_client()
    _password_step(third, reseller)
    assert post_form(third, "/login/verify", {"code": codes[0]}).status_code == 200
    assert len(db.session.get(User, reseller.id).recovery_hashes) == 9


def test_the_code_step_is_throttled(client, factories):
    staff = factories.staff()
    _password_step(client, staff)
    for _ in range(5):
        post_form(client, "/login/verify", {"code": "111111"})
    assert post_form(client, "/login/verify", {"code": pyotp.TOTP(staff.totp_secret).now()},
                     token_from="/login").status_code == 429


def test_subscribers_sign_in_with_a_password_alone(client, factories):
    user = factories.subscriber()
    assert _password_step(client, user).headers["Location"].endswith("/client/")
