"""Requests of a reseller's customers go to the reseller, their controller (P25)."""

from __future__ import annotations

from sqlalchemy import select

from panel.extensions import db
from panel.mail.models import OutboxMessage
from plugins.privacy.center.models import READY, DataExport, DataRequest
from plugins.privacy.center.services import requests as requests_service
from plugins.privacy.center.services.requests import add_month
from plugins.privacy.reseller.models import RemovalRequest
from tests.conftest import login, post_form
from tests.factories import DEFAULT_PASSWORD


def _file(client, kind: str, **extra):
    return post_form(client, "/client/privacy/requests/",
                     {"kind": kind, "password": DEFAULT_PASSWORD, **extra})


def test_p25_customer_request_goes_to_the_resellers_queue_not_the_house_or_other_reseller(
        client, resellers, make_app, factories):
    assert login(client, resellers.c1).status_code == 302
    page = client.get("/client/privacy/requests/").get_data(as_text=True)
    assert "Reseller One Ltd" in page and "controller" in page  # who answers, named
    assert _file(client, "export").status_code == 302
    r = db.session.execute(select(DataRequest)).scalar_one()
    assert r.due_on == add_month(r.received_at.date())  # the same due date as the house's

    r1 = make_app().test_client()
    assert login(r1, resellers.r1).status_code == 302
    queue = r1.get("/reseller/privacy/requests/").get_data(as_text=True)
    assert "A copy of my data" in queue and str(r.due_on) in queue and "Carla" in queue

    r2 = make_app().test_client()
    assert login(r2, resellers.r2).status_code == 302
    assert "A copy of my data" not in r2.get("/reseller/privacy/requests/").get_data(as_text=True)
    assert r2.get(f"/reseller/privacy/requests/{r.id}").status_code == 404
    assert post_form(r2, f"/reseller/privacy/requests/{r.id}/fulfil", {"format": "json"},
                     token_from="/reseller/").status_code == 404

    staff = make_app().test_client()
    assert login(staff, factories.staff()).status_code == 302
    assert "A copy of my data" not in staff.get("/admin/privacy/requests/").get_data(as_text=True)
    assert staff.get(f"/admin/privacy/requests/{r.id}").status_code == 404


def test_p25_reseller_answers_an_export_request_with_a_copy_the_customer_downloads(
        client, resellers, make_app):
    r = requests_service.file(resellers.a1, resellers.c1, kind="export",
                              verified_by="panel-password")
    assert login(client, resellers.r1).status_code == 302
    detail = client.get(f"/reseller/privacy/requests/{r.id}").get_data(as_text=True)
    assert "Make the copy and fulfil" in detail
    response = post_form(client, f"/reseller/privacy/requests/{r.id}/fulfil", {"format": "json"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(DataRequest, r.id).status == "fulfilled"
    export = db.session.execute(select(DataExport)).scalar_one()
    assert (export.account_id, export.format, export.status) == (resellers.a1.id, "json", READY)
    mail = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.created_at.desc())
                              ).scalars().first()
    assert "copy of your data is ready" in mail.subject
    assert mail.headers.get("X-Panel-From-Name") == "Reseller One Ltd"  # sent as the controller
    customer = make_app().test_client()
    assert login(customer, resellers.c1).status_code == 302
    assert "JSON" in customer.get("/client/privacy/data").get_data(as_text=True)


def test_p25_reseller_cannot_erase_alone_and_asks_the_host_instead(client, resellers):
    """Four eyes on every erasure: the reseller's answer is a removal request to the host,
    where a second staff member approves it (test_p26_removal)."""
    r = requests_service.file(resellers.a1, resellers.c1, kind="erasure", verified_by="panel-password")
    assert login(client, resellers.r1).status_code == 302
    url = f"/reseller/privacy/requests/{r.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Anonymise" not in page and "Ask the host to remove the data" in page
    refused = post_form(client, f"{url}/fulfil", {}, token_from=url)
    assert "second person" in client.get(refused.headers["Location"]).get_data(as_text=True)
    account = resellers.account(resellers.c1)
    assert account.status != "closed" and account.last_name == "Oneclient"
    assert db.session.get(DataRequest, r.id).status == "verified"
    post_form(client, f"{url}/removal", {"note": ""}, token_from=url)
    removal = db.session.execute(select(RemovalRequest)).scalar_one()
    assert removal.data_request_id == r.id and removal.status == "open"


def test_p25_reseller_verifies_then_refuses_with_a_reason(client, resellers):
    r = requests_service.file(resellers.a1, None, kind="objection", purpose="marketing",
                              channel="email")
    assert login(client, resellers.r1).status_code == 302
    url = f"/reseller/privacy/requests/{r.id}"
    post_form(client, f"{url}/fulfil", {}, token_from=url)
    db.session.expire_all()
    assert db.session.get(DataRequest, r.id).status == "received"  # not before verification
    post_form(client, f"{url}/verify", {"method": "callback"}, token_from=url)
    post_form(client, f"{url}/refuse", {"reason": ""}, token_from=url)
    db.session.expire_all()
    assert db.session.get(DataRequest, r.id).status == "verified"  # an empty reason refuses nothing
    post_form(client, f"{url}/refuse", {"reason": "We never send you marketing.",
                                       "confirm": "yes"}, token_from=url)
    db.session.expire_all()
    assert db.session.get(DataRequest, r.id).status == "refused"
