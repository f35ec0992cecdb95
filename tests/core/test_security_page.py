"""The Security page (issue 14): every role finds its password, two-step sign-in and recovery
codes in one place; two-step sign-in is optional for subscribers and required for the others;
recovery codes are shown once, can be downloaded and printed, and die when new ones are made;
turning two-step off takes the password and a current code."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select

from panel.auth import totp
from panel.auth.models import User
from panel.extensions import db
from panel.mail.models import OutboxMessage
from tests.conftest import login, post_form
from tests.factories import DEFAULT_PASSWORD

ROLES = ("subscriber", "reseller", "staff", "admin")
CODE_RE = re.compile(r"<code>([0-9a-f]{6}-[0-9a-f]{6})</code>")
SECTIONS = ["Password", "Two-step sign-in", "Passkeys", "Signed-in devices"]


def _fresh(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def _enrol(client, user: User) -> list[str]:
    """Set up an authenticator app through the pages, as the person would; the codes shown."""
    page = client.get("/account/2fa").get_data(as_text=True)
    secret = re.search(r"Key: <code>([A-Z2-7]+)</code>", page).group(1)
    done = post_form(client, "/account/2fa", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200, done.get_data(as_text=True)
    codes = CODE_RE.findall(done.get_data(as_text=True))
    assert len(codes) == totp.RECOVERY_CODES
    return codes


def _password_step(client, user: User):
    return post_form(client, "/login", {"email": user.email, "password": DEFAULT_PASSWORD})


def _now_code(user: User) -> str:
    """A code for a new time step (each test step stands for a new 30-second window)."""
    user = _fresh(user)
    user.totp_last_step = None
    db.session.commit()
    return pyotp.TOTP(user.totp_secret).now()


# --- the page, for every role --------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reaches_the_security_page_from_the_navigation(client, login_as, role):
    login_as(role)
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert '<a href="/account/security"' in home  # one navigation item, in the role's own area
    page = client.get("/account/security")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for section in SECTIONS:
        assert f">{section}</h2>" in text
    assert 'href="/account/password"' in text


def test_every_area_has_exactly_one_security_item(app, factories):
    from panel.core_hooks import panel_nav_items

    users = {"client": factories.subscriber(), "reseller": factories.reseller(),
             "admin": factories.staff("admin")}
    for area, user in users.items():
        assert [i.endpoint for i in panel_nav_items(area=area, user=user)].count("security.index") == 1
    assert [i.endpoint for i in panel_nav_items(area="admin", user=factories.staff())
            ].count("security.index") == 1


def test_the_security_page_needs_a_signed_in_person(client):
    for method, url in (("get", "/account/security"), ("post", "/account/security/recovery-codes"),
                        ("get", "/account/security/two-step/off"),
                        ("post", "/account/security/recovery-codes.txt"),
                        ("post", "/account/security/recovery-codes/print")):
        response = getattr(client, method)(url)
        assert response.status_code in (302, 400), (url, response.status_code)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["reseller", "staff", "admin"])
def test_roles_that_need_two_steps_are_told_and_cannot_turn_it_off(client, login_as, role):
    user = login_as(role)
    page = client.get("/account/security").get_data(as_text=True)
    assert "cannot be turned off" in page and "/account/security/two-step/off" not in page
    refused = post_form(client, "/account/security/two-step/off",
                        {"password": DEFAULT_PASSWORD, "code": _now_code(user)},
                        token_from="/account/security")
    assert refused.status_code == 403 and "cannot be turned off" in refused.get_data(as_text=True)
    assert _fresh(user).totp_secret == user.totp_secret


# --- subscribers: optional two-step sign-in --------------------------------------------------------


def test_a_subscriber_turns_on_two_step_sign_in_from_the_security_page(client, login_as):
    user = login_as("subscriber")
    page = client.get("/account/security").get_data(as_text=True)
    assert "<strong>Off.</strong>" in page and "optional" in page
    assert 'href="/account/2fa"' in page
    setup = client.get("/account/2fa").get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in setup  # the QR code, as today
    assert "recovery" not in setup.lower()  # none exist yet: the code field does not mention them
    codes = _enrol(client, user)
    assert "<strong>On.</strong>" in client.get("/account/security").get_data(as_text=True)
    assert client.get("/account/2fa").headers["Location"].endswith("/account/security")
    # the next sign-in asks for the second step, and a recovery code answers it once
    other = client.application.test_client()
    assert _password_step(other, user).headers["Location"].endswith("/login/verify")
    assert post_form(other, "/login/verify", {"code": codes[0]}).status_code == 302


def test_the_sign_in_step_mentions_recovery_codes_only_when_some_are_left(app, factories):
    staff = factories.staff()  # an authenticator, and no recovery code yet
    browser = app.test_client()
    _password_step(browser, staff)
    assert "recovery" not in browser.get("/login/verify").get_data(as_text=True).lower()
    codes, hashes = totp.new_recovery_codes()
    staff.recovery_hashes = hashes
    db.session.commit()
    page = browser.get("/login/verify").get_data(as_text=True)
    assert "or a recovery code" in page and "Lost your phone?" in page
    staff.recovery_hashes = []  # every one used
    db.session.commit()
    assert "recovery" not in browser.get("/login/verify").get_data(as_text=True).lower()


@pytest.mark.parametrize("typed", [
    lambda c: c.upper(), lambda c: c.replace("-", " "), lambda c: c.replace("-", ""),
    lambda c: f"  {c[:3]} {c[3:6]} - {c[7:]}  ", lambda c: c.upper().replace("-", "–"),
], ids=["capitals", "space", "no-dash", "spaced-out", "en-dash"])
def test_recovery_codes_are_accepted_with_spaces_dashes_or_capitals(app, factories, typed):
    staff = factories.staff()
    codes, hashes = totp.new_recovery_codes()
    staff.recovery_hashes = hashes
    db.session.commit()
    browser = app.test_client()
    _password_step(browser, staff)
    assert post_form(browser, "/login/verify", {"code": typed(codes[0])}).status_code == 302
    again = app.test_client()
    _password_step(again, staff)
    reused = post_form(again, "/login/verify", {"code": codes[0]})
    assert reused.status_code == 200 and "already used" in reused.get_data(as_text=True)


# --- recovery codes: download, print, regenerate ------------------------------------------------------


def test_the_codes_shown_at_enrolment_download_as_text_and_open_a_print_view(client, login_as):
    user = login_as("subscriber")
    codes = _enrol(client, user)
    token_from = "/account/security"
    download = post_form(client, "/account/security/recovery-codes.txt",
                         {"codes": " ".join(codes)}, token_from=token_from)
    assert download.status_code == 200 and download.mimetype == "text/plain"
    assert download.headers["Content-Disposition"] == 'attachment; filename="recovery-codes.txt"'
    assert download.headers["Cache-Control"] == "no-store"
    assert all(c in download.get_data(as_text=True) for c in codes)
    printed = post_form(client, "/account/security/recovery-codes/print",
                        {"codes": " ".join(codes)}, token_from=token_from)
    assert printed.status_code == 200
    assert CODE_RE.findall(printed.get_data(as_text=True)) == codes
    # only the account's unused codes are given back: nothing else can be echoed
    forged = post_form(client, "/account/security/recovery-codes.txt",
                       {"codes": "<script>alert(1)</script> 000000-000000"}, token_from=token_from)
    assert forged.status_code == 302 and forged.headers["Location"].endswith("/account/security")
    assert "no longer valid" in client.get("/account/security").get_data(as_text=True)
    # without the CSRF token nothing is given back
    no_token = client.post("/account/security/recovery-codes.txt", data={"codes": " ".join(codes)})
    assert no_token.status_code == 400 and codes[0] not in no_token.get_data(as_text=True)


def test_new_recovery_codes_need_the_password_and_end_the_old_ones(client, login_as):
    user = login_as("subscriber")
    old = _enrol(client, user)
    wrong = post_form(client, "/account/security/recovery-codes", {"password": "not my password"},
                      token_from="/account/security")
    assert wrong.status_code == 400 and "That is not your password." in wrong.get_data(as_text=True)
    assert sorted(_fresh(user).recovery_hashes) == sorted(totp._hash(c) for c in old)  # unchanged
    made = post_form(client, "/account/security/recovery-codes", {"password": DEFAULT_PASSWORD},
                     token_from="/account/security")
    assert made.status_code == 200
    new = CODE_RE.findall(made.get_data(as_text=True))
    assert len(new) == totp.RECOVERY_CODES and not set(new) & set(old)
    assert "Download as .txt" in made.get_data(as_text=True)
    # an old code downloads nothing and signs in nowhere; a new one signs in
    stale = post_form(client, "/account/security/recovery-codes.txt", {"codes": " ".join(old)},
                      token_from="/account/security")
    assert stale.status_code == 302
    browser = client.application.test_client()
    _password_step(browser, user)
    assert post_form(browser, "/login/verify", {"code": old[0]}).status_code == 200
    assert post_form(browser, "/login/verify", {"code": new[0]}).status_code == 302
    notice = db.session.execute(select(OutboxMessage).where(
        OutboxMessage.subject == "New recovery codes for your hosting panel account")).scalar_one()
    assert notice.to_addr == user.email and "/account/security" in notice.body


def test_recovery_codes_are_not_offered_without_two_step_sign_in(client, login_as):
    login_as("subscriber")
    assert ">Recovery codes</h2>" not in client.get("/account/security").get_data(as_text=True)
    response = post_form(client, "/account/security/recovery-codes", {"password": DEFAULT_PASSWORD},
                         token_from="/account/security")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/2fa")


# --- turning two-step sign-in off -----------------------------------------------------------------


def test_turning_two_step_off_takes_the_password_and_a_current_code(client, login_as):
    user = login_as("subscriber")
    _enrol(client, user)
    url = "/account/security/two-step/off"
    assert url in client.get("/account/security").get_data(as_text=True)
    cases = [({"password": "wrong password", "code": _now_code(user)}, "That is not your password."),
             ({"password": DEFAULT_PASSWORD, "code": "000000"}, "That code is not right"),
             ({"password": DEFAULT_PASSWORD, "code": ""}, "Enter the code."),
             ({"password": "", "code": _now_code(user)}, "Enter your password.")]
    for data, message in cases:
        response = post_form(client, url, data)
        assert response.status_code == 400 and message in response.get_data(as_text=True), data
        assert _fresh(user).totp_secret  # nothing changed
    done = post_form(client, url, {"password": DEFAULT_PASSWORD, "code": _now_code(user)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/account/security")
    stored = _fresh(user)
    assert stored.totp_secret is None and stored.recovery_hashes is None
    assert "<strong>Off.</strong>" in client.get("/account/security").get_data(as_text=True)
    browser = client.application.test_client()
    assert _password_step(browser, user).headers["Location"].endswith("/client/")
    notice = db.session.execute(select(OutboxMessage).where(OutboxMessage.subject.like(
        "Two-step sign-in was turned off%"))).scalar_one()
    assert notice.to_addr == user.email


def test_a_code_used_to_turn_two_step_off_cannot_be_used_again(client, login_as):
    user = login_as("subscriber")
    codes = _enrol(client, user)
    response = post_form(client, "/account/security/two-step/off",
                         {"password": DEFAULT_PASSWORD, "code": codes[0].upper()})
    assert response.status_code == 302  # a recovery code counts as a current code, once
    assert _fresh(user).totp_secret is None


def test_the_turn_off_page_without_two_step_sends_back_to_the_security_page(client, login_as):
    login_as("subscriber")
    response = client.get("/account/security/two-step/off")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/security")


def test_a_subscriber_signing_in_with_two_steps_uses_the_code(client, factories):
    """After enrolment, the subscriber's password alone no longer signs in."""
    user = factories.subscriber()
    login(client, user)
    _enrol(client, user)
    browser = client.application.test_client()
    assert _password_step(browser, user).headers["Location"].endswith("/login/verify")
    assert browser.get("/client/").status_code == 302
    assert post_form(browser, "/login/verify", {"code": _now_code(user)}).status_code == 302
    assert browser.get("/client/").status_code == 200
