"""Two-step sign-in (TOTP) for resellers, staff and admins."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pyotp
import pytest

from panel.auth import totp
from panel.auth.models import User
from panel.extensions import db
from tests.conftest import csrf_token, login, post_form
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


# --- a code is used up once, even by requests that arrive at the same moment ------------------

RACERS = 4  # the four pending sign-ins


def _race(submit, count: int = RACERS) -> list:
    """Run ``submit(i)`` in ``count`` threads released together by a barrier."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        results[i] = submit(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.parametrize("kind", ["totp", "recovery"])
def test_the_same_code_from_many_pending_sign_ins_at_once_signs_in_exactly_one(app, factories, kind):
    staff = factories.staff()
    code = pyotp.TOTP(staff.totp_secret).now()
    if kind == "recovery":
        codes, hashes = totp.new_recovery_codes()
        staff.recovery_hashes = hashes
        db.session.commit()
        code = codes[0]
    pending = []
    for _ in range(RACERS):  # each browser has passed the password step, and holds the form
        browser = app.test_client()
        assert _password_step(browser, staff).headers["Location"].endswith("/login/verify")
        pending.append((browser, csrf_token(browser, "/login/verify")))

    def submit(i: int) -> int:
        browser, token = pending[i]
        return browser.post("/login/verify", data={"csrf_token": token, "code": code}).status_code

    statuses = _race(submit)
    assert sorted(statuses) == [200] * (RACERS - 1) + [302], statuses
    signed_in = [b for b, _ in pending if b.get("/admin/").status_code == 200]
    assert len(signed_in) == 1
    if kind == "recovery":
        db.session.expire_all()
        assert len(db.session.get(User, staff.id).recovery_hashes) == totp.RECOVERY_CODES - 1


def test_enrolling_twice_at_once_keeps_one_authenticator_and_shows_its_codes(app, factories):
    reseller = factories.reseller()
    reseller.totp_secret = None
    db.session.commit()
    first = app.test_client()
    _password_step(first, reseller)
    page = first.get("/account/2fa").get_data(as_text=True)
    secret = re.search(r"Key: <code>([A-Z2-7]+)</code>", page).group(1)
    token = csrf_token(first, "/account/2fa")
    cookie = first.get_cookie("panel_session").value
    tabs = [first]
    for _ in range(RACERS - 1):  # the same signed-in session, in more tabs
        tab = app.test_client()
        tab.set_cookie("panel_session", cookie)
        tabs.append(tab)
    code = pyotp.TOTP(secret).now()
    responses = _race(lambda i: tabs[i].post("/account/2fa", data={"csrf_token": token, "code": code}))
    won = [r for r in responses if r.status_code == 200]
    assert len(won) == 1 and sorted(r.status_code for r in responses).count(400) == RACERS - 1
    shown = re.findall(r"<code>([0-9a-f]{6}-[0-9a-f]{6})</code>", won[0].get_data(as_text=True))
    db.session.expire_all()
    stored = db.session.get(User, reseller.id)
    assert stored.totp_secret == secret
    assert sorted(totp._hash(c) for c in shown) == sorted(stored.recovery_hashes)


def test_an_enrolled_account_cannot_have_its_authenticator_replaced_by_a_new_enrolment(
        client, factories):
    staff = factories.staff()
    old_secret = staff.totp_secret
    login(client, staff)
    with client.session_transaction() as session:
        session["totp_pending_secret"] = new = pyotp.random_base32()
    response = post_form(client, "/account/2fa", {"code": pyotp.TOTP(new).now()},
                         token_from="/admin/")
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(User, staff.id).totp_secret == old_secret


CODE_HANDLING = re.compile(r"\bpyotp\b|verify_code\(|use_recovery_code\(|totp_last_step\s*=(?!=)")


def test_every_place_that_accepts_a_code_goes_through_the_single_use_check():
    """Sign-in, enrolment and every re-authentication (export download, and any page added
    later) must call panel.auth.totp.check or enrol: the only code that reads or writes the
    used step or the recovery codes is in that module."""
    root = Path(__file__).resolve().parents[2]
    allowed = {root / "panel/auth/totp.py"}
    offenders = []
    for folder in ("panel", "plugins"):
        for path in (root / folder).rglob("*.py"):
            if path in allowed or "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if CODE_HANDLING.search(line):
                    offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == []
