"""Changes made on the Security page (issue 14) are on the trail and in the subscriber's own
activity log (P21), and staff acting as the customer cannot reach the page (P17)."""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import select

from panel.extensions import db
from plugins.privacy.access.models import AccessSession, AuditEntry
from plugins.privacy.retention.models import ActivityEvent
from tests.conftest import login, post_form
from tests.factories import DEFAULT_PASSWORD


def _enrol(client) -> None:
    page = client.get("/account/2fa").get_data(as_text=True)
    secret = re.search(r"Key: <code>([A-Z2-7]+)</code>", page).group(1)
    assert post_form(client, "/account/2fa", {"code": pyotp.TOTP(secret).now()}).status_code == 200


def test_p21_recovery_codes_and_turning_two_step_off_are_on_the_trail_and_the_activity_log(
        client, login_as):
    user = login_as("subscriber")
    _enrol(client)
    post_form(client, "/account/security/recovery-codes", {"password": DEFAULT_PASSWORD},
              token_from="/account/security")
    stored = db.session.get(type(user), user.id)
    stored.totp_last_step = None  # a new 30-second window
    db.session.commit()
    done = post_form(client, "/account/security/two-step/off",
                     {"password": DEFAULT_PASSWORD, "code": pyotp.TOTP(stored.totp_secret).now()})
    assert done.status_code == 302
    actions = list(db.session.execute(select(AuditEntry.action).where(
        AuditEntry.actor_id == user.id).order_by(AuditEntry.seq)).scalars())
    assert actions[-3:] == ["mfa.enrol", "mfa.recovery_codes", "mfa.disable"]
    kinds = set(db.session.execute(select(ActivityEvent.kind).where(
        ActivityEvent.user_id == user.id)).scalars())
    assert {"mfa.enrol", "mfa.recovery_codes", "mfa.disable"} <= kinds
    page = client.get("/client/privacy/activity").get_data(as_text=True)
    assert "Two-step sign-in turned off" in page and "New recovery codes made" in page


def test_p17_staff_acting_as_the_customer_cannot_open_or_change_the_security_page(client, factories):
    customer = factories.subscriber()
    login(client, factories.staff())
    post_form(client, f"/admin/access/new/{customer.account_id}",
              {"reason": "support", "ticket": "T-5", "note": "Customer asked us to fix DNS",
               "minutes": "30"})
    s = AccessSession.query.one()
    post_form(client, f"/admin/access/{s.id}/act-as", token_from="/admin/access/")
    assert client.get("/client/").status_code == 200  # acting
    for url in ("/account/security", "/account/security/two-step/off"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].endswith("/client/")
    token_page = client.get("/client/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', token_page).group(1)
    response = client.post("/account/security/recovery-codes",
                           data={"csrf_token": token, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/client/")
    assert db.session.get(type(customer), customer.id).recovery_hashes is None  # nothing made
