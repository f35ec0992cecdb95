"""A suspended reseller's customers keep their accounts, data and requests; only the
reseller's own marketing stops (P27), checked when the mail is delivered."""

from __future__ import annotations

from sqlalchemy import select

from panel.extensions import db
from panel.mail.models import OutboxMessage
from panel.mail.outbox import deliver_due, queue
from plugins.privacy.center.services import requests as requests_service
from plugins.privacy.email.services import preferences as email_prefs
from plugins.privacy.reseller.services import requests as resell
from tests.conftest import login, post_form
from tests.factories import DEFAULT_PASSWORD


def _marketing(resellers) -> OutboxMessage:
    message = queue(to=resellers.c1.email, subject="Spring offer", body="Offer",
                    category=email_prefs.reseller_category(resellers.r1.id),
                    account_id=resellers.a1.id)
    db.session.commit()
    return message


def test_p27_suspended_resellers_customers_sign_in_keep_data_and_requests_marketing_stops(
        client, resellers, factories, make_app):
    key = email_prefs.reseller_category(resellers.r1.id)
    email_prefs.record(resellers.a1, key, True, "preference-centre", actor=resellers.c1)
    db.session.commit()
    sent = _marketing(resellers)
    deliver_due()
    db.session.expire_all()
    assert db.session.get(OutboxMessage, sent.id).status == "sent"
    assert resell.marketing_allowed(resellers.a1)

    resellers.r1.active = False  # the host suspends the reseller
    db.session.commit()
    assert not resell.reseller_active(resellers.r1.id)
    assert resell.reseller_active(resellers.r2.id)
    assert login(make_app().test_client(), resellers.r1).status_code == 403

    assert login(client, resellers.c1).status_code == 302
    assert client.get("/client/profile").status_code == 200
    assert client.get("/client/privacy/data").status_code == 200
    filed = post_form(client, "/client/privacy/requests/",
                      {"kind": "restriction", "password": DEFAULT_PASSWORD})
    assert filed.status_code == 302
    assert "Restrict processing" in client.get("/client/privacy/requests/").get_data(as_text=True)

    stopped = _marketing(resellers)
    transactional = queue(to=resellers.c1.email, subject="Invoice", body="Your invoice",
                          account_id=resellers.a1.id)
    db.session.commit()
    deliver_due()
    db.session.expire_all()
    held = db.session.get(OutboxMessage, stopped.id)
    assert held.status == "suppressed" and "suspended" in held.suppressed_reason
    assert db.session.get(OutboxMessage, transactional.id).status == "sent"
    assert not resell.marketing_allowed(resellers.a1)

    # while the reseller cannot answer, the house queue takes its customers' requests
    staff = make_app().test_client()
    assert login(staff, factories.staff()).status_code == 302
    assert "Restrict processing" in staff.get("/admin/privacy/requests/").get_data(as_text=True)


def test_p27_active_resellers_customers_requests_stay_out_of_the_house_queue(resellers):
    requests_service.file(resellers.a2, resellers.c2, kind="restriction",
                          verified_by="panel-password")
    assert requests_service.house_queue() == []
    assert db.session.execute(select(OutboxMessage)).scalars().first() is not None
