"""Passkeys over HTTP, with a software authenticator: registering, signing in on its own and
as the second step, removing, and every kind of bad answer (wrong origin, RP id or challenge,
a replay, a copied authenticator, oversized or broken JSON). The same flows in Chromium with
its virtual authenticator are in tests/browser/test_passkeys.py."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from panel.auth.models import User
from panel.db_types import utcnow
from panel.extensions import db
from panel.passkeys.models import Passkey, PasskeyChallenge
from tests.conftest import csrf_token, login, post_form
from tests.factories import DEFAULT_PASSWORD
from tests.soft_authenticator import SoftAuthenticator

PAGE = "/account/security/passkeys"


def register(client, authenticator, name="Laptop", **wrong):
    token = csrf_token(client, PAGE)
    options = client.post(f"{PAGE}/options", data={"csrf_token": token, "name": name})
    assert options.status_code == 200, options.get_data(as_text=True)
    answer = authenticator.create(options.get_json(), **wrong)
    return client.post(PAGE, data={"csrf_token": token, "name": name,
                                   "credential": json.dumps(answer)})


def options_for_sign_in(client, second=False):
    token = csrf_token(client, "/login/verify" if second else "/login")
    data = {"csrf_token": token, **({"step": "second"} if second else {})}
    response = client.post("/login/passkey/options", data=data)
    assert response.status_code == 200, response.get_data(as_text=True)
    return data, response.get_json()


def passkey_sign_in(client, authenticator, second=False, **wrong):
    data, options = options_for_sign_in(client, second)
    answer = authenticator.get(options, **wrong)
    url = "/login/verify/passkey" if second else "/login/passkey"
    return client.post(url, data={**data, "credential": json.dumps(answer)}), answer


def sign_out(client, home="/client/"):
    assert post_form(client, "/logout", token_from=home).status_code == 302


def count(model=Passkey):
    return db.session.execute(select(func.count()).select_from(model)).scalar()


@pytest.fixture
def subscriber_with_passkey(client, login_as):
    user = login_as("subscriber")
    authenticator = SoftAuthenticator()
    response = register(client, authenticator)
    assert response.status_code == 302, response.get_data(as_text=True)
    sign_out(client)
    return user, authenticator


def test_register_list_sign_in_with_the_passkey_alone_and_remove_it(client, login_as):
    user = login_as("subscriber")
    authenticator = SoftAuthenticator()
    assert "You have no passkeys yet." in client.get(PAGE).get_data(as_text=True)
    response = register(client, authenticator, name="Work laptop")
    assert response.status_code == 302 and response.headers["Location"].endswith(PAGE)
    page = client.get(PAGE).get_data(as_text=True)
    assert "Passkey “Work laptop” added" in page and "Work laptop" in page
    key = db.session.execute(select(Passkey)).scalar_one()
    assert (key.user_id, key.name, key.transports) == (user.id, "Work laptop", ["internal"])
    assert key.public_key and key.sign_count == 0
    sign_out(client)

    signed_in, _ = passkey_sign_in(client, authenticator)  # no address, no password
    assert signed_in.status_code == 302 and signed_in.headers["Location"].endswith("/client/")
    assert client.get("/client/").status_code == 200
    db.session.refresh(key)
    assert key.sign_count == 1 and key.last_used_at is not None

    removed = post_form(client, f"{PAGE}/remove", {"passkey": str(key.id)}, token_from=PAGE)
    assert removed.status_code == 302
    assert "Passkey “Work laptop” removed" in client.get(PAGE).get_data(as_text=True)
    assert count() == 0
    sign_out(client)
    refused, _ = passkey_sign_in(client, authenticator)
    assert refused.status_code == 400
    assert "This passkey is not registered here" in refused.get_data(as_text=True)
    assert client.get("/client/").status_code == 302


def test_a_passkey_is_the_second_step_instead_of_the_code(client, factories):
    staff = factories.staff()
    assert login(client, staff).status_code == 302
    authenticator = SoftAuthenticator()
    assert register(client, authenticator).status_code == 302
    sign_out(client, "/admin/")

    step = post_form(client, "/login", {"email": staff.email, "password": DEFAULT_PASSWORD})
    assert step.headers["Location"].endswith("/login/verify")
    assert "Use a passkey instead" in client.get("/login/verify").get_data(as_text=True)
    assert client.get("/admin/").status_code == 302  # the password alone is not enough
    response, _ = passkey_sign_in(client, authenticator, second=True)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")
    assert client.get("/admin/").status_code == 200


def test_the_second_step_takes_only_the_passkey_of_who_gave_the_password(client, factories,
                                                                          subscriber_with_passkey):
    _, someone_elses = subscriber_with_passkey
    staff = factories.staff()
    assert login(client, staff).status_code == 302
    assert register(client, SoftAuthenticator()).status_code == 302
    sign_out(client, "/admin/")
    post_form(client, "/login", {"email": staff.email, "password": DEFAULT_PASSWORD})
    response, _ = passkey_sign_in(client, someone_elses, second=True)
    assert response.status_code == 400
    assert "This passkey is not registered here" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_the_code_step_offers_no_passkey_to_who_has_none(client, factories):
    staff = factories.staff()
    post_form(client, "/login", {"email": staff.email, "password": DEFAULT_PASSWORD})
    page = client.get("/login/verify").get_data(as_text=True)
    assert "Enter your code" in page and "Use a passkey instead" not in page


@pytest.mark.parametrize("wrong", [{"origin": "https://evil.example"},
                                   {"origin": "http://localhost:8080"},
                                   {"rp_id": "evil.example"},
                                   {"challenge": "bm90LXRoZS1jaGFsbGVuZ2U"}],
                         ids=["origin", "port", "rp-id", "challenge"])
def test_registration_with_a_wrong_origin_rp_id_or_challenge_is_refused(client, login_as, wrong):
    login_as("subscriber")
    response = register(client, SoftAuthenticator(), **wrong)
    assert response.status_code == 400
    assert "That passkey could not be verified for this panel." in response.get_data(as_text=True)
    assert count() == 0


@pytest.mark.parametrize("wrong", [{"origin": "https://evil.example"},
                                   {"rp_id": "evil.example"},
                                   {"challenge": "bm90LXRoZS1jaGFsbGVuZ2U"}],
                         ids=["origin", "rp-id", "challenge"])
def test_sign_in_with_a_wrong_origin_rp_id_or_challenge_is_refused(client, subscriber_with_passkey,
                                                                   wrong):
    response, _ = passkey_sign_in(client, subscriber_with_passkey[1], **wrong)
    assert response.status_code == 400
    assert "That passkey could not be verified for this panel." in response.get_data(as_text=True)
    assert client.get("/client/").status_code == 302
    assert db.session.execute(select(Passkey.sign_count)).scalar_one() == 0  # nothing moved


def test_a_replayed_assertion_is_refused_with_a_new_challenge_and_with_the_old_cookie(
        client, subscriber_with_passkey):
    _, authenticator = subscriber_with_passkey
    then, options = options_for_sign_in(client)
    old_cookie = client.get_cookie("panel_session").value  # names the challenge just issued
    answer = json.dumps(authenticator.get(options))
    assert client.post("/login/passkey", data={**then, "credential": answer}).status_code == 302
    sign_out(client)

    data, _ = options_for_sign_in(client)  # a fresh challenge: the old answer does not match it
    replay = client.post("/login/passkey", data={**data, "credential": answer})
    assert replay.status_code == 400 and "could not be verified" in replay.get_data(as_text=True)

    client.set_cookie("panel_session", old_cookie, domain="localhost")  # the session of then
    replay = client.post("/login/passkey", data={**then, "credential": answer})
    assert replay.status_code == 400
    assert "expired or was already used" in replay.get_data(as_text=True)
    assert client.get("/client/").status_code == 302


def test_a_copied_authenticator_whose_count_goes_back_is_refused(client, subscriber_with_passkey):
    _, authenticator = subscriber_with_passkey
    response, _ = passkey_sign_in(client, authenticator, count=5)
    assert response.status_code == 302
    sign_out(client)
    copy, _ = passkey_sign_in(client, authenticator, count=3)  # a copy made at count 3
    assert copy.status_code == 400
    assert "its use counter went backwards" in copy.get_data(as_text=True)
    assert client.get("/client/").status_code == 302
    assert db.session.execute(select(Passkey.sign_count)).scalar_one() == 5


@pytest.mark.parametrize(("credential", "status", "message"), [
    ("", 400, "Your browser sent no passkey."),
    ("{not json", 400, "The panel could not read what your browser sent."),
    ('["a list"]', 400, "The panel could not read what your browser sent."),
    ('{"id": "x", "response": {"clientDataJSON": "!!"}}', 400, "could not be verified"),
    ("x" * 20_000, 400, "The panel could not read what your browser sent."),
    ("x" * 40_000, 413, "larger than this panel accepts"),
], ids=["empty", "broken", "not-an-object", "missing-parts", "too-long", "too-large"])
def test_a_bad_registration_answer_gets_a_clear_message_and_saves_nothing(
        client, login_as, credential, status, message):
    login_as("subscriber")
    token = csrf_token(client, PAGE)
    client.post(f"{PAGE}/options", data={"csrf_token": token, "name": "Laptop"})
    response = client.post(PAGE, data={"csrf_token": token, "name": "Laptop",
                                       "credential": credential})
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert count() == 0


@pytest.mark.parametrize(("credential", "status", "message"), [
    ("", 400, "Your browser sent no passkey."),
    ("{not json", 400, "The panel could not read what your browser sent."),
    ('{"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {}}', 400,
     "The panel could not read what your browser sent."),
    ("x" * 20_000, 400, "The panel could not read what your browser sent."),
    ("x" * 40_000, 413, "larger than this panel accepts"),
], ids=["empty", "broken", "missing-parts", "too-long", "too-large"])
def test_a_bad_sign_in_answer_gets_a_clear_message_and_signs_no_one_in(
        client, subscriber_with_passkey, credential, status, message):
    data, _ = options_for_sign_in(client)
    response = client.post("/login/passkey", data={**data, "credential": credential})
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert client.get("/client/").status_code == 302


def test_an_expired_challenge_is_refused(client, subscriber_with_passkey):
    _, authenticator = subscriber_with_passkey
    data, options = options_for_sign_in(client)
    db.session.execute(db.update(PasskeyChallenge).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    response = client.post("/login/passkey",
                           data={**data, "credential": json.dumps(authenticator.get(options))})
    assert response.status_code == 400
    assert "expired or was already used" in response.get_data(as_text=True)


def test_someone_elses_passkey_cannot_be_removed_and_answers_404(client, factories, login_as,
                                                                 subscriber_with_passkey):
    owner, _ = subscriber_with_passkey
    login_as("subscriber")
    theirs = db.session.execute(select(Passkey)).scalar_one()
    for value in (str(theirs.id), "not-an-id"):
        response = post_form(client, f"{PAGE}/remove", {"passkey": value}, token_from=PAGE)
        assert response.status_code == 404
    assert count() == 1
    assert "You have no passkeys yet." in client.get(PAGE).get_data(as_text=True)


def test_a_suspended_account_cannot_sign_in_with_its_passkey(client, subscriber_with_passkey):
    user, authenticator = subscriber_with_passkey
    db.session.get(User, user.id).active = False
    db.session.commit()
    response, _ = passkey_sign_in(client, authenticator)
    assert response.status_code == 403
    assert "This account is suspended." in response.get_data(as_text=True)
    assert client.get("/client/").status_code == 302


def test_the_same_authenticator_cannot_register_twice(client, login_as):
    login_as("subscriber")
    authenticator = SoftAuthenticator()
    assert register(client, authenticator).status_code == 302
    again = register(client, authenticator, name="Again")
    assert again.status_code == 400 and "already registered" in again.get_data(as_text=True)
    assert count() == 1


def test_a_passkey_needs_a_name(client, login_as):
    login_as("subscriber")
    response = register(client, SoftAuthenticator(), name="")
    assert response.status_code == 400
    assert "Give the passkey a name" in response.get_data(as_text=True)
    assert count() == 0


def test_erasure_removes_the_passkeys(app, client, subscriber_with_passkey):
    from panel.accounts.erasure import erase

    user, authenticator = subscriber_with_passkey
    erase(db.session.get(User, user.id).account, actor=None)
    db.session.commit()
    assert count() == 0
    response, _ = passkey_sign_in(client, authenticator)
    assert response.status_code == 400


@pytest.mark.needs_privacy
def test_p06_passkeys_are_in_the_subscribers_copy_of_their_data(client, subscriber_with_passkey):
    from plugins.privacy.center.services.export import gather

    user, _ = subscriber_with_passkey
    rows = list(gather(db.session.get(User, user.id).account)["passkeys"])
    assert [r["name"] for r in rows] == ["Laptop"] and "public_key" not in rows[0]
    login(client, user)
    assert "Laptop" in client.get("/client/privacy/data").get_data(as_text=True)


def test_the_pages_work_without_a_host_name_and_say_why_passkeys_do_not(make_app, factories):
    app = make_app(BASE_URL="http://127.0.0.1:5000")  # browsers refuse an IP address as RP id
    client = app.test_client()
    with app.app_context():
        user = factories.subscriber()
        assert login(client, user).status_code == 302
        page = client.get(PAGE).get_data(as_text=True)
        assert "Passkeys need the panel to be reached by its host name" in page
        token = csrf_token(client, PAGE)
        assert client.post(f"{PAGE}/options", data={"csrf_token": token}).status_code == 409


@pytest.mark.needs_privacy
def test_adding_and_removing_a_passkey_go_on_the_trail(client, login_as):
    from plugins.privacy.access.models import AuditEntry

    user = login_as("subscriber")
    assert register(client, SoftAuthenticator()).status_code == 302
    key = db.session.execute(select(Passkey)).scalar_one()
    post_form(client, f"{PAGE}/remove", {"passkey": str(key.id)}, token_from=PAGE)
    entries = AuditEntry.query.filter(AuditEntry.action.like("passkey.%")).order_by(AuditEntry.seq).all()
    assert [(e.action, e.actor_id, e.account_id) for e in entries] == [
        ("passkey.add", user.id, user.account_id), ("passkey.remove", user.id, user.account_id)]


@pytest.mark.needs_privacy
def test_p21_passkey_sign_ins_refusals_and_changes_are_in_the_activity_log(client,
                                                                          subscriber_with_passkey):
    user, authenticator = subscriber_with_passkey
    passkey_sign_in(client, authenticator, count=5)
    sign_out(client)
    passkey_sign_in(client, authenticator, count=2)  # a copy: refused
    login(client, user)
    page = client.get("/client/privacy/activity").get_data(as_text=True)
    for text in ("Passkey added", "copied passkey refused", "passkey"):
        assert text in page, text


@pytest.mark.needs_privacy
def test_p16_staff_acting_as_the_customer_cannot_add_or_remove_the_customers_passkeys(client,
                                                                                     factories):
    from plugins.privacy.access.models import AccessSession

    customer = factories.subscriber()
    login(client, customer)
    assert register(client, SoftAuthenticator()).status_code == 302
    key_id = str(db.session.execute(select(Passkey.id)).scalar_one())
    sign_out(client)
    login(client, factories.staff())
    post_form(client, f"/admin/access/new/{customer.account_id}",
              {"reason": "support", "ticket": "T-5", "note": "DNS", "minutes": "30"})
    session_id = AccessSession.query.one().id
    post_form(client, f"/admin/access/{session_id}/act-as", token_from="/admin/access/")
    assert "Welcome" in client.get("/client/").get_data(as_text=True)
    token = csrf_token(client, "/client/")
    for url, data in ((PAGE, {}), (f"{PAGE}/options", {"name": "Staff key"}),
                      (f"{PAGE}/remove", {"passkey": key_id})):
        response = client.post(url, data={"csrf_token": token, **data})
        assert response.status_code == 302 and response.headers["Location"].endswith("/client/"), url
    assert client.get(PAGE).status_code == 302
    assert count() == 1 and count(PasskeyChallenge) == 0
