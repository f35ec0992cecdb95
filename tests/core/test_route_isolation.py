"""Every route that takes an id answers 404 to anyone outside that id's scope (P25).

The test walks ``app.url_map``. Each URL argument must be classified below: an object kind
(built for a victim: a reseller's customer with a domain, invoice, request, staff session,
credential, export, identity document and removal request), a signed token, or a public
value. A route with an argument nobody classified fails the test, so a new route cannot
ship without being checked. Each id route is then requested with the victim's ids, with
every method it accepts (POSTs carry a valid CSRF token, so the scope check is what
answers), by another reseller, by a subscriber and by staff without an access session.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from panel.accounts.models import Account
from panel.db_types import utcnow
from panel.extensions import db
from panel.sessions.models import UserSession
from tests.conftest import csrf_token, login

pytestmark = pytest.mark.needs_privacy

# URL argument -> (what it names, how the victim's value is found). The scope of an object
# is its account's: a subscriber sees its own, a reseller its customers', staff any account
# but only inside an access session.
ID_ARGUMENTS: dict[str, str] = {
    "account_id": "account",
    "domain_id": "domain",
    "invoice_id": "invoice",
    "service_id": "service",
    "request_id": "data request",
    "session_id": "staff access session",
    "credential_id": "support credential",
    "export_id": "data export",
    "doc_id": "identity document (under a request or complaint of the victim)",
    "removal_id": "removal request to the host",
    "device_id": "signed-in device (one of the victim's server-side sessions)",
    # Objects of features still being built whose factories do not exist here yet: the test
    # uses an unknown id; every such route also carries its parent (domain_id) or is staff-only.
    "case_id": "WHOIS complaint case (issue 7)",
    "message_id": "relayed WHOIS message (issue 7; under the victim's domain_id)",
    "campaign_id": "marketing campaign (issue 6; host-level, staff-only area)",
    "user_id": "a staff or admin account (the admin-only Team page resets its password)",
}
# Arguments that are not object ids: a fixed value is used.
FIXED_ARGUMENTS = {
    "role": ("admin", "a domain-contact role name, checked against a fixed list"),
    "key": ("1700000000.M1P1.host", "a message in the admin Maildir; admin role only"),
}
# Routes whose argument is a signed, expiring token (itsdangerous / HMAC): possessing the
# token is the authorisation; a wrong token answers 404 or a page saying it is invalid.
TOKEN_ROUTES = {
    "privacy_access_link.approve_link": "signed approval link emailed to the customer",
    "privacy_policy.confirm_email": "signed email-change confirmation link",
    "reseller_invite.accept": "signed invitation link that works once",
    "password_reset.reset": "signed password-reset link that works once, for an hour",
    "privacy_unsubscribe.one_click": "signed RFC 8058 one-click unsubscribe token",
    "privacy_unsubscribe.centre": "signed preference-centre token",
    "privacy_unsubscribe.centre_all": "signed preference-centre token",
    "privacy_access_link.cancel_help": "signed link emailed to the customer to cancel support's "
                                       "sign-in help; refused to anyone else signed in",
}
# Public on purpose: no customer data behind the argument.
PUBLIC_ROUTES = {
    "static": "the panel's CSS",
    "privacy_policy.version": "published privacy-policy versions",
    "privacy_rdap.domain": "public RDAP; redacts contacts under WHOIS privacy",
    "privacy_rdap.other": "public RDAP paths other than domain lookups (answered as not found)",
    "privacy_relay.contact": "public WHOIS contact form; the address behind it is never shown",
    "auth.login": "the sign-in page; /login/<slug> shows a reseller's brand (name, colour, logo), "
                  "which its customers see anyway",
}
# Staff reach these without a session by design: the page is the gate (it asks for an
# access session) or it is the host's own work queue, showing no personal data. Only GET is
# sent: their POSTs are real staff actions (open a session, erase a removal's account).
STAFF_GATES = {
    "admin.customer": "redirects to the access-session form",
    "privacy_staff.new": "the access-session form itself (client id and masked email only)",
    "privacy_request_queue.log_request": "logs a phone/email request: sent to the session form",
    "privacy_request_queue.mark_child": "starts a child's erasure: sent to the session form",
    "privacy_removals.detail": "host's removal queue; the reseller's note needs a session",
    "privacy_removals.ask": "host's removal queue action: sent to the session form",
    "privacy_removals.approve": "host's removal queue action: sent to the session form",
    "privacy_removals.reject": "host's removal queue action: sent to the session form",
    "privacy_removals.refuse_removal": "host's removal queue action: sent to the session form",
    "privacy_retention.account_closure": "account closure for staff (issue 8)",
    "privacy_email_staff.account_page": "records a preference a customer gave by phone (issue 6)",
    "privacy_whois_staff.domain_page": "WHOIS complaints desk (issue 7)",
    "privacy_whois_staff.new_complaint": "WHOIS complaints desk (issue 7)",
    "privacy_whois_staff.set_privacy": "WHOIS complaints desk (issue 7)",
    "privacy_complaints.detail": "WHOIS complaints desk (issue 7)",
    "privacy_complaints.add_documents": "WHOIS complaints desk (issue 7)",
    "privacy_complaints.document": "WHOIS complaints desk (issue 7)",
    "privacy_campaigns.detail": "host's own campaigns, no customer data",
    "privacy_staff.sign_in_help": "support's sign-in help (issue 14): sent to the session form",
}
# Actions the walk must not POST (none left: every removal action needs an access session,
# so staff without one are sent to the form and nothing is erased mid-walk).
QUEUE_ACTIONS: set[str] = set()
SKIP_METHODS = {"HEAD", "OPTIONS"}


def classify(app: Flask) -> tuple[list[Any], list[str]]:
    """Routes to check, and the ones nobody classified (each named with why)."""
    checked, unknown = [], []
    for rule in app.url_map.iter_rules():
        if not rule.arguments:
            continue
        if rule.endpoint in TOKEN_ROUTES or rule.endpoint in PUBLIC_ROUTES:
            continue
        strange = [a for a in rule.arguments if a not in ID_ARGUMENTS and a not in FIXED_ARGUMENTS]
        if strange:
            unknown.append(f"{rule.rule} ({rule.endpoint}): unclassified argument(s) {strange}")
            continue
        checked.append(rule)
    return checked, unknown


class Victim:
    """Reseller One's customer Carla, with one of everything; the secrets must never show."""

    def __init__(self, factories: Any) -> None:
        from plugins.privacy.access.models import ACTIVE, AccessSession, SupportCredential
        from plugins.privacy.center.models import READY, DataExport, IdentityDocument
        from plugins.privacy.center.services import requests as requests_service
        from plugins.privacy.reseller.services import requests as reseller_requests

        self.reseller = factories.reseller(name="Victim Reseller")
        user = factories.subscriber(first_name="Carlotta", last_name="Victimson",
                                    reseller=self.reseller)
        self.email = user.email
        account = db.session.get(Account, user.account_id)
        assert account is not None
        domain = factories.domain(account, "victim-private.test")
        invoice = factories.invoice(account)
        service = factories.service(account)
        request = requests_service.file(account, user, kind="rectification",
                                        details="Victim details", verified_by="panel-password")
        other_staff = factories.staff(name="Other Staff")
        now = utcnow()
        session = AccessSession(account_id=account.id, staff_id=other_staff.id,
                                reason_code="support", ticket="T-9", minutes=30, status=ACTIVE,
                                requested_at=now, started_at=now,
                                expires_at=now + timedelta(minutes=30))
        credential = SupportCredential(account_id=account.id, kind="ssh", label="Victim box",
                                       host="h", username="u", secret="victim-secret",
                                       expires_at=now + timedelta(days=1))
        export = DataExport(account_id=account.id, format="json", status=READY, created_at=now,
                            ready_at=now, expires_at=now + timedelta(days=1))
        document = IdentityDocument(request_id=request.id, filename="id.png",
                                    content_type="image/png", content="", size=1,
                                    delete_by=now + timedelta(days=1))
        device = UserSession(id=uuid.uuid4(), token_hash="0" * 64, user_id=user.id,
                             last_seen_at=now, browser="Firefox on Linux")
        db.session.add_all([session, credential, export, document, device])
        db.session.commit()
        removal = reseller_requests.file_removal(self.reseller, account.id, "Victim note")
        self.values = {"account_id": account.id, "domain_id": domain.id,
                       "invoice_id": invoice.id, "service_id": service.id,
                       "request_id": request.id,
                       "session_id": session.id, "credential_id": credential.id,
                       "export_id": export.id, "doc_id": document.id, "removal_id": removal.id,
                       "device_id": device.id,
                       "case_id": uuid.uuid4(), "message_id": uuid.uuid4(),
                       "campaign_id": uuid.uuid4(), "user_id": other_staff.id}
        self.secrets = ("Carlotta", "Victimson", "victim-private.test", self.email,
                        "Victim details", "Victim box", "victim-secret", "Victim note",
                        invoice.number)

    def url(self, app: Flask, rule: Any) -> str:
        values = {a: (self.values[a] if a in ID_ARGUMENTS else FIXED_ARGUMENTS[a][0])
                  for a in rule.arguments}
        with app.test_request_context():
            from flask import url_for

            return url_for(rule.endpoint, **values)


def viewers(factories: Any, make_app: Any) -> dict[str, tuple[FlaskClient, str]]:
    """role -> (signed-in client, a page of theirs with a CSRF token)."""
    other_reseller = factories.reseller(name="Other Reseller")
    factories.subscriber(reseller=other_reseller)
    people = {"reseller": (other_reseller, "/reseller/"),
              "subscriber": (factories.subscriber(first_name="Nosy"), "/client/profile"),
              "staff": (factories.staff(), "/account/password")}
    out = {}
    for role, (user, page) in people.items():
        client = make_app().test_client()
        assert login(client, user).status_code == 302, role
        out[role] = (client, page)
    return out


def test_p25_every_route_with_an_argument_is_classified(app):
    _, unknown = classify(app)
    assert not unknown, "classify these routes in tests/core/test_route_isolation.py:\n" + \
        "\n".join(unknown)


def test_p25_unclassified_route_makes_the_test_fail(app):
    """The guard itself: a new route with an unknown argument is reported."""
    from flask import Blueprint

    probe = Blueprint("isolation_probe", __name__)
    probe.add_url_rule("/probe/<gadget_id>", "gadget", lambda gadget_id: gadget_id)
    app.register_blueprint(probe)
    _, unknown = classify(app)
    assert any("gadget_id" in u for u in unknown)


def test_p25_every_id_route_answers_404_outside_the_viewers_scope(app, factories, make_app):
    routes, unknown = classify(app)
    assert not unknown
    victim = Victim(factories)
    clients = viewers(factories, make_app)
    checked = 0
    failures = []
    for role, (client, page) in clients.items():
        token = csrf_token(client, page)
        for rule in routes:
            url = victim.url(app, rule)
            gate = role == "staff" and rule.endpoint in STAFF_GATES
            for method in sorted(rule.methods - SKIP_METHODS):
                if gate and method != "GET" and rule.endpoint in QUEUE_ACTIONS:
                    continue
                data = {"csrf_token": token} if method != "GET" else None
                response = client.open(url, method=method, data=data)
                body = response.get_data(as_text=True)
                checked += 1
                shown = [s for s in victim.secrets if s in body]
                if shown:
                    failures.append(f"{role} {method} {url}: shows {shown}")
                if gate and method == "GET":
                    if response.status_code not in (200, 302, 404):
                        failures.append(f"{role} {method} {url}: {response.status_code}")
                    continue
                if gate:  # without a session: refused (an empty form: 400), or sent to the form
                    location = response.headers.get("Location", "")
                    if not (response.status_code in (400, 404) or (
                            response.status_code == 302 and "/admin/access/new/" in location)):
                        failures.append(f"{role} {method} {url} ({rule.endpoint}): "
                                        f"{response.status_code} {location}, expected 404 or "
                                        "the access-session form")
                    continue
                if response.status_code != 404:
                    failures.append(f"{role} {method} {url} ({rule.endpoint}): "
                                    f"{response.status_code}, expected 404")
    assert not failures, "\n".join(failures)
    assert checked > 100  # the walk really happened


def test_p25_anonymous_visitors_are_sent_to_sign_in_for_every_id_route(app, factories):
    routes, _ = classify(app)
    victim = Victim(factories)
    client = app.test_client()
    for rule in routes:
        url = victim.url(app, rule)
        response = client.get(url) if "GET" in rule.methods else client.post(url)
        assert response.status_code in (302, 400, 404), (url, response.status_code)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"], url
        assert not [s for s in victim.secrets if s in response.get_data(as_text=True)], url
