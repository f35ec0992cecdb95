"""Issue 14 (account security): what the second step costs a sign-in, as a ratio in one run.

Signing in with a password and an authenticator code (``/login``, then ``/login/verify``)
against signing in with the password alone (``/login``), each from a new browser that first
loads the sign-in page for its form, as a person does. Both accounts have the same argon2id
hash, which dominates both sides; the second step adds two small requests and one TOTP check.
Target: at most 1.3x.

Run with ``python -m bench --only security [--quick]``.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import pyotp
from sqlalchemy import update

from bench.common import Figure, IsolatedClient, fmt_time, no_gc, post_form, ratio_figure, scratch_panel
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

        def with_code(code: str) -> None:
            browser = app.test_client()
            response = post_form(browser, "/login", {"email": two_email, "password": PASSWORD})
            assert response.headers.get("Location", "").endswith("/login/verify"), response.status
            response = post_form(browser, "/login/verify", {"code": code})
            assert response.headers.get("Location", "").endswith("/client/"), response.status

        def fresh_code() -> str:
            """Each sign-in stands for a new 30-second window: a code is good once."""
            with app.app_context():
                db.session.execute(update(User).where(User._totp_secret.is_not(None))
                                   .values(totp_last_step=None))
                db.session.commit()
                db.session.close()
            return pyotp.TOTP(secret).now()

        def clock(fn: Any, *args: Any) -> float:
            with no_gc():
                start = time.perf_counter()
                fn(*args)
                return time.perf_counter() - start

        password_alone()  # warm-up: templates compiled, statements cached
        with_code(fresh_code())
        alone: list[float] = []
        both: list[float] = []
        for r in range(rounds):  # interleaved, the order alternating, so drift hits both
            code = fresh_code()
            if r % 2 == 0:
                alone.append(clock(password_alone))
                both.append(clock(with_code, code))
            else:
                both.append(clock(with_code, code))
                alone.append(clock(password_alone))
    ours, base = statistics.median(both), statistics.median(alone)
    return ratio_figure("sign-in, password + TOTP code vs password alone", ours, base,
                        at_most=1.3, detail=f"{fmt_time(ours)} vs {fmt_time(base)}, median of "
                                            f"{rounds} sign-ins each, from a new browser")


def run(quick: bool) -> list[Figure]:
    return [sign_in_cost(quick)]
