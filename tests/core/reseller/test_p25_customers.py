"""Adding a customer tells a reseller nothing about addresses it does not own, and an
invitation only ever sets the first password of a customer whose reseller is in good standing."""

from __future__ import annotations

import re
import statistics
import time

import pytest
from sqlalchemy import select

from panel.accounts.models import Account
from panel.auth.models import User
from panel.extensions import db
from panel.mail.models import OutboxMessage
from panel.reseller import customers
from tests.conftest import csrf_token, login, post_form
from tests.core.test_bad_input import database_rows
from tests.factories import DEFAULT_PASSWORD

NEW = {"first_name": "Nina", "last_name": "Newbie", "phone": "+442079460077", "invite": "y"}
TRIES = 30
TIMING_RATIO = 1.6  # medians; before the fix an address with an account answered ~20x faster
NEW_PASSWORD = "a long new password"


def _add(client, email: str, **extra: str):
    return post_form(client, "/reseller/add-customer", {**NEW, "email": email, **extra})


def _answer(client, response, email: str) -> tuple[int, str, list]:
    """What the reseller sees: status, where it leads, and the message shown there."""
    with client.session_transaction() as session:
        flashes = [(c, m.replace(email, "EMAIL")) for c, m in session.get("_flashes", [])]
        session.pop("_flashes", None)
    return response.status_code, response.headers.get("Location", ""), flashes


def _mail_to(email: str) -> list[OutboxMessage]:
    db.session.expire_all()
    return [m for m in db.session.execute(select(OutboxMessage)).scalars() if m.to_addr == email]


def _token(message: OutboxMessage) -> str:
    return re.search(r"/invite/(\S+)", message.body).group(1)


@pytest.mark.parametrize("whose", ["another reseller's customer", "the house's customer",
                                   "another reseller", "staff"])
def test_p25_an_address_with_an_account_anywhere_gets_the_new_address_answer_and_its_owner_a_notice(
        as_r1, resellers, factories, whose):
    owner = {"another reseller's customer": resellers.c2, "the house's customer": resellers.house,
             "another reseller": resellers.r2, "staff": factories.staff()}[whose]
    new = _answer(as_r1, _add(as_r1, "brand-new@example.com"), "brand-new@example.com")
    before = database_rows(except_trail=True)
    taken = _answer(as_r1, _add(as_r1, owner.email.upper()), owner.email.upper())
    assert taken == new
    after = database_rows(except_trail=True)
    assert {t for t in after if after[t] != before[t]} == {"mail_outbox"}  # no account, no link
    (notice,) = _mail_to(owner.email)
    assert notice.subject == "Someone tried to create an account with your email address"
    assert "/invite/" not in notice.body and "http://localhost/login" in notice.body
    page = as_r1.get("/reseller/").get_data(as_text=True)
    assert owner.email not in page and (owner.display_name or "") not in page


def test_p25_adding_ones_own_customer_again_says_so_and_changes_nothing(as_r1, resellers):
    before = database_rows(except_trail=True)
    response = _add(as_r1, resellers.c1.email)
    assert response.status_code == 400
    assert "already one of your customers" in response.get_data(as_text=True)
    assert database_rows(except_trail=True) == before


@pytest.mark.timing
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # argon2, not the database, sets the time
def test_p25_an_address_with_an_account_takes_as_long_to_add_as_a_new_one(app, as_r1, resellers):
    token = csrf_token(as_r1, "/reseller/add-customer")
    timings: dict[str, list[float]] = {"new": [], "taken": []}
    for n in range(TRIES + 2):
        for kind in ("new", "taken"):
            email = f"fresh{n}@example.com" if kind == "new" else resellers.c2.email
            started = time.perf_counter()
            response = as_r1.post("/reseller/add-customer",
                                  data={**NEW, "email": email, "csrf_token": token})
            elapsed = time.perf_counter() - started
            assert response.status_code == 302
            if n >= 2:  # the first tries warm caches up
                timings[kind].append(elapsed)
    new, taken = statistics.median(timings["new"]), statistics.median(timings["taken"])
    assert max(new, taken) / min(new, taken) < TIMING_RATIO, (new, taken)


def test_p25_reinviting_a_customer_who_has_a_password_sends_a_sign_in_link_not_a_password_link(
        as_r1, resellers, client):
    legacy = customers.invitation_token(resellers.c1)  # what the old re-invite mailed
    response = post_form(as_r1, f"/reseller/customers/{resellers.a1.id}/invite", {},
                         token_from=f"/reseller/customers/{resellers.a1.id}")
    assert response.status_code == 302
    page = as_r1.get(response.headers["Location"]).get_data(as_text=True)
    assert "already has a password" in page
    (mail,) = _mail_to(resellers.c1.email)
    assert "/invite/" not in mail.body and "http://localhost/login" in mail.body
    post_form(as_r1, "/logout", token_from="/reseller/")
    refused = client.get(f"/invite/{legacy}")
    assert refused.status_code == 404 and "already has a password" in refused.get_data(as_text=True)
    stored = db.session.get(User, resellers.c1.id).password_hash
    assert post_form(client, f"/invite/{legacy}", {"new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                     token_from="/login").status_code == 404
    db.session.expire_all()
    assert db.session.get(User, resellers.c1.id).password_hash == stored
    assert login(client, resellers.c1, DEFAULT_PASSWORD).status_code == 302


def test_p25_a_suspended_resellers_invitations_stop_working_for_good(app, as_r1, resellers, client):
    _add(as_r1, "invitee@example.com")
    (mail,) = _mail_to("invitee@example.com")
    url = f"/invite/{_token(mail)}"
    post_form(as_r1, "/logout", token_from="/reseller/")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["user", "suspend", "--email", resellers.r1.email]).exit_code == 0
    for attempt in (lambda: client.get(url),
                    lambda: post_form(client, url, {"new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                                      token_from="/login")):
        response = attempt()
        assert response.status_code == 410
        assert "withdrawn because the provider that sent it is suspended" in response.get_data(
            as_text=True)
    assert runner.invoke(args=["user", "suspend", "--email", resellers.r1.email,
                               "--reinstate"]).exit_code == 0
    again = client.get(url)  # reinstating the reseller does not revive a withdrawn link
    assert again.status_code == 410 and "withdrawn" in again.get_data(as_text=True)
    invitee = db.session.execute(select(User).where(User.email.matches("invitee@example.com"))
                                 ).scalar_one()
    assert login(client, invitee, NEW_PASSWORD).status_code != 302  # no password was set
    # the reseller, back in good standing, sends a fresh invitation, and that one works
    assert login(client, resellers.r1).status_code == 302
    post_form(client, f"/reseller/customers/{invitee.account_id}/invite", {},
              token_from="/reseller/")
    post_form(client, "/logout", token_from="/reseller/")
    fresh = f"/invite/{_token(_mail_to('invitee@example.com')[-1])}"
    assert post_form(client, fresh, {"new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
                     ).status_code == 302
    assert login(client, "invitee@example.com", NEW_PASSWORD).status_code == 302


def test_p25_a_new_customer_has_no_password_until_the_invitation_sets_one(as_r1, resellers):
    _add(as_r1, "fresh@example.com", invite="")
    user = db.session.execute(select(User).where(User.email.matches("fresh@example.com"))
                              ).scalar_one()
    assert db.session.get(Account, user.account_id).reseller_id == resellers.r1.id
    from panel.auth.passwords import has_password

    assert not has_password(user.password_hash)
