"""The My data page (P06) and the sign-in history on it (P21)."""

from __future__ import annotations

from sqlalchemy import text

from panel.extensions import db
from plugins.privacy.access.models import AccessSession, AuditEntry
from plugins.privacy.processing.services import categories
from plugins.privacy.retention.models import SigninEvent
from tests.conftest import login, post_form

#: Every category a subscriber is told about, in the order My data and each export show them;
#: each feature registers its own (plugins/privacy/*/services/records.py).
EVERY_CATEGORY = ("profile", "domains", "domain_contacts", "services", "invoices",
                  "payment_methods", "passkeys", "support_credentials", "email_preferences",
                  "consent_history", "partner_disclosures", "sign_ins", "account_activity",
                  "whois_relay_settings", "whois_relay_messages", "whois_complaints",
                  "whois_disclosures", "staff_access", "privacy_trail")

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
CRED = {"kind": "ssh", "label": "Support SSH", "host": "vps1.example.net", "username": "support",
        "secret": "hunter2-correct-horse", "days": "14"}


def _signed_in(app, user, ip="203.0.113.7"):
    me = app.test_client()
    me.environ_base.update(REMOTE_ADDR=ip, HTTP_USER_AGENT=BROWSER)
    assert login(me, user).status_code == 302
    return me


def test_p06_sign_ins_are_recorded_sealed_and_shown_to_the_subscriber(app, factories):
    user = factories.subscriber()
    _signed_in(app, user, "203.0.113.7")
    me = _signed_in(app, user, "198.51.100.23")
    event = SigninEvent.query.filter_by(user_id=user.id).order_by(SigninEvent.at.desc()).first()
    assert (event.account_id, event.method, event.user_agent) == (user.account_id, "password", BROWSER)
    raw = repr(db.session.execute(text("select * from privacy_signin_event")).all())
    assert "198.51.100.23" not in raw and "203.0.113.7" not in raw  # the IP is sealed
    page = me.get("/client/privacy/data").get_data(as_text=True)
    assert "198.51.100.23" in page and "203.0.113.7" in page and "Firefox/128.0" in page
    assert "2 sign-ins" in page


def test_p06_staff_sign_ins_are_kept_but_belong_to_no_account(app, factories):
    staff = factories.staff()
    _signed_in(app, staff)
    event = SigninEvent.query.filter_by(user_id=staff.id).one()
    assert event.account_id is None and event.method == "password+totp"


def test_p06_my_data_shows_every_category_with_why_where_shared_and_how_long(app, factories):
    user = factories.subscriber(first_name="Grace", last_name="Hopper", company="Navy Labs")
    account = user.account
    domain = factories.domain(account, "hopper-example.test")
    factories.service(account)
    invoice = factories.invoice(account)
    factories.payment_method(account)
    me = _signed_in(app, user)
    assert post_form(me, "/client/privacy/credentials", CRED).status_code == 302
    response = me.get("/client/privacy/data")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert [c.key for c in categories()] == list(EVERY_CATEGORY)
    for category in categories():
        assert category.title in page
        assert category.kept_for in page.replace("&#39;", "'")
    for said in ("Why", "Where it came from", "Shared with", "Kept for"):
        assert page.count(said) >= len(EVERY_CATEGORY)
    for shared in ("registrar", "mail provider", "payment gateway"):
        assert shared in page
    assert "Grace" in page and "Hopper" in page and "Navy Labs" in page and user.email in page
    assert "hopper-example.test" in page
    for role in ("registrant", "admin", "tech", "billing"):
        assert domain.contact(role).name in page
    assert invoice.number in page and "Shared hosting" in page
    assert "visa •••• 4242" in page and "tok_test" not in page
    assert "Support SSH" in page and "hunter2" not in page and "vps1.example.net" not in page
    assert "Newsletter: no" in page and "0 recorded changes" in page  # opt-in: nothing yet
    assert "Never shared." in page
    assert 'href="/client/privacy/access"' in page


def test_p06_my_data_is_in_the_client_menu(app, factories):
    me = _signed_in(app, factories.subscriber())
    assert 'href="/client/privacy/data"' in me.get("/client/").get_data(as_text=True)


def test_p06_my_data_shows_only_your_own_data(app, factories):
    other = factories.subscriber(first_name="Otto")
    factories.domain(other.account, "otto-example.test")
    factories.invoice(other.account)
    user = factories.subscriber(first_name="Ines")
    page = _signed_in(app, user).get("/client/privacy/data").get_data(as_text=True)
    assert "Ines" in page
    assert "Otto" not in page and "otto-example.test" not in page and "INV-T" not in page


def test_p06_my_data_is_for_subscribers_only(app, client, login_as):
    assert client.get("/client/privacy/data").status_code == 302  # to the sign-in page
    login_as("staff")
    assert client.get("/client/privacy/data").status_code == 404


def test_p06_staff_acting_as_the_customer_are_recorded_and_cannot_export(app, client, factories):
    customer = factories.subscriber()
    staff = factories.staff()
    login(client, staff)
    post_form(client, f"/admin/access/new/{customer.account_id}",
              {"reason": "support", "ticket": "T-9", "note": "Check the data", "minutes": "30"})
    s = AccessSession.query.one()
    post_form(client, f"/admin/access/{s.id}/act-as", token_from="/admin/access/")
    assert client.get("/client/privacy/data").status_code == 200
    view = AuditEntry.query.filter_by(action="client.view", object="/client/privacy/data").one()
    assert (view.actor_id, view.on_behalf_of) == (staff.id, customer.id)
    response = post_form(client, "/client/privacy/data/export", {"format": "json"},
                         token_from="/client/privacy/data")
    assert response.status_code == 302
    assert "Staff acting as the customer cannot change" in client.get(response.headers["Location"]).get_data(
        as_text=True)
    assert AuditEntry.query.filter_by(action="export.request").count() == 0
