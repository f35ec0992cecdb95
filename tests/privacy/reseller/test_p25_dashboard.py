"""The reseller's dashboard (P25): its own customers only, created, invited, suspended,
corrected; every view and change recorded and shown to the customer as the reseller's."""

from __future__ import annotations

import re

from sqlalchemy import select

from panel.accounts.models import Account
from panel.auth.models import User
from panel.db_types import utcnow
from panel.domains.models import Domain
from panel.extensions import db
from panel.mail.models import OutboxMessage
from plugins.privacy.access.models import AuditEntry
from plugins.privacy.center.services import requests as requests_service
from tests.conftest import login, post_form

CONTACT = {"first_name": "Carla", "last_name": "Corrected", "company": "", "phone": "+442079460001",
           "address1": "2 New Road", "address2": "", "city": "Leeds", "state": "",
           "postcode": "LS1 1AA", "country": "GB", "tax_id": ""}


def test_p25_dashboard_lists_own_customers_with_counts_and_nobody_elses(as_r1, resellers, factories):
    factories.domain(resellers.a1, "carla-open.test", privacy=False)
    requests_service.file(resellers.a1, resellers.c1, kind="restriction", verified_by="panel-password")
    resellers.c1.last_login_at = utcnow()
    db.session.commit()
    page = as_r1.get("/reseller/").get_data(as_text=True)
    assert "Carla Oneclient" in page
    assert "Dieter" not in page and "Hanna" not in page
    row = re.search(r"<tr>.*?Carla Oneclient.*?</tr>", page, re.S).group(0)
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    # client id, name, status, domains, privacy, open requests, marketing, last sign-in
    assert cells[2:6] == ["active", "2", "1 of 2 private", "1"]
    assert cells[-1] != "never"


def test_p25_dashboard_queries_do_not_grow_with_customers(as_r1, resellers, factories, app):
    from sqlalchemy import event

    def count() -> int:
        seen = []
        listener = lambda *a, **k: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert as_r1.get("/reseller/").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    few = count()
    for i in range(6):
        user = factories.subscriber(reseller=resellers.r1)
        factories.domain(db.session.get(Account, user.account_id), f"more{i}.test")
    assert count() == few


def test_p25_reseller_creates_and_invites_a_customer_who_sets_a_password(as_r1, resellers, client):
    response = post_form(as_r1, "/reseller/add-customer", {
        "email": "newbie@example.com", "first_name": "Nina", "last_name": "Newbie",
        "phone": "+442079460077", "invite": "y", "reseller_id": str(resellers.r2.id)})
    assert response.status_code == 302
    user = db.session.execute(select(User).where(User.email.matches("newbie@example.com"))).scalar_one()
    assert user.account.reseller_id == resellers.r1.id  # the viewer, whatever the form said
    mail = db.session.execute(select(OutboxMessage)).scalars().all()[-1]
    assert mail.to_addr == "newbie@example.com" and "Reseller One Ltd" in mail.body
    token = re.search(r"/invite/(\S+)", mail.body).group(1)
    post_form(as_r1, "/logout", token_from="/reseller/")
    url = f"/invite/{token}"
    short = post_form(client, url, {"new": "short", "confirm": "short"})
    assert short.status_code == 400 and "Use between" in short.get_data(as_text=True)
    assert post_form(client, url, {"new": "a long new password", "confirm": "a long new password"}
                     ).status_code == 302
    assert client.get(url).status_code == 404  # works once
    assert client.get("/invite/forged-token").status_code == 404
    assert login(client, "newbie@example.com", "a long new password").status_code == 302


def test_p25_another_resellers_customer_cannot_be_added_and_is_not_revealed(as_r1, resellers):
    """The full case list is tests/core/reseller/test_p25_customers.py."""
    before = db.session.query(Account).count()
    response = post_form(as_r1, "/reseller/add-customer", {
        "email": resellers.c2.email, "first_name": "Kept", "last_name": "Typed",
        "phone": "+442079460078"})
    assert response.status_code == 302 and response.headers["Location"] == "/reseller/"
    assert "already has an account" not in as_r1.get("/reseller/").get_data(as_text=True)
    assert db.session.query(Account).count() == before
    assert resellers.account(resellers.c2).reseller_id == resellers.r2.id


def test_p25_injecting_reseller_id_does_not_move_a_customer(as_r1, resellers):
    url = f"/reseller/customers/{resellers.a1.id}"
    response = post_form(as_r1, url, {**CONTACT, "reseller_id": str(resellers.r2.id),
                                      "status": "closed", "account_id": str(resellers.a2.id)})
    assert response.status_code == 302
    account = resellers.account(resellers.c1)
    assert account.reseller_id == resellers.r1.id and account.status == "active"
    assert account.last_name == "Corrected" and account.city == "Leeds"
    assert resellers.account(resellers.c2).reseller_id == resellers.r2.id


def test_p25_bad_contact_input_keeps_the_form_and_saves_nothing(as_r1, resellers):
    url = f"/reseller/customers/{resellers.a1.id}"
    response = post_form(as_r1, url, {**CONTACT, "phone": "call me", "city": "x" * 500})
    assert response.status_code == 400
    assert "call me" in response.get_data(as_text=True)
    assert resellers.account(resellers.c1).last_name == "Oneclient"


def test_p25_a_closed_customer_cannot_be_written_back(as_r1, resellers):
    account = resellers.account(resellers.c1)
    account.status = "closed"
    db.session.commit()
    url = f"/reseller/customers/{resellers.a1.id}"
    response = post_form(as_r1, url, CONTACT)
    assert response.status_code == 400
    assert "closed" in response.get_data(as_text=True)
    assert resellers.account(resellers.c1).last_name == "Oneclient"


def test_p25_brand_changes_go_on_the_trail_by_name(as_r1, resellers):
    from panel.reseller.branding import save

    save(resellers.r1, name="Northwind", colour="#112233", support_email=None, privacy_url=None)
    entry = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "reseller.brand_update")).scalar_one()
    # the sign-in address (slug) follows the name
    assert set(entry.fields) == {"name", "colour", "slug"} and "Northwind" not in entry.object


def test_p25_reseller_corrects_a_domain_contact(as_r1, resellers):
    url = f"/reseller/domains/{resellers.d1.id}/contacts/admin"
    form = {"name": "Fixed Name", "organization": "", "email": "fixed@example.com",
            "phone": "+442079460000", "street": "1 High Street", "city": "London", "state": "",
            "postcode": "SW1A 1AA", "country": "GB"}
    assert post_form(as_r1, url, form).status_code == 302
    db.session.expire_all()
    assert db.session.get(Domain, resellers.d1.id).contact("admin").name == "Fixed Name"


def test_p25_suspended_customer_cannot_sign_in_until_reinstated(as_r1, resellers, make_app):
    url = f"/reseller/customers/{resellers.a1.id}/suspend"
    assert post_form(as_r1, url, {"suspend": "1", "confirm": "yes"},
                     token_from="/reseller/").status_code == 302
    assert resellers.account(resellers.c1).status == "suspended"
    other = make_app().test_client()
    assert login(other, resellers.c1).status_code == 403
    assert post_form(as_r1, url, {"suspend": "0"}, token_from="/reseller/").status_code == 302
    assert login(other, resellers.c1).status_code == 302


def test_p25_every_reseller_view_and_change_is_on_the_customers_staff_access_page(
        as_r1, resellers, make_app):
    as_r1.get(f"/reseller/customers/{resellers.a1.id}")
    post_form(as_r1, f"/reseller/customers/{resellers.a1.id}", CONTACT)
    as_r1.get(f"/reseller/domains/{resellers.d1.id}")
    actions = db.session.execute(select(AuditEntry.action, AuditEntry.actor_label).where(
        AuditEntry.account_id == resellers.a1.id, AuditEntry.actor_role == "reseller")).all()
    assert {("account.view", "Reseller One Ltd"), ("account.update", "Reseller One Ltd")} <= set(actions)
    customer = make_app().test_client()
    assert login(customer, resellers.c1).status_code == 302
    page = customer.get("/client/privacy/access").get_data(as_text=True)
    assert "Your provider" in page
    assert "Reseller One Ltd (your provider) changed your details (last name" in page


def test_p25_another_resellers_customer_is_404_everywhere(as_r1, resellers):
    a2, d2 = resellers.a2.id, resellers.d2.id
    before = resellers.account(resellers.c2).last_name
    for url in (f"/reseller/customers/{a2}", f"/reseller/domains/{d2}",
                f"/reseller/domains/{d2}/contacts/admin"):
        response = as_r1.get(url)
        assert response.status_code == 404 and "Dieter" not in response.get_data(as_text=True)
    for url, data in ((f"/reseller/customers/{a2}", CONTACT),
                      (f"/reseller/customers/{a2}/suspend", {"suspend": "1"}),
                      (f"/reseller/customers/{a2}/invite", {}),
                      (f"/reseller/privacy/customers/{a2}/removal", {"note": "x"})):
        assert post_form(as_r1, url, data, token_from="/reseller/").status_code == 404
    assert resellers.account(resellers.c2).last_name == before
    assert resellers.account(resellers.c2).status == "active"


def test_p25_customer_detail_shows_reseller_marketing_consent(as_r1, resellers):
    from plugins.privacy.email.services import preferences as email_prefs

    key = email_prefs.reseller_category(resellers.r1.id)
    email_prefs.record(resellers.a1, key, True, "preference-centre", actor=resellers.c1)
    db.session.commit()
    page = as_r1.get(f"/reseller/customers/{resellers.a1.id}").get_data(as_text=True)
    assert "the customer accepts it" in page
    email_prefs.record(resellers.a1, key, False, "preference-centre", actor=resellers.c1)
    db.session.commit()
    page = as_r1.get(f"/reseller/customers/{resellers.a1.id}").get_data(as_text=True)
    assert "the customer does not accept it" in page
