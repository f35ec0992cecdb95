"""Hostile, malformed and oversized input, and a database that is down or locked.

Every case must end in a clear message and the right status code, with the user's input
kept in the form, no stack trace, and the database exactly as it was before the request.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import event, select

from panel.accounts.models import CONTACT_FIELDS, Account
from panel.app import CSP
from panel.auth.models import User
from panel.domains.models import CONTACT_FIELDS as DOMAIN_CONTACT_FIELDS
from panel.domains.models import Domain
from panel.extensions import db
from tests.conftest import csrf_token, login, post_form
from tests.factories import DEFAULT_PASSWORD

PROFILE = "/client/profile"
EXPIRED = "This form expired or was not sent from this site."
NOTHING_SAVED = "Please correct the fields marked below; nothing was saved."
STACK_MARKERS = ("Traceback", 'File "/', "sqlalchemy.", "psycopg.", "sqlite3.", "werkzeug.", "jinja2.")


# --------------------------------------------------------------------------- helpers


def database_rows(*, except_trail: bool = False) -> dict[str, list[str]]:
    """Every row of every table, raw (sealed values as stored): any write changes this.
    ``except_trail`` leaves out the audit trail, which records every showing of a customer's
    page to a reseller or staff, failed saves included. The rate limiter's counters (which
    count refused attempts too, as Redis would) are never data, so never compared."""
    with db.engine.connect() as conn:
        return {table.name: sorted(repr(tuple(row)) for row in conn.execute(select(table)))
                for table in db.metadata.sorted_tables
                if table.name != "rate_limit_counter"
                if not (except_trail and table.name == "privacy_audit_entry"
                        or except_trail and table.name == "privacy_audit_head")}


def stored_account(account_id: Any) -> dict[str, Any]:
    db.session.expire_all()
    account = db.session.get(Account, account_id)
    assert account is not None
    return {f: getattr(account, f) for f in CONTACT_FIELDS}


def stored_contact(domain_id: Any, role: str) -> dict[str, Any]:
    db.session.expire_all()
    contact = db.session.get(Domain, domain_id).contact(role)
    return {f: getattr(contact, f) for f in DOMAIN_CONTACT_FIELDS}


def form_of(values: dict[str, Any], **changes: str) -> dict[str, str]:
    return {**{k: v or "" for k, v in values.items()}, **changes}


def body_of(response: Any) -> str:
    return response.get_data(as_text=True)


def assert_clean_page(response: Any, *must_not_show: str) -> str:
    """No stack trace, no internals, nothing of another customer, and the security headers."""
    body = body_of(response)
    for marker in STACK_MARKERS:
        assert marker not in body, f"{marker!r} shown to the user:\n{body[:3000]}"
    for secret in must_not_show:
        assert secret not in body, f"{secret!r} shown to the user"
    assert response.headers.get("Content-Security-Policy") == CSP
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    return body


def assert_error_page(response: Any, status: int, message: str, *must_not_show: str) -> str:
    body = body_of(response)
    assert response.status_code == status, body[:3000]
    assert message in body, body[:3000]
    assert f"Error {status}" in body
    return assert_clean_page(response, *must_not_show)


def assert_field_error(body: str, field: str, message: str) -> None:
    """The message is printed next to the field, and the field is marked invalid."""
    assert f'<p class="error" id="{field}-error">{escape(message)}' in body, body[:4000]
    assert f'aria-describedby="{field}-error"' in body


def assert_kept(body: str, value: str) -> None:
    assert f'value="{escape(value)}"' in body, f"{value[:60]!r} not kept in the form"


@contextmanager
def case(problems: list[str], label: str) -> Iterator[None]:
    """Check one case of a loop; keep going so one run names every case that fails."""
    try:
        yield
    except AssertionError as exc:
        problems.append(f"{label}: {str(exc).splitlines()[0][:300]}")


def multipart(fields: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [b"--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
             % (boundary.encode(), name.encode(), value) for name, value in fields.items()]
    return b"".join(parts) + b"--%s--\r\n" % boundary.encode(), f"multipart/form-data; boundary={boundary}"


def open_access_session(client: FlaskClient, account_id: Any) -> None:
    """Staff see a customer's data only inside an access session with a reason and a ticket
    (the privacy plugin's rule; the core alone lets staff in)."""
    if not client.application.extensions["panel.plugins"].is_active("privacy"):
        return
    response = post_form(client, f"/admin/access/new/{account_id}", {
        "reason": "support", "ticket": "T-1234", "note": "Checking the contact details", "minutes": "30"})
    assert response.status_code == 302, body_of(response)[:2000]


@pytest.fixture
def subscriber(login_as: Any) -> Any:
    return login_as("subscriber", first_name="Ada", city="London")


@pytest.fixture
def bystander(factories: Any) -> Any:
    """Another customer whose data must never show up on someone else's page."""
    user = factories.subscriber(first_name="Bystandra", last_name="Otherperson")
    factories.domain(user.account, "bystander-secret.test")
    return user


# --------------------------------------------------------------------------- client profile


def test_profile_without_required_fields_names_each_one_and_saves_nothing(client, subscriber, bystander):
    before_values = stored_account(subscriber.account_id)
    before = database_rows()
    data = form_of(before_values, first_name="", last_name="   ", phone="", city="Paris")
    response = post_form(client, PROFILE, data)

    body = body_of(response)
    assert response.status_code == 400
    assert NOTHING_SAVED in body
    assert_field_error(body, "first_name", "First name is required.")
    assert_field_error(body, "last_name", "Last name is required.")
    assert_field_error(body, "phone", "Phone is required.")
    assert_kept(body, "Paris")
    assert_clean_page(response, "Bystandra", "bystander-secret.test")
    assert database_rows() == before
    assert stored_account(subscriber.account_id) == before_values


BAD_PROFILE_FIELDS = [
    ("phone", "12345", "Enter the number in international form, starting with + and the country code"),
    ("phone", "call me maybe", "Enter the number in international form"),
    ("phone", "+44 12", "This is not a valid phone number for its country code."),
    ("country", "XX", "Choose a country from the list (a two-letter ISO 3166 code)."),
    ("country", "Narnia", "Choose a country from the list"),
    ("first_name", "A" * 10_000, "First name can be at most 100 characters."),
    ("last_name", "B" * 101, "Last name can be at most 100 characters."),
    ("postcode", "9" * 21, "Postal code can be at most 20 characters."),
    ("address1", "1 High\x00Street", "This contains control characters; remove them."),
    ("address1", "1 High\r\nBcc: victim@example.com", "This contains control characters; remove them."),
    ("last_name", "Hop\x1b[31mper", "This contains control characters; remove them."),
    ("company", "Acme\x85Ltd", "This contains control characters; remove them."),
]


def test_profile_with_a_bad_field_shows_the_message_there_keeps_input_and_saves_nothing(client, subscriber):
    before_values = stored_account(subscriber.account_id)
    before = database_rows()
    problems: list[str] = []
    for field, value, message in BAD_PROFILE_FIELDS:
        with case(problems, f"{field}={value[:30]!r}"):
            # A valid change (city) next to the bad one: neither may be saved.
            response = post_form(client, PROFILE, form_of(before_values, city="Paris", **{field: value}))
            body = body_of(response)
            assert response.status_code == 400, f"status {response.status_code}"
            assert NOTHING_SAVED in body
            assert_field_error(body, field, message)
            assert_kept(body, "Paris")
            if value.isprintable() and field != "country":  # a <select> only shows its own options
                assert_kept(body, value)
            assert_clean_page(response)
            assert database_rows() == before, "the database changed"
    assert not problems, "\n".join(problems)
    assert stored_account(subscriber.account_id) == before_values


def test_profile_valid_first_name_with_invalid_phone_saves_neither(client, subscriber):
    before_values = stored_account(subscriber.account_id)
    response = post_form(client, PROFILE, form_of(before_values, first_name="Grace", phone="+1 555"))
    body = body_of(response)
    assert response.status_code == 400
    assert_field_error(body, "phone", "This is not a valid phone number for its country code.")
    assert_kept(body, "Grace")
    assert_kept(body, "+1 555")
    assert stored_account(subscriber.account_id)["first_name"] == "Ada"
    assert stored_account(subscriber.account_id) == before_values


def test_profile_with_invalid_utf8_bytes_is_refused_as_not_valid_text(client, subscriber):
    """%ED%A0%80 is a lone surrogate encoded as UTF-8: not valid text, whatever Werkzeug makes of it."""
    before_values = stored_account(subscriber.account_id)
    before = database_rows()
    token = csrf_token(client, PROFILE)
    fields = form_of(before_values, csrf_token=token, first_name="GRACEMARK")
    body = urlencode(fields).replace("GRACEMARK", "Gr%ED%A0%80ace")
    response = client.post(PROFILE, data=body, content_type="application/x-www-form-urlencoded")

    page = body_of(response)
    assert response.status_code == 400, (
        f"invalid UTF-8 was accepted (status {response.status_code}); stored first name is now "
        f"{stored_account(subscriber.account_id)['first_name']!r}")
    assert_field_error(page, "first_name", "This contains characters that are not valid text.")
    assert_clean_page(response)
    assert database_rows() == before


def test_profile_sent_as_multipart_with_invalid_utf8_is_refused_as_not_valid_text(client, subscriber):
    before_values = stored_account(subscriber.account_id)
    before = database_rows()
    token = csrf_token(client, PROFILE)
    fields = {k: v.encode() for k, v in form_of(before_values, csrf_token=token).items()}
    fields["first_name"] = b"Gr\xed\xa0\x80ace"
    payload, content_type = multipart(fields)
    response = client.post(PROFILE, data=payload, content_type=content_type)

    assert response.status_code == 400, (
        f"invalid UTF-8 was accepted (status {response.status_code}); stored first name is now "
        f"{stored_account(subscriber.account_id)['first_name']!r}")
    assert_field_error(body_of(response), "first_name", "This contains characters that are not valid text.")
    assert_clean_page(response)
    assert database_rows() == before


def test_form_body_that_is_not_utf8_at_all_is_refused_without_saving(client, subscriber):
    before = database_rows()
    token = csrf_token(client, PROFILE)
    payload = f"csrf_token={token}&first_name=".encode() + b"Gr\xff\xfeace&last_name=X&phone=%2B442079460958"
    response = client.post(PROFILE, data=payload, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert_clean_page(response)
    assert database_rows() == before


def test_html_in_names_is_saved_verbatim_and_shown_escaped_everywhere(app, client, subscriber, factories):
    script = '<script>alert("owned")</script>'
    image = "<img src=x onerror=alert(1)>"
    values = stored_account(subscriber.account_id)
    response = post_form(client, PROFILE, form_of(values, first_name=script, last_name=image,
                                                  company='"><b>bold</b>'))
    assert response.status_code == 302
    stored = stored_account(subscriber.account_id)
    assert (stored["first_name"], stored["last_name"], stored["company"]) == (
        script, image, '"><b>bold</b>')

    pages = {"profile": client.get(PROFILE), "dashboard": client.get("/client/")}
    staff = app.test_client()
    assert login(staff, factories.staff("admin")).status_code == 302
    open_access_session(staff, subscriber.account_id)
    pages["admin customer"] = staff.get(f"/admin/customers/{subscriber.account_id}")
    for name, page in pages.items():
        body = assert_clean_page(page)
        assert page.status_code == 200, name
        assert "<script>alert" not in body and "<img src=x" not in body and "<b>bold" not in body, name
        assert str(escape(script)) in body, name
    listing = staff.get("/admin/")
    assert listing.status_code == 200
    assert "<script>alert" not in assert_clean_page(listing)


def test_sql_like_text_is_saved_verbatim_and_harms_nothing(client, subscriber, bystander):
    hostile = {"first_name": "Robert'); DROP TABLE account;--", "last_name": "' OR '1'='1",
               "company": '"; DELETE FROM "user" WHERE 1=1; --', "city": "London\\' UNION SELECT 1--"}
    values = stored_account(subscriber.account_id)
    response = post_form(client, PROFILE, form_of(values, **hostile))
    assert response.status_code == 302
    stored = stored_account(subscriber.account_id)
    assert {k: stored[k] for k in hostile} == hostile
    assert stored_account(bystander.account_id)["first_name"] == "Bystandra"
    assert len(db.session.execute(select(Account)).scalars().all()) == 2  # no row lost or added
    page = client.get(PROFILE)
    assert page.status_code == 200
    assert_kept(body_of(page), hostile["first_name"])


def test_names_in_any_script_are_kept_exactly(client, subscriber):
    names = {"first_name": "Zoë Ñandú", "last_name": "山田 Ελένη 😀", "city": "Zürich"}
    values = stored_account(subscriber.account_id)
    assert post_form(client, PROFILE, form_of(values, **names)).status_code == 302
    stored = stored_account(subscriber.account_id)
    assert {k: stored[k] for k in names} == names


def test_oversized_body_gets_413_with_a_clear_message_and_saves_nothing(client, subscriber):
    values = stored_account(subscriber.account_id)
    before = database_rows()
    response = post_form(client, PROFILE, form_of(values, first_name="x" * (2 * 1024 * 1024)))
    assert_error_page(response, 413, "What you sent is larger than this panel accepts.")
    assert database_rows() == before


def test_oversized_sign_in_body_gets_413(client, factories):
    user = factories.subscriber()
    response = post_form(client, "/login", {"email": user.email, "password": "p" * (2 * 1024 * 1024)})
    assert_error_page(response, 413, "larger than this panel accepts")
    assert client.get("/client/").status_code == 302  # not signed in


# --------------------------------------------------------------------------- CSRF


def _token_of_another_session(app: Flask) -> str:
    return csrf_token(app.test_client(), "/login")


def test_profile_post_without_a_valid_csrf_token_says_form_expired_and_saves_nothing(
        app, client, subscriber):
    values = stored_account(subscriber.account_id)
    client.get(PROFILE)
    before = database_rows()
    tokens = {"missing": None, "empty": "", "garbage": "IjAxMjM0NTY3ODkwYWJjZGVmIg.Zz9aAA.forged",
              "another session's": _token_of_another_session(app)}
    for kind, token in tokens.items():
        data = form_of(values, first_name="Grace") | ({} if token is None else {"csrf_token": token})
        response = client.post(PROFILE, data=data)
        assert response.status_code == 400, kind
        assert_error_page(response, 400, EXPIRED)
    assert database_rows() == before
    assert stored_account(subscriber.account_id)["first_name"] == "Ada"


def test_sign_in_without_csrf_token_says_form_expired_and_does_not_sign_in(client, factories):
    user = factories.subscriber()
    client.get("/login")
    response = client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert_error_page(response, 400, EXPIRED)
    assert client.get("/client/").status_code == 302


def test_password_change_without_csrf_token_changes_nothing(client, subscriber):
    before = database_rows()
    response = client.post("/account/password", data={
        "current": DEFAULT_PASSWORD, "new": "a brand new passphrase", "confirm": "a brand new passphrase"})
    assert_error_page(response, 400, EXPIRED)
    assert database_rows() == before


def test_domain_contact_edit_and_copy_without_csrf_token_change_nothing(client, subscriber, factories):
    domain = factories.domain(db.session.get(Account, subscriber.account_id))
    url = f"/client/domains/{domain.id}/contacts/admin"
    before = database_rows()
    data = form_of(stored_contact(domain.id, "admin"), name="Changed Name")
    assert_error_page(client.post(url, data=data), 400, EXPIRED)
    assert_error_page(client.post(url, data={"copy_profile": "1"}), 400, EXPIRED)
    assert database_rows() == before


@pytest.mark.needs_privacy
def test_customer_edit_and_plugin_toggle_without_csrf_token_change_nothing(client, login_as, factories):
    customer = factories.subscriber(first_name="Carla")
    login_as("admin")
    open_access_session(client, customer.account_id)
    client.get(f"/admin/customers/{customer.account_id}")  # opening the page is audited
    before = database_rows()
    data = form_of(stored_account(customer.account_id), first_name="Changed")
    assert_error_page(client.post(f"/admin/customers/{customer.account_id}", data=data), 400, EXPIRED)
    assert_error_page(client.post("/admin/plugins", data={"name": "privacy", "action": "deactivate"}),
                      400, EXPIRED)
    assert database_rows() == before
    assert plugin_active(client)


# --------------------------------------------------------------------------- sign-in


def test_sign_in_with_empty_fields_says_what_is_missing_and_keeps_the_email(client):
    response = post_form(client, "/login", {"email": "ada@example.com", "password": ""})
    body = body_of(response)
    assert response.status_code == 400
    assert_field_error(body, "password", "This field is required.")
    assert_kept(body, "ada@example.com")
    response = post_form(client, "/login", {"email": "", "password": ""})
    assert response.status_code == 400
    assert_field_error(body_of(response), "email", "This field is required.")
    assert_clean_page(response)


def test_sign_in_with_oversized_fields_is_refused_with_a_message(client):
    for email, password, field, message in [
        ("a" * 10_000 + "@example.com", DEFAULT_PASSWORD, "email",
         "Field cannot be longer than 254 characters."),
        ("ada@example.com", "p" * 1025, "password", "Field cannot be longer than 1024 characters."),
    ]:
        response = post_form(client, "/login", {"email": email, "password": password})
        assert response.status_code == 400, field
        assert_field_error(body_of(response), field, message)
        body = assert_clean_page(response)
        assert password not in body  # a password is never echoed back
        assert_kept(body, email)


HOSTILE_EMAILS = ["ada\x00@example.com", "ada@exa%ED%A0%80mple.com", "<script>alert(1)</script>@example.com",
                  "' OR '1'='1' --", "ada@" + "x" * 240, "ada@xn--", "@", "ada@@example.com",
                  "ada@example.com\r\nX-Injected: 1", "\u202eada@example.com"]


def test_sign_in_with_a_hostile_email_gets_the_usual_answer_and_no_session(client, factories):
    factories.subscriber(email="ada@example.com")
    problems: list[str] = []
    for email in HOSTILE_EMAILS:
        with case(problems, repr(email[:40])):
            response = post_form(client, "/login", {"email": email, "password": DEFAULT_PASSWORD})
            body = assert_clean_page(response)
            assert response.status_code in (200, 400), f"status {response.status_code}"
            assert "The email address or password is not right." in body or 'class="error"' in body
            assert "<script>alert(1)" not in body
            assert DEFAULT_PASSWORD not in body
            assert client.get("/client/").status_code == 302, "signed in"
    assert not problems, "\n".join(problems)


OFFSITE = ["https://evil.example/", "//evil.example", "///evil.example", "/\\evil.example",
           "\\\\evil.example", "http:evil.example", "javascript:alert(1)", " //evil.example",
           "/\t/evil.example", "https:/\\evil.example", "HTTPS://evil.example", "/%2F/evil.example"]


def test_sign_in_never_redirects_to_another_site(app, factories):
    user = factories.subscriber()
    problems: list[str] = []
    for target in OFFSITE:
        with case(problems, repr(target)):
            check_redirect_stays_here(app.test_client(), user.email, target)
    assert not problems, "\n".join(problems)


def check_redirect_stays_here(client: FlaskClient, email: str, target: str) -> None:
    response = post_form(client, "/login?next=" + quote(target, safe=""),
                         {"email": email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    location = response.headers["Location"]
    if location != "/client/":  # only a path on this site is acceptable instead of home
        parts = urlsplit(location)
        assert (parts.scheme, parts.netloc) == ("", ""), location
        assert location.startswith("/") and not location.startswith(("//", "/\\")), location


def test_sign_in_follows_a_local_next_page(client, factories):
    user = factories.subscriber()
    response = post_form(client, "/login?next=/client/profile", {"email": user.email,
                                                                  "password": DEFAULT_PASSWORD})
    assert response.headers["Location"] == "/client/profile"


# --------------------------------------------------------------------------- password change


PASSWORD_CASES = [
    ({"current": "", "new": "a brand new passphrase", "confirm": "a brand new passphrase"},
     "current", "This field is required."),
    ({"current": "not my password at all", "new": "a brand new passphrase",
      "confirm": "a brand new passphrase"}, "current", "That is not your current password."),
    ({"current": DEFAULT_PASSWORD, "new": "short", "confirm": "short"},
     "new", "Use between 10 and 1024 characters."),
    ({"current": DEFAULT_PASSWORD, "new": "n" * 1025, "confirm": "n" * 1025},
     "new", "Use between 10 and 1024 characters."),
    ({"current": DEFAULT_PASSWORD, "new": "a brand new passphrase", "confirm": "a different passphrase"},
     "confirm", "The two new passwords differ."),
    ({"current": DEFAULT_PASSWORD, "new": "a brand new passphrase"},
     "confirm", "This field is required."),
]


def test_password_change_with_bad_input_explains_and_keeps_the_old_password(app, client, subscriber):
    before = database_rows()
    for form, field, message in PASSWORD_CASES:
        response = post_form(client, "/account/password", form)
        body = body_of(response)
        assert response.status_code == 400, (field, message)
        assert_field_error(body, field, message)
        assert_clean_page(response, *(v for v in form.values() if len(v) > 5))  # never echo a password
        assert database_rows() == before
    assert client.get("/client/").status_code == 200  # still signed in
    assert login(app.test_client(), subscriber.email).status_code == 302  # old password still works


# --------------------------------------------------------------------------- domain contacts


@pytest.fixture
def own_domain(subscriber: Any, factories: Any) -> Domain:
    return factories.domain(db.session.get(Account, subscriber.account_id))


BAD_CONTACT_FIELDS = [
    ("email", "not-an-email", "Enter an email address like name@example.com."),
    ("email", "", "Email is required."),
    ("email", "admin@example.com\r\nBcc: all@example.com", "This contains control characters; remove them."),
    ("email", "a" * 250 + "@example.com", "Field cannot be longer than 254 characters."),
    ("phone", "020 7946 0958", "Enter the number in international form"),
    ("country", "", "Country is required."),
    ("country", "ZZ", "Choose a country from the list"),
    ("street", "", "Street is required."),
    ("city", "   ", "City is required."),
    ("name", "N" * 10_000, "Name can be at most 120 characters."),
    ("organization", "Org\x07", "This contains control characters; remove them."),
]


def test_domain_contact_with_a_bad_field_shows_the_message_keeps_input_and_saves_nothing(
        client, own_domain):
    url = f"/client/domains/{own_domain.id}/contacts/tech"
    before_values = stored_contact(own_domain.id, "tech")
    before = database_rows()
    problems: list[str] = []
    for field, value, message in BAD_CONTACT_FIELDS:
        with case(problems, f"{field}={value[:30]!r}"):
            # A valid change next to the bad one: neither may be saved.
            valid = {"name": "Valid New Name"} if field != "name" else {"city": "Paris"}
            response = post_form(client, url, form_of(before_values, **valid, **{field: value}))
            body = body_of(response)
            assert response.status_code == 400, f"status {response.status_code}"
            assert NOTHING_SAVED in body
            assert_field_error(body, field, message)
            assert_kept(body, next(iter(valid.values())))
            if value.isprintable() and value.strip() and field != "country":
                assert_kept(body, value)
            assert_clean_page(response)
            assert database_rows() == before, "the database changed"
    assert not problems, "\n".join(problems)
    assert stored_contact(own_domain.id, "tech") == before_values


def test_domain_contact_html_is_saved_verbatim_and_shown_escaped(client, own_domain):
    url = f"/client/domains/{own_domain.id}/contacts/registrant"
    name = "<script>alert('x')</script>"
    response = post_form(client, url, form_of(stored_contact(own_domain.id, "registrant"), name=name,
                                              organization="</p><h1>Fake</h1>"))
    assert response.status_code == 302
    assert stored_contact(own_domain.id, "registrant")["name"] == name
    for page in (client.get(f"/client/domains/{own_domain.id}"), client.get(url)):
        body = assert_clean_page(page)
        assert "<script>alert" not in body and "<h1>Fake" not in body
        assert str(escape(name)) in body


def test_copy_from_my_profile_fills_the_form_but_saves_nothing(client, subscriber, own_domain):
    url = f"/client/domains/{own_domain.id}/contacts/billing"
    before = database_rows()
    response = post_form(client, url, {"copy_profile": "1"})
    body = body_of(response)
    assert response.status_code == 200
    assert "Your profile was copied in. Check it and save." in body
    assert_kept(body, "Ada " + stored_account(subscriber.account_id)["last_name"])
    assert_kept(body, subscriber.email)
    assert_clean_page(response)
    assert database_rows() == before


def test_copy_from_an_incomplete_profile_says_what_is_missing_and_saves_nothing(
        client, subscriber, own_domain):
    account = db.session.get(Account, subscriber.account_id)
    account.address1 = None
    account.city = None
    db.session.commit()
    url = f"/client/domains/{own_domain.id}/contacts/admin"
    before = database_rows()
    response = post_form(client, url, {"copy_profile": "1"})
    body = body_of(response)
    assert_field_error(body, "street", "Street is required.")
    assert_field_error(body, "city", "City is required.")
    assert_kept(body, subscriber.email)
    assert_clean_page(response)
    assert database_rows() == before


def test_copy_from_a_profile_with_html_shows_it_escaped(client, subscriber, own_domain):
    account = db.session.get(Account, subscriber.account_id)
    account.first_name = "<script>alert(1)</script>"
    db.session.commit()
    response = post_form(client, f"/client/domains/{own_domain.id}/contacts/tech", {"copy_profile": "1"})
    body = assert_clean_page(response)
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


# --------------------------------------------------------------------------- reseller and admin edits


def test_reseller_edit_with_invalid_phone_keeps_input_and_saves_nothing(app, client, factories):
    reseller = factories.reseller()
    customer = factories.subscriber(reseller=reseller, first_name="Carla")
    assert login(client, reseller).status_code == 302
    url = f"/reseller/customers/{customer.account_id}"
    token = csrf_token(client, url)  # opening the page may be audited; the failed save must not be
    before = database_rows(except_trail=True)
    response = client.post(url, data=form_of(stored_account(customer.account_id), csrf_token=token,
                                             first_name="Carlotta", phone="555-0100"))
    body = body_of(response)
    assert response.status_code == 400
    assert_field_error(body, "phone", "Enter the number in international form")
    assert_kept(body, "Carlotta")
    assert_clean_page(response)
    assert database_rows(except_trail=True) == before


def test_admin_customer_edit_with_bad_input_keeps_input_and_saves_nothing(client, login_as, factories):
    customer = factories.subscriber(first_name="Carla")
    login_as("admin")
    open_access_session(client, customer.account_id)
    url = f"/admin/customers/{customer.account_id}"
    token = csrf_token(client, url)  # opening the page is audited; the failed save must not be
    values = stored_account(customer.account_id)
    before = database_rows(except_trail=True)
    for field, value, message in [
        ("last_name", "L" * 10_000, "Last name can be at most 100 characters."),
        ("country", "UK", "Choose a country from the list"),
        ("first_name", "", "First name is required."),
        ("tax_id", "GB\x00123", "This contains control characters; remove them."),
        ("phone", "+44 20 7946 09581234", "This is not a valid phone number for its country code."),
    ]:
        response = client.post(url, data=form_of(values, csrf_token=token, city="Paris", **{field: value}))
        body = body_of(response)
        assert response.status_code == 400, field
        assert_field_error(body, field, message)
        assert_kept(body, "Paris")
        assert_clean_page(response)
        assert database_rows(except_trail=True) == before, field


# --------------------------------------------------------------------------- admin plugins


def plugin_active(client: FlaskClient) -> bool:
    body = body_of(client.get("/admin/plugins"))
    return 'value="deactivate"' in body


@pytest.mark.needs_privacy
def test_plugin_toggle_for_an_unknown_plugin_is_404_and_changes_nothing(client, login_as):
    login_as("admin")
    before = database_rows()
    for form in ({"name": "nosuchplugin", "action": "deactivate"}, {"action": "deactivate"},
                 {"name": "<script>alert(1)</script>", "action": "deactivate"},
                 {"name": "privacy' OR '1'='1", "action": "deactivate"},
                 {"name": "PRIVACY", "action": "deactivate"},
                 {"name": "privacy\x00", "action": "deactivate"}):
        response = post_form(client, "/admin/plugins", form)
        assert_error_page(response, 404, "There is nothing at this address.", "<script>alert(1)")
        assert database_rows() == before, form
    assert plugin_active(client)


@pytest.mark.needs_privacy
def test_plugin_toggle_with_an_unknown_action_changes_nothing(client, login_as):
    login_as("admin")
    problems: list[str] = []
    for action in ("", "bogus", "ACTIVATE", None):
        with case(problems, f"action={action!r}"):
            before = database_rows()
            form = {"name": "privacy"} | ({"action": action} if action is not None else {})
            response = post_form(client, "/admin/plugins", form)
            was_active = plugin_active(client)
            if not was_active:  # put it back so the next case starts from the same state
                post_form(client, "/admin/plugins", {"name": "privacy", "action": "activate"})
            assert response.status_code in (400, 404), (
                f"answered {response.status_code} and the plugin was "
                f"{'left active' if was_active else 'deactivated'}")
            assert_clean_page(response)
            assert was_active, "the plugin was deactivated"
            assert database_rows() == before, "the database changed"
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- admin search


ODD_SEARCHES = {
    "10 kB": "x" * 10_000, "superscript two": "²", "Arabic-Indic three": "٣", "40 digits": "9" * 40,
    "negative": "-1", "NUL in domain": "a\x00b", "NUL in phone": "+\x00",
    "NUL in email": "ada\x00@example.com",
    "SQL drop": "'; DROP TABLE account;--", "SQL or": "' OR '1'='1", "HTML": "<script>alert(1)</script>",
    "percent bytes": "%ED%A0%80", "at": "@", "plus": "+", "RTL override": "\u202e", "star": "*",
    "percent": "%", "underscore": "_",
}


def test_admin_search_with_odd_input_finds_nothing_and_does_not_fail(client, login_as, bystander):
    login_as("staff")
    before = database_rows()
    problems: list[str] = []
    for label, term in ODD_SEARCHES.items():
        with case(problems, f"{label} ({term[:20]!r})"):
            response = post_form(client, "/admin/", {"q": term})
            body = body_of(response)
            assert response.status_code == 200, f"status {response.status_code}"
            assert "No customers found." in body
            assert_clean_page(response, str(bystander.account_id), "Bystandra", "<script>alert(1)")
            if len(term) < 254:
                assert f'value="{escape(term)}"' in body, "the search term is not kept"
    assert not problems, "\n".join(problems)
    assert database_rows() == before


def test_admin_search_still_finds_by_client_id(client, login_as, bystander):
    login_as("staff")
    number = db.session.get(Account, bystander.account_id).number
    body = body_of(post_form(client, "/admin/", {"q": f" {number} "}))
    assert f"/admin/customers/{bystander.account_id}" in body


# --------------------------------------------------------------------------- admin mail pages


def test_admin_mail_pages_with_odd_page_numbers_do_not_fail(client, login_as):
    login_as("admin")
    problems: list[str] = []
    for page in ("0", "-5", "abc", "1e9", "²", "", "99999999999999999999", str(2**63 - 1)):
        for url in ("/admin/mail/", "/admin/mail/maildir"):
            with case(problems, f"{url}?page={page}"):
                response = client.get(url, query_string={"page": page})
                assert response.status_code in (200, 404), f"status {response.status_code}"
                assert_clean_page(response)
    assert not problems, "\n".join(problems)


def test_admin_mail_message_with_an_unknown_or_hostile_key_is_404(client, login_as):
    login_as("admin")
    for key in ("..", "x" * 5000, "%00", "<script>alert(1)</script>", "..%2F..%2Fetc%2Fpasswd", "new"):
        assert_error_page(client.get(f"/admin/mail/maildir/{key}"), 404, "There is nothing at this address.",
                          "<script>alert(1)")


# --------------------------------------------------------------------------- database down or locked


UNREACHABLE = {
    "postgresql closed port": "postgresql+psycopg://panel:s3cret-pw@127.0.0.1:1/x?connect_timeout=2",
    "sqlite missing folder": "sqlite:///{tmp}/no-such-folder/panel.db",
}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("where", list(UNREACHABLE))
def test_unreachable_database_answers_503_with_a_clear_message(make_app, tmp_path, where):
    dead = make_app(DATABASE_URL=UNREACHABLE[where].format(tmp=tmp_path))
    client = dead.test_client()
    for response in (client.get("/login"), client.get("/client/profile"), client.get("/privacy"),
                     client.get("/admin/plugins")):
        assert_error_page(response, 503, "The service is unavailable", "s3cret-pw")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_panel_recovers_by_itself_once_the_database_is_back(make_app, database_url, tmp_path):
    target = tmp_path / "later" / "panel.db"
    app = make_app(DATABASE_URL=f"sqlite:///{target}")
    client = app.test_client()
    assert_error_page(client.get("/login"), 503, "The service is unavailable")
    target.parent.mkdir()
    shutil.copy(database_url.removeprefix("sqlite:///"), target)
    assert client.get("/login").status_code == 200


def test_signed_in_customer_sees_503_not_a_crash_when_the_database_goes_away(
        make_app, client, subscriber):
    dead = make_app(DATABASE_URL="postgresql+psycopg://panel:s3cret-pw@127.0.0.1:1/x?connect_timeout=2")
    same_browser = dead.test_client()
    same_browser.set_cookie("panel_session", client.get_cookie("panel_session").value)
    for url in ("/client/", "/client/profile", "/login"):
        assert_error_page(same_browser.get(url), 503, "The service is unavailable", "s3cret-pw")


def _hold_lock(database_url: str, mode: str) -> sqlite3.Connection:
    conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    conn.execute(f"BEGIN {mode}")
    return conn


def _short_busy_timeout(app: Flask, ms: int = 300) -> None:
    """The app waits 5 s on a lock (busy_timeout=5000); wait less so the test stays quick."""

    def pragma(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA busy_timeout={ms}")

    event.listen(db.engine, "connect", pragma)
    db.engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_profile_save_on_a_locked_database_answers_503_and_saves_nothing(
        app, client, subscriber, database_url):
    _short_busy_timeout(app)
    values = stored_account(subscriber.account_id)
    token = csrf_token(client, PROFILE)
    before = database_rows()
    lock = _hold_lock(database_url, "IMMEDIATE")  # another writer: reads work, writes wait
    try:
        started = time.monotonic()
        response = client.post(PROFILE, data=form_of(values, csrf_token=token, first_name="Grace"))
        waited = time.monotonic() - started
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert_error_page(response, 503, "The database is busy or unreachable. Nothing was saved")
    assert waited < 5
    assert database_rows() == before
    assert stored_account(subscriber.account_id)["first_name"] == "Ada"
    assert client.get(PROFILE).status_code == 200  # works again once the lock is gone


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_signed_in_customer_reads_on_but_gets_503_not_a_crash_when_writes_are_locked(
        app, client, subscriber, database_url):
    """SQLite runs in WAL mode: another writer holding the lock does not stop a customer from
    reading their pages, and their save answers 503 with nothing saved, never a crash."""
    _short_busy_timeout(app)
    values = stored_account(subscriber.account_id)
    token = csrf_token(client, PROFILE)
    before = database_rows()
    lock = _hold_lock(database_url, "IMMEDIATE")
    try:
        read = client.get("/client/")
        write = client.post(PROFILE, data=form_of(values, csrf_token=token, first_name="Grace"))
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert read.status_code == 200
    assert_error_page(write, 503, "The database is busy or unreachable.")
    assert database_rows() == before


# --------------------------------------------------------------------------- headers and cookies


def test_every_kind_of_page_carries_the_security_headers(app, client, subscriber, make_app):
    responses = {
        "page": client.get(PROFILE),
        "404": client.get("/client/domains/not-a-uuid"),
        "400 form expired": client.post(PROFILE, data={}),
        "413": client.post(PROFILE, data={"first_name": "x" * (2 * 1024 * 1024)}),
        "400 invalid form": post_form(client, PROFILE, {"first_name": ""}),
    }
    dead = make_app(DATABASE_URL="sqlite:////nonexistent-folder/panel.db")
    responses["503"] = dead.test_client().get("/login")
    for name, response in responses.items():
        assert response.headers.get("Content-Security-Policy") == CSP, name
        assert response.headers.get("X-Frame-Options") == "DENY", name
        assert response.headers.get("X-Content-Type-Options") == "nosniff", name
        assert_clean_page(response)


def test_session_cookie_is_httponly_and_samesite_lax_before_and_after_sign_in(client, factories):
    user = factories.subscriber()
    first = client.get("/login")
    signed_in = post_form(client, "/login", {"email": user.email, "password": DEFAULT_PASSWORD})
    for response in (first, signed_in):
        cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("panel_session=")]
        assert cookies, "no session cookie set"
        for cookie in cookies:
            attributes = {a.strip().split("=")[0].lower(): a for a in cookie.split(";")[1:]}
            assert "httponly" in attributes
            assert attributes.get("samesite", "").strip().lower() == "samesite=lax"


def test_a_valid_save_does_change_the_database_snapshot(client, subscriber):
    """The check the tests above rely on: database_rows() does see a real save."""
    before = database_rows()
    post_form(client, PROFILE, form_of(stored_account(subscriber.account_id), first_name="Grace"))
    assert database_rows() != before
    assert db.session.execute(select(User).where(User.id == subscriber.id)).scalar_one().active
