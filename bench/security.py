"""Issue 14 (account security): what the second step costs a sign-in, as a ratio in one run.

Signing in with a password and an authenticator code (``/login``, then ``/login/verify``)
against signing in with the password alone (``/login``), each from a new browser that first
loads the sign-in page for its form, as a person does. Both accounts have the same argon2id
hash, which dominates both sides; the second step adds two small requests and one TOTP check.
Target: at most 1.3x.

Run with ``python -m bench --only security [--quick]``.
"""

from __future__ import annotations

import pyotp
from sqlalchemy import update

from bench.common import Figure, IsolatedClient, fmt_time, paired, paired_figure, post_form, scratch_panel
from panel.accounts.services import create_subscriber
from panel.auth.models import User
from panel.auth.passwords import hash_password
from panel.extensions import db

PASSWORD = "bench horse battery staple"


def _seed() -> tuple[str, str, str]:
    """Two subscribers with the same password: one with an authenticator, one without."""
    stored = hash_password(PASSWORD)
    plain = create_subscriber(email="plain@example.com", password=None, password_hash=stored,
                              actor=None, first_name="Pat", last_name="Plain", phone=None)
    two = create_subscriber(email="twostep@example.com", password=None, password_hash=stored,
                            actor=None, first_name="Tess", last_name="Twostep", phone=None)
    secret = pyotp.random_base32()
    two.totp_secret = secret
    db.session.commit()
    emails = plain.email, two.email
    db.session.close()
    return emails[0], emails[1], secret


def sign_in_cost(quick: bool) -> Figure:
    rounds = 7 if quick else 21
    with scratch_panel() as app:
        plain_email, two_email, secret = _seed()
        app.test_client_class = IsolatedClient

        def password_alone() -> None:
            browser = app.test_client()
            response = post_form(browser, "/login", {"email": plain_email, "password": PASSWORD})
            assert response.headers.get("Location", "").endswith("/client/"), response.status

        codes: list[str] = []

        def with_code() -> None:
            code = codes.pop()
            browser = app.test_client()
            response = post_form(browser, "/login", {"email": two_email, "password": PASSWORD})
            assert response.headers.get("Location", "").endswith("/login/verify"), response.status
            response = post_form(browser, "/login/verify", {"code": code})
            assert response.headers.get("Location", "").endswith("/client/"), response.status

        def fresh_code() -> str:
            """Each sign-in stands for a new 30-second window: a code is good once (untimed,
            before every side)."""
            with app.app_context():
                db.session.execute(update(User).where(User._totp_secret.is_not(None))
                                   .values(totp_last_step=None))
                db.session.commit()
                db.session.close()
            return pyotp.TOTP(secret).now()

        password_alone()  # warm-up: templates compiled, statements cached
        codes.append(fresh_code())
        with_code()
        result = paired(with_code, password_alone, repeats=rounds,
                        before=lambda: codes.__setitem__(slice(None), [fresh_code()]))
    ours, base = result.median(0), result.median(1)
    return paired_figure("sign-in, password + TOTP code vs password alone", result,
                         at_most=1.3, detail=f"{fmt_time(ours)} vs {fmt_time(base)} a sign-in, "
                                             "each from a new browser")


def run(quick: bool) -> list[Figure]:
    return [sign_in_cost(quick)]
