"""Changing the sign-in email address, confirmed by the new address (P05)."""

from __future__ import annotations

import re
import time

from itsdangerous import TimestampSigner
from sqlalchemy import select

from panel.auth.models import User
from panel.extensions import db
from panel.mail.models import OutboxMessage
from plugins.privacy.access.models import AuditEntry
from plugins.privacy.center.models import EmailChange
from plugins.privacy.center.services import email_change
from tests.conftest import login, post_form
from tests.core.test_bad_input import assert_field_error, assert_kept, database_rows
from tests.factories import DEFAULT_PASSWORD

PAGE = "/client/privacy/email"
OLD, NEW = "old.address@example.com", "new.address@example.org"


def _mails(to: str) -> list[OutboxMessage]:
    return [m for m in db.session.execute(select(OutboxMessage)).scalars() if m.to_addr == to]


def _link(to: str = NEW) -> str:
    (mail,) = _mails(to)
    return re.search(r"http://localhost(/confirm-email/\S+)", mail.body).group(1)


def _ask(client, email: str = NEW, password: str = DEFAULT_PASSWORD):
    return post_form(client, PAGE, {"email": email, "password": password})


def _stored_email(user: User) -> str | None:
    db.session.expire_all()
    return db.session.get(User, user.id).email


def test_p05_email_changes_only_once_the_new_address_confirms(app, client, login_as):
    user = login_as("subscriber", email=OLD)
    response = _ask(client)
    assert response.status_code == 302
    page = client.get(PAGE).get_data(as_text=True)
    assert "We sent a link to the new address" in page and f"change to <strong>{NEW}</strong>" in page
    (mail,) = _mails(NEW)
    assert mail.subject == "Confirm your new sign-in email address" and mail.category == "transactional"
    assert NEW not in _link() and OLD not in _link()  # the link names no address
    assert _stored_email(user) == OLD
    # a mail scanner fetching the link changes nothing
    stranger = app.test_client()
    shown = stranger.get(_link())
    assert shown.status_code == 200 and "n•••s@example.org" in shown.get_data(as_text=True)
    assert _stored_email(user) == OLD
    done = post_form(stranger, _link())
    assert done.status_code == 200
    assert f"you now sign in with <strong>{NEW}</strong>" in done.get_data(as_text=True)
    assert _stored_email(user) == NEW
    # the blind index follows: the new address signs in, the old one no longer does
    assert login(app.test_client(), NEW).status_code == 302
    assert login(app.test_client(), OLD).status_code == 200
    (told,) = _mails(OLD)
    assert told.subject == "Your sign-in email address was changed"
    assert "n•••s@example.org" in told.body and NEW not in told.body
    assert "If you did not make this change, write to support@panel.test" in told.body


def test_p05_trail_and_history_name_the_field_never_the_addresses(client, login_as):
    user = login_as("subscriber", email=OLD)
    _ask(client)
    post_form(client, _link())
    entries = db.session.execute(select(AuditEntry).where(
        AuditEntry.account_id == user.account_id, AuditEntry.action.like("account.%"))).scalars().all()
    actions = {e.action: e for e in entries}
    assert {"account.email_change_request", "account.update"} <= set(actions)
    assert actions["account.update"].fields == ["email"]
    assert actions["account.email_change_request"].result == "pending"
    for entry in entries:
        for value in (OLD, NEW, "old.address", "new.address"):
            assert value not in entry.object and value not in " ".join(entry.fields)
    history = client.get("/client/privacy/history").get_data(as_text=True)
    assert "sign-in email address" in history and NEW not in history


def test_p05_the_password_is_asked_again(client, login_as):
    login_as("subscriber", email=OLD)
    before = database_rows()
    response = _ask(client, password="not my password")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert_field_error(body, "password", "That is not your current password.")
    assert_kept(body, NEW)
    assert "not my password" not in body
    assert database_rows() == before


def test_p05_bad_addresses_are_refused_next_to_the_field(app, client, factories, login_as):
    factories.subscriber(email="taken@example.com", first_name="Otherperson")
    login_as("subscriber", email=OLD)
    before = database_rows()
    cases = [
        ("", "Enter an email address."),
        ("nobody", "Enter a valid email address, like name@example.com."),
        ("a@b@example.com", "Enter a valid email address, like name@example.com."),
        ("x" * 250 + "@example.com", "An email address has at most 254 characters."),
        ("bell\x07@example.com", "This contains control characters; remove them."),
        ("<script>@example.com", "Enter a valid email address, like name@example.com."),
        (OLD.upper(), "This is already your sign-in email address."),
        (" Taken@Example.com ", "An account with this email already exists; choose another address."),
    ]
    for value, message in cases:
        response = _ask(client, email=value)
        body = response.get_data(as_text=True)
        assert response.status_code == 400, value
        assert_field_error(body, "email", message)
        assert "Otherperson" not in body
    response = _ask(client, email="")
    assert 'id="password"' in response.get_data(as_text=True)
    assert client.post(PAGE, data={"email": NEW, "password": DEFAULT_PASSWORD}).status_code == 400  # no token
    assert database_rows() == before


def test_p05_a_link_older_than_24_hours_is_refused(client, login_as, monkeypatch):
    user = login_as("subscriber", email=OLD)
    _ask(client)
    change = db.session.execute(select(EmailChange)).scalar_one()
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 24 * 3600 - 5)
    old_link = "/confirm-email/" + email_change.token_for(change)
    monkeypatch.setattr(TimestampSigner, "get_timestamp", real)
    shown = client.get(old_link)
    assert shown.status_code == 400 and "This link has expired" in shown.get_data(as_text=True)
    used = post_form(client, old_link, token_from=PAGE)
    assert used.status_code == 400
    assert _stored_email(user) == OLD


def test_p05_forged_used_and_replaced_links_are_refused(app, client, login_as):
    user = login_as("subscriber", email=OLD)
    _ask(client, email="first@example.org")
    first = _link("first@example.org")
    _ask(client)  # a newer request replaces the first
    replaced = post_form(client, first, token_from=PAGE)
    assert replaced.status_code == 400 and "replaced" in replaced.get_data(as_text=True)
    forged = _link()[:-3] + ("abc" if not _link().endswith("abc") else "xyz")
    assert client.get(forged).status_code == 400
    assert client.get("/confirm-email/not-a-token").status_code == 400
    assert post_form(client, _link()).status_code == 200
    again = post_form(client, _link(), token_from=PAGE)
    assert again.status_code == 400 and "already used" in again.get_data(as_text=True)
    assert _stored_email(user) == NEW
    assert db.session.execute(select(EmailChange).where(
        EmailChange.status == "superseded")).scalar_one()._new_email is None  # not kept


def test_p05_refused_when_the_address_was_taken_meanwhile(client, factories, login_as):
    user = login_as("subscriber", email=OLD)
    _ask(client)
    factories.subscriber(email=NEW.upper())
    response = post_form(client, _link())
    assert response.status_code == 400
    assert "Another account started using this address in the meantime" in response.get_data(as_text=True)
    assert _stored_email(user) == OLD
    assert _mails(OLD) == []


def test_p05_a_pending_change_can_be_cancelled(client, login_as):
    user = login_as("subscriber", email=OLD)
    _ask(client)
    post_form(client, PAGE + "/cancel", token_from=PAGE)
    assert "change to <strong>" not in client.get(PAGE).get_data(as_text=True)
    assert post_form(client, _link()).status_code == 400
    assert _stored_email(user) == OLD


def test_p05_requests_are_rate_limited(client, login_as):
    login_as("subscriber", email=OLD)
    for n in range(3):
        assert _ask(client, email=f"try{n}@example.org").status_code == 302
    for _ in range(3):
        assert _ask(client, email="typo").status_code == 400  # typos do not count
    for _ in range(2):
        assert _ask(client, password="guessing the password").status_code == 400
    blocked = _ask(client)
    assert blocked.status_code == 429 and "Too many attempts" in blocked.get_data(as_text=True)
    assert len(_mails(NEW)) == 0


def test_p05_only_the_subscriber_reaches_the_page(client, factories, login_as):
    assert client.get(PAGE).status_code == 302  # to sign-in
    login_as("staff")
    assert client.get(PAGE).status_code == 404
