"""Staff acting as the customer, only inside a live session, with both people on the trail."""

from __future__ import annotations

from datetime import timedelta

from panel.db_types import utcnow
from panel.extensions import db
from plugins.privacy.access.models import AccessSession, AuditEntry
from tests.conftest import login, post_form

SESSION = {"reason": "support", "ticket": "T-5", "note": "Customer asked us to fix DNS", "minutes": "30"}


def _acting(client, factories):
    customer = factories.subscriber(first_name="Mirela")
    staff = factories.staff(name="Sam Support")
    login(client, staff)
    post_form(client, f"/admin/access/new/{customer.account_id}", SESSION)
    s = AccessSession.query.one()
    response = post_form(client, f"/admin/access/{s.id}/act-as", token_from="/admin/access/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/client/")
    return customer, staff, s


def test_p16_acting_as_the_customer_tags_both_people(client, factories):
    customer, staff, s = _acting(client, factories)
    page = client.get("/client/").get_data(as_text=True)
    assert "Welcome, Mirela" in page and "you are acting as this customer" in page
    post_form(client, "/client/profile", {"first_name": "Mirela", "last_name": "Fixed",
                                          "phone": customer.account.phone})
    change = AuditEntry.query.filter_by(action="account.update").one()
    assert (change.actor_id, change.on_behalf_of, change.session_id) == (staff.id, customer.id, s.id)
    views = AuditEntry.query.filter_by(action="client.view").all()
    assert views and all(v.actor_id == staff.id and v.on_behalf_of == customer.id for v in views)


def test_p16_acting_staff_cannot_change_the_customers_password(client, factories):
    _acting(client, factories)
    assert client.get("/account/password").status_code == 302


def test_p16_acting_ends_with_the_session(client, factories):
    customer, staff, s = _acting(client, factories)
    s.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.get("/client/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/access/")
    assert client.get("/admin/access/").status_code == 200  # back to being themselves


def test_p16_staff_stop_acting_and_are_themselves_again(client, factories):
    _acting(client, factories)
    response = post_form(client, "/access/act-as/stop", token_from="/client/")
    assert response.status_code == 302
    assert client.get("/admin/access/").status_code == 200
    assert client.get("/client/").status_code == 404


def test_p16_no_acting_without_a_live_session(client, factories):
    customer = factories.subscriber()
    login(client, factories.staff())
    post_form(client, f"/admin/access/new/{customer.account_id}", SESSION)
    s = AccessSession.query.one()
    s.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    post_form(client, f"/admin/access/{s.id}/act-as", token_from="/admin/access/")
    assert client.get("/client/").status_code == 404


def test_p17_staff_acting_as_the_customer_cannot_change_the_customers_own_controls(client, factories):
    customer, staff, s = _acting(client, factories)
    response = post_form(client, "/client/privacy/access", {"require_approval": "y"},
                         token_from="/client/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/client/")
    from plugins.privacy.access.models import AccountPrivacy

    assert db.session.get(AccountPrivacy, customer.account_id) is None  # nothing changed
    assert client.get("/account/2fa").status_code == 302  # nor enrol a second factor for them
    assert client.get("/client/privacy/requests/").status_code == 200  # reading is fine


def test_p16_a_customers_name_is_never_written_on_the_trail(client, factories):
    customer = factories.subscriber(first_name="Ottoline", last_name="Quist")
    from tests.conftest import login

    login(client, customer)
    post_form(client, "/client/profile", {"first_name": "Ottoline", "last_name": "Quist-Ray",
                                          "phone": customer.account.phone})
    entry = AuditEntry.query.filter_by(action="account.update").one()
    assert entry.actor_label == "customer" and entry.actor_id == customer.id
