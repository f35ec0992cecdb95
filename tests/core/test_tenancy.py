"""Tenancy: nobody reaches another tenant's data, and anything outside your scope is a 404.

An id that belongs to someone else must look exactly like an id that does not exist (404,
never 403), so ids cannot be probed; a role outside its area gets the same 404.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from panel.accounts.models import CONTACT_FIELDS, Account
from panel.app import CSP
from panel.domains.models import CONTACT_FIELDS as DOMAIN_CONTACT_FIELDS
from panel.domains.models import Domain
from panel.extensions import db
from tests.conftest import csrf_token, login

NOT_FOUND = "There is nothing at this address."
STACK_MARKERS = ("Traceback", 'File "/', "sqlalchemy.", "psycopg.", "sqlite3.", "werkzeug.")


def body_of(response: Any) -> str:
    return response.get_data(as_text=True)


def database_rows() -> dict[str, list[str]]:
    """Every row of every table, raw: any write changes this."""
    with db.engine.connect() as conn:
        return {table.name: sorted(repr(tuple(row)) for row in conn.execute(select(table)))
                for table in db.metadata.sorted_tables}


def without_noise(body: str) -> str:
    """The page minus what differs per request (request reference, CSRF token)."""
    body = re.sub(r"reference [0-9a-f]+", "reference -", body)
    return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value="-"', body)


def assert_not_found(response: Any, *must_not_show: str) -> str:
    body = body_of(response)
    assert response.status_code == 404, f"status {response.status_code}:\n{body[:2000]}"
    assert NOT_FOUND in body
    assert "Forbidden" not in body and "Error 403" not in body
    assert "Error 404" in body
    for marker in STACK_MARKERS:
        assert marker not in body, f"{marker!r} shown to the user"
    for secret in must_not_show:
        assert secret not in body, f"{secret!r} shown to the user"
    assert response.headers.get("Content-Security-Policy") == CSP
    return body


def stored_contact(domain_id: Any, role: str) -> dict[str, Any]:
    db.session.expire_all()
    contact = db.session.get(Domain, domain_id).contact(role)
    return {f: getattr(contact, f) for f in DOMAIN_CONTACT_FIELDS}


def stored_account(account_id: Any) -> dict[str, Any]:
    db.session.expire_all()
    account = db.session.get(Account, account_id)
    return {f: getattr(account, f) for f in (*CONTACT_FIELDS, "status", "reseller_id", "number")}


def contact_form(**changes: str) -> dict[str, str]:
    return {"name": "Mallory Intruder", "organization": "", "email": "mallory@example.com",
            "phone": "+442079460958", "street": "1 Evil Street", "city": "London", "state": "",
            "postcode": "E1 1AA", "country": "GB", **changes}


class World:
    """Alice is signed in; Bob is another house customer; each has a domain and an invoice."""

    def __init__(self, factories: Any, client: FlaskClient) -> None:
        self.alice = factories.subscriber(first_name="Alice", last_name="Insider")
        self.bob = factories.subscriber(first_name="Roberto", last_name="Elsewhere")
        alice_account = db.session.get(Account, self.alice.account_id)
        bob_account = db.session.get(Account, self.bob.account_id)
        self.alice_domain = factories.domain(alice_account, "alice-own.test").id
        self.alice_invoice = factories.invoice(alice_account).id
        self.bob_domain = factories.domain(bob_account, "roberto-private.test").id
        bob_invoice = factories.invoice(bob_account, total_cents=98765)
        self.bob_invoice, self.bob_invoice_number = bob_invoice.id, bob_invoice.number
        self.bob_email = self.bob.email
        self.bob_contact_name = stored_contact(self.bob_domain, "admin")["name"]
        assert login(client, self.alice).status_code == 302

    @property
    def bob_secrets(self) -> tuple[str, ...]:
        return ("Roberto", "Elsewhere", "roberto-private.test", self.bob_email, self.bob_contact_name,
                self.bob_invoice_number, "987.65")


@pytest.fixture
def world(factories: Any, client: FlaskClient) -> World:
    return World(factories, client)


# --------------------------------------------------------------------------- subscribers


def test_customer_opening_another_customers_domain_invoice_or_contact_gets_404(client, world):
    for url in (f"/client/domains/{world.bob_domain}",
                f"/client/domains/{world.bob_domain}/contacts/registrant",
                f"/client/domains/{world.bob_domain}/contacts/admin",
                f"/client/invoices/{world.bob_invoice}"):
        assert_not_found(client.get(url), *world.bob_secrets)


def test_another_customers_id_looks_exactly_like_an_unknown_id(client, world):
    unknown = uuid.uuid4()
    pairs = [(f"/client/domains/{world.bob_domain}", f"/client/domains/{unknown}"),
             (f"/client/invoices/{world.bob_invoice}", f"/client/invoices/{unknown}"),
             (f"/client/domains/{world.bob_domain}/contacts/tech",
              f"/client/domains/{unknown}/contacts/tech")]
    for theirs, missing in pairs:
        a, b = client.get(theirs), client.get(missing)
        assert (a.status_code, b.status_code) == (404, 404)
        assert without_noise(body_of(a)) == without_noise(body_of(b))


def test_customer_posting_an_edit_to_another_customers_domain_contact_gets_404_and_changes_nothing(
        client, world):
    token = csrf_token(client, f"/client/domains/{world.alice_domain}/contacts/admin")
    bob_before = stored_contact(world.bob_domain, "admin")
    before = database_rows()
    url = f"/client/domains/{world.bob_domain}/contacts/admin"
    assert_not_found(client.post(url, data={**contact_form(), "csrf_token": token}), *world.bob_secrets)
    assert_not_found(client.post(url, data={"copy_profile": "1", "csrf_token": token}), *world.bob_secrets)
    assert database_rows() == before
    assert stored_contact(world.bob_domain, "admin") == bob_before


def test_customer_cannot_add_a_missing_contact_role_to_another_customers_domain(client, world, factories):
    bob_account = db.session.get(Account, world.bob.account_id)
    bare = factories.domain(bob_account, "roberto-bare.test", contacts=False).id
    token = csrf_token(client, "/client/profile")
    before = database_rows()
    response = client.post(f"/client/domains/{bare}/contacts/billing",
                           data={**contact_form(), "csrf_token": token})
    assert_not_found(response, "roberto-bare.test", *world.bob_secrets)
    assert database_rows() == before


MALFORMED_IDS = ["not-a-uuid", "1", "-1", "0", "1 OR 1=1", "' OR '1'='1", "%00", "%ED%A0%80",
                 "<script>alert(1)</script>", "x" * 5000, "00000000-0000-0000-0000-000000000000",
                 "{not-a-uuid}", "../profile", str(uuid.uuid4()), str(uuid.uuid4()).upper()]


def test_unknown_or_malformed_ids_get_a_plain_404(client, world):
    for ident in MALFORMED_IDS:
        for url in (f"/client/domains/{ident}", f"/client/invoices/{ident}",
                    f"/client/domains/{ident}/contacts/admin"):
            assert_not_found(client.get(url), "<script>alert(1)", *world.bob_secrets)


def test_unknown_contact_role_gets_404_and_saves_nothing(client, world):
    token = csrf_token(client, f"/client/domains/{world.alice_domain}/contacts/admin")
    before = database_rows()
    for role in ("owner", "Registrant", "ADMIN", "admin ", "admin%00", "<script>x</script>", "r" * 3000,
                 "contact", "registrant.."):
        url = f"/client/domains/{world.alice_domain}/contacts/{role}"
        assert_not_found(client.get(url), "<script>x")
        assert_not_found(client.post(url, data={**contact_form(), "csrf_token": token}), "<script>x")
        assert_not_found(client.post(url, data={"copy_profile": "1", "csrf_token": token}), "<script>x")
    assert database_rows() == before


def test_customer_lists_show_only_their_own_domains_and_invoices(client, world):
    domains = body_of(client.get("/client/domains"))
    assert "alice-own.test" in domains
    invoices = client.get("/client/invoices")
    assert invoices.status_code == 200
    for page in (domains, body_of(invoices), body_of(client.get("/client/")),
                 body_of(client.get("/client/profile"))):
        for secret in world.bob_secrets:
            assert secret not in page


def test_own_domain_and_invoice_still_open(client, world):
    assert client.get(f"/client/domains/{world.alice_domain}").status_code == 200
    assert client.get(f"/client/domains/{world.alice_domain}/contacts/billing").status_code == 200
    assert client.get(f"/client/invoices/{world.alice_invoice}").status_code == 200


def test_extra_form_fields_cannot_move_a_profile_edit_to_another_account(client, world):
    alice_before = stored_account(world.alice.account_id)
    bob_before = stored_account(world.bob.account_id)
    token = csrf_token(client, "/client/profile")
    form = {f: alice_before[f] or "" for f in CONTACT_FIELDS}
    response = client.post("/client/profile", data={
        **form, "csrf_token": token, "first_name": "Alicia", "id": str(world.bob.account_id),
        "account_id": str(world.bob.account_id), "reseller_id": str(uuid.uuid4()), "status": "closed",
        "number": "1", "email": "mallory@example.com", "role": "admin"})
    assert response.status_code == 302
    alice_after = stored_account(world.alice.account_id)
    assert alice_after == {**alice_before, "first_name": "Alicia"}
    assert stored_account(world.bob.account_id) == bob_before
    db.session.expire_all()
    assert db.session.get(type(world.alice), world.alice.id).role == "subscriber"


def test_extra_form_fields_cannot_move_a_contact_edit_to_another_domain(client, world):
    bob_before = stored_contact(world.bob_domain, "admin")
    url = f"/client/domains/{world.alice_domain}/contacts/admin"
    token = csrf_token(client, url)
    response = client.post(url, data={**contact_form(name="Alice Admin"), "csrf_token": token,
                                      "domain_id": str(world.bob_domain), "role": "admin",
                                      "id": str(world.bob_domain)})
    assert response.status_code == 302
    assert stored_contact(world.alice_domain, "admin")["name"] == "Alice Admin"
    assert stored_contact(world.bob_domain, "admin") == bob_before


# --------------------------------------------------------------------------- resellers


class Resellers:
    def __init__(self, factories: Any) -> None:
        self.mine = factories.reseller(name="Reseller Mine")
        self.other = factories.reseller(name="Reseller Other")
        self.own_customer = factories.subscriber(reseller=self.mine, first_name="Ownita").account_id
        self.foreign_customer = factories.subscriber(reseller=self.other, first_name="Foreigna",
                                                     last_name="Notyours").account_id
        self.house_customer = factories.subscriber(first_name="Housella", last_name="Direct").account_id
        for account_id in (self.own_customer, self.foreign_customer, self.house_customer):
            factories.domain(db.session.get(Account, account_id))
        self.secrets = ("Foreigna", "Notyours", "Housella", "Direct")


@pytest.fixture
def resellers(factories: Any, client: FlaskClient) -> Resellers:
    world = Resellers(factories)
    assert login(client, world.mine).status_code == 302
    return world


def test_reseller_opening_another_resellers_or_a_house_customer_gets_404(client, resellers):
    unknown = client.get(f"/reseller/customers/{uuid.uuid4()}")
    for account_id in (resellers.foreign_customer, resellers.house_customer):
        response = client.get(f"/reseller/customers/{account_id}")
        assert_not_found(response, *resellers.secrets)
        assert without_noise(body_of(response)) == without_noise(body_of(unknown))


def test_reseller_posting_an_edit_to_another_resellers_customer_gets_404_and_changes_nothing(
        client, resellers):
    token = csrf_token(client, f"/reseller/customers/{resellers.own_customer}")
    foreign_before = stored_account(resellers.foreign_customer)
    before = database_rows()
    form = {f: "" for f in CONTACT_FIELDS} | {"first_name": "Hijacked", "last_name": "Name",
                                              "phone": "+442079460958", "country": "GB"}
    for account_id in (resellers.foreign_customer, resellers.house_customer):
        response = client.post(f"/reseller/customers/{account_id}", data={**form, "csrf_token": token})
        assert_not_found(response, *resellers.secrets)
    assert database_rows() == before
    assert stored_account(resellers.foreign_customer) == foreign_before


def test_reseller_with_an_unknown_or_malformed_customer_id_gets_404(client, resellers):
    for ident in MALFORMED_IDS:
        assert_not_found(client.get(f"/reseller/customers/{ident}"), *resellers.secrets)


def test_reseller_dashboard_lists_only_its_own_customers(client, resellers):
    response = client.get("/reseller/")
    body = body_of(response)
    assert response.status_code == 200
    assert f"/reseller/customers/{resellers.own_customer}" in body
    for account_id in (resellers.foreign_customer, resellers.house_customer):
        assert str(account_id) not in body
    for secret in resellers.secrets:
        assert secret not in body


def test_reseller_still_opens_its_own_customer(client, resellers):
    response = client.get(f"/reseller/customers/{resellers.own_customer}")
    assert response.status_code == 200
    assert "Ownita" in body_of(response)


def test_reseller_cannot_reach_its_customers_domains_through_the_client_area(client, resellers):
    domain = db.session.execute(select(Domain.id).where(
        Domain.account_id == resellers.own_customer)).scalar_one()
    assert_not_found(client.get(f"/client/domains/{domain}"))


# --------------------------------------------------------------------------- areas


AREA_URLS = {
    "subscriber": ["/reseller/", "/reseller/customers/{account}", "/admin/", "/admin/customers/{account}",
                   "/admin/plugins", "/admin/?q=1001", "/admin/mail/"],
    "reseller": ["/client/", "/client/profile", "/client/domains", "/client/invoices", "/admin/",
                 "/admin/customers/{account}", "/admin/plugins", "/admin/mail/"],
    "staff": ["/client/", "/client/profile", "/reseller/", "/reseller/customers/{account}", "/admin/plugins",
              "/admin/mail/", "/admin/mail/maildir"],
    "admin": ["/client/", "/client/profile", "/reseller/", "/reseller/customers/{account}"],
}


def signed_in(app: Any, factories: Any, role: str) -> FlaskClient:
    maker = {"subscriber": factories.subscriber, "reseller": factories.reseller,
             "staff": factories.staff, "admin": lambda: factories.staff("admin")}
    client = app.test_client()
    assert login(client, maker[role]()).status_code == 302
    return client


def test_a_role_outside_its_area_gets_404_not_403(app, factories):
    customer = factories.subscriber(first_name="Areana")
    for role, urls in AREA_URLS.items():
        client = signed_in(app, factories, role)
        for url in urls:
            response = client.get(url.format(account=customer.account_id))
            assert response.status_code == 404, f"{role} {url}: {response.status_code}"
            assert_not_found(response, "Areana")


def test_a_non_admin_posting_a_plugin_toggle_gets_404_and_nothing_changes(app, factories):
    for role in ("subscriber", "reseller", "staff"):
        client = signed_in(app, factories, role)
        token = csrf_token(client, "/account/password")
        before = database_rows()
        response = client.post("/admin/plugins", data={"name": "privacy", "action": "deactivate",
                                                       "csrf_token": token})
        assert response.status_code == 404, role
        assert_not_found(response)
        assert database_rows() == before, role


def test_a_non_staff_posting_a_customer_edit_gets_404_and_nothing_changes(app, factories):
    customer = factories.subscriber(first_name="Areana")
    form = {f: "" for f in CONTACT_FIELDS} | {"first_name": "Hijacked", "last_name": "X",
                                              "phone": "+442079460958"}
    for role in ("subscriber", "reseller"):
        client = signed_in(app, factories, role)
        token = csrf_token(client, "/account/password")
        before = database_rows()
        for url in (f"/admin/customers/{customer.account_id}", f"/reseller/customers/{customer.account_id}"):
            response = client.post(url, data={**form, "csrf_token": token})
            assert response.status_code == 404, f"{role} {url}"
            assert_not_found(response, "Areana")
        assert database_rows() == before, role


def test_signed_out_visitor_is_sent_to_sign_in(client):
    for url in ("/client/", "/client/profile", "/reseller/", "/admin/", "/admin/plugins",
                "/client/domains/not-a-uuid", "/reseller/customers/not-a-uuid"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login"), url
