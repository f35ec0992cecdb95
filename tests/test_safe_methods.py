"""GET, HEAD and OPTIONS change nothing, on every route, for every role (RFC 9110 §9.2.1).

Link scanners and mail prefetchers fetch (GET) and probe (HEAD) every link they see, and
browsers send OPTIONS; none of them may unsubscribe anyone, approve anything or send mail.
The test walks ``app.url_map`` with one data set in which every route argument names a real
object or a real signed token, so each view really runs (the token routes must answer 200),
as an anonymous visitor and as each role, and compares a snapshot of every table (``SELECT *``,
``mail_outbox`` included: no mail may be queued) before and after each request. A route
argument nobody classified fails the test, so a new page cannot skip the walk. A HEAD must
also answer what the GET did (RFC 9110 §9.3.2): no view may treat it as a write, or refuse it.

The one write a safe request may make is the trail entry that says staff or a reseller
looked at a customer's data (``*.view``, P16, P25): recording who saw what is a promise, not a
change of state. Revoked links are in the walk too (P14: a GET of one must change nothing).
"""

from __future__ import annotations

import mailbox
import uuid
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import inspect, text

from panel.accounts.models import Account
from panel.auth.passwords import not_chosen
from panel.db_types import utcnow
from panel.extensions import db
from panel.sessions.models import UserSession
from tests.conftest import csrf_token, login

pytestmark = pytest.mark.needs_privacy

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
AUDIT_ENTRIES, AUDIT_HEAD = "privacy_audit_entry", "privacy_audit_head"
READ_ACTIONS = {"mail.read",  # an admin opening a message in the local Maildir
                "audit.export"}  # an admin exporting the trail as CSV
# The one "last seen" bookkeeping a page view updates: when a signed-in session was last used
# (at most once a minute; "Signed-in devices" shows it, and an idle session ends by it).
IGNORED_COLUMNS: dict[str, set[str]] = {"user_session": {"last_seen_at"}}
# The rate limiter's counters (when no Redis is configured): a GET of a rate-limited page
# counts, as it would in Redis; that is no change to anyone's data.
IGNORED_TABLES = {"rate_limit_counter"}

# URL argument -> the attribute of World holding its values (several values: one URL each).
ARGUMENTS = {
    "account_id": "account_ids", "domain_id": "domain_ids", "invoice_id": "invoice_ids",
    "service_id": "service_ids",
    "request_id": "request_ids", "session_id": "session_ids",
    "credential_id": "credential_ids", "export_id": "export_ids", "doc_id": "doc_ids",
    "removal_id": "removal_ids", "case_id": "case_ids", "message_id": "message_ids",
    "campaign_id": "campaign_ids", "role": "roles", "key": "maildir_keys", "name": "names",
    "number": "policy_numbers", "rest": "rdap_paths", "filename": "static_files",
    "user_id": "user_ids",
    "device_id": "device_ids", "slug": "brand_slugs",
}
# Routes whose argument is a signed token: endpoint -> the World attribute with its tokens.
TOKEN_ROUTES = {
    "privacy_unsubscribe.one_click": "mail_tokens",
    "privacy_unsubscribe.centre": "mail_tokens",
    "privacy_unsubscribe.centre_all": "mail_tokens",
    "privacy_access_link.approve_link": "approval_tokens",
    "privacy_policy.confirm_email": "email_change_tokens",
    "reseller_invite.accept": "invitation_tokens",
    "password_reset.reset": "reset_tokens",
    "privacy_access_link.cancel_help": "help_tokens",
}


class World:
    """One of everything, owned so that each role reaches its own: reseller R's customer C has
    a domain (WHOIS privacy on, a relayed message, a complaint case with a document), an
    invoice, a data request with an identity document, a ready export, a support credential,
    an email change waiting for confirmation; staff S holds a live access session on C and
    another one waits for C's approval; R has an invited customer and a campaign; a house
    customer has a request (with a document) in the staff queue, under S's access too."""

    def __init__(self, app: Flask, factories: Any) -> None:
        from panel.reseller import customers
        from plugins.privacy.access.models import ACTIVE, PENDING, AccessSession, SupportCredential
        from plugins.privacy.access.services import sessions as access
        from plugins.privacy.center.models import IdentityDocument
        from plugins.privacy.center.services import email_change, export, policy
        from plugins.privacy.center.services import requests as requests_service
        from plugins.privacy.email.services import campaigns, preferences
        from plugins.privacy.email.services import unsubscribe as links
        from plugins.privacy.reseller.services import requests as reseller_requests
        from plugins.privacy.whois.services import disclosure, relay
        from tests.factories import DEFAULT_PASSWORD

        self.admin = factories.staff("admin")
        self.staff = factories.staff()
        self.other_staff = factories.staff()
        policy.publish(self.admin, body="# Policy\n\nWe keep your data safe.", summary="First.",
                       material=False, effective_on=utcnow().date())
        self.reseller = factories.reseller(name="Safe Reseller")
        self.customer = factories.subscriber(reseller=self.reseller)
        invited = factories.subscriber(reseller=self.reseller)
        invited.password_hash = not_chosen()  # invited, no password yet: the link is live
        account = db.session.get(Account, self.customer.account_id)
        assert account is not None
        self.account = account
        domain = factories.domain(account, "safe-methods.test")
        invoice = factories.invoice(account)
        service = factories.service(account)
        factories.service(account)
        request = requests_service.file(account, self.customer, kind="rectification",
                                        details="Please fix my name", verified_by="panel-password")
        house = factories.subscriber()  # the house's own queue holds only its customers'
        house_request = requests_service.file(house.account, house, kind="erasure",
                                              verified_by="panel-password")
        now = utcnow()
        live, house_live = (
            AccessSession(account_id=a.id, staff_id=self.staff.id, reason_code="support",
                          ticket="T-1", minutes=60, status=ACTIVE, requested_at=now,
                          started_at=now, expires_at=now + timedelta(hours=1))
            for a in (account, house.account))
        pending = AccessSession(account_id=account.id, staff_id=self.other_staff.id,
                                reason_code="support", ticket="T-2", minutes=30, status=PENDING,
                                requested_at=now)
        credential = SupportCredential(account_id=account.id, kind="ssh", label="Box", host="h",
                                       username="u", secret="s", expires_at=now + timedelta(days=1))
        documents = [IdentityDocument(request_id=r.id, filename="id.png", content_type="image/png",
                                      content="", size=1, delete_by=now + timedelta(days=1))
                     for r in (house_request, request)]
        db.session.add_all([live, house_live, pending, credential, *documents])
        db.session.commit()
        ready = export.request_export(account, self.customer, "json")
        png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
        case = disclosure.open_case(domain, self.staff, complainant_name="Claire",
                                    complainant_email="claire@example.org",
                                    legal_basis=next(iter(disclosure.LEGAL_BASES)),
                                    details="A trademark claim.",
                                    uploads=[disclosure.Upload("claim.png", "image/png", png)])
        message = relay.send(domain, "Sam", "sam@example.org", "Is this domain for sale?")
        removal = reseller_requests.file_removal(self.reseller, account.id, "Please remove")
        ours = campaigns.create(self.admin, category="newsletter", subject="News", body="Hi")
        own = campaigns.create(self.reseller,
                               category=preferences.reseller_category(self.reseller.id),
                               subject="Ours", body="Hello")
        change = email_change.request_change(self.customer, "new-address@example.com",
                                             DEFAULT_PASSWORD)
        preferences.change(account, {c.key: True for c in preferences.categories_for(account)},
                           "import")  # so that a one-click link has something to switch off
        old_links = [links.make(account.id, "newsletter"), links.make(account.id)]
        links.revoke_all(account)
        db.session.commit()
        box = mailbox.Maildir(app.config["INSTANCE_PATH"] + "/mail", create=True)
        note = EmailMessage()
        note["Subject"], note["To"] = "Hello", self.customer.email
        note.set_content("A message in the local Maildir.")
        key = box.add(note)

        self.account_ids = [account.id]
        self.domain_ids = [domain.id]
        self.invoice_ids = [invoice.id]
        self.service_ids = [service.id]
        self.request_ids = [house_request.id, request.id]
        self.session_ids = [live.id, pending.id]
        self.credential_ids = [credential.id]
        self.export_ids = [ready.id]
        case_docs = disclosure.documents(case)
        self.doc_ids = [*(d.id for d in documents), case_docs[0].id]
        self.removal_ids = [removal.id]
        device = UserSession(id=uuid.uuid4(), token_hash="0" * 64, user_id=self.customer.id,
                             last_seen_at=utcnow(), browser="Firefox on Linux")
        db.session.add(device)
        db.session.commit()
        self.device_ids = [device.id]
        self.case_ids = [case.id]
        self.message_ids = [message.id]
        self.campaign_ids = [ours.id, own.id]
        self.roles = ["admin"]
        self.maildir_keys = [key]
        self.names = [domain.name]
        self.policy_numbers = [policy.current().number]  # type: ignore[union-attr]
        self.rdap_paths = ["nameserver/ns1.panel.test"]  # answered: not implemented (501)
        self.static_files = ["panel.css"]
        from panel.reseller.models import ResellerBrand

        db.session.add(ResellerBrand(reseller_id=self.reseller.id, name="Safe", slug="safe"))
        db.session.commit()
        self.brand_slugs = ["safe"]  # the branded sign-in page, /login/<slug>
        # Live links first (one-click, preference centre), then the ones revoked above.
        self.mail_tokens = [links.make(account.id, "newsletter"), links.make(account.id),
                            *old_links]
        self.approval_tokens = [access.approval_token(pending)]
        self.email_change_tokens = [email_change.token_for(change)]
        self.invitation_tokens = [customers.invitation_token(invited)]
        self.user_ids = [self.other_staff.id]
        from panel.password_reset import services as reset

        self.reset_tokens = [reset.operator_link(self.customer, second_factor=False)
                             .rsplit("/", 1)[1]]
        from plugins.privacy.access.models import PASSWORD_LINK, StaffHelp
        from plugins.privacy.access.services import help as staff_help

        waiting = StaffHelp(id=uuid.uuid4(), account_id=account.id, session_id=live.id,
                            staff_id=self.staff.id, kind=PASSWORD_LINK, status=PENDING,
                            open_key=f"{account.id}:{PASSWORD_LINK}", requested_at=now,
                            due_at=now + staff_help.COOL_DOWN)
        db.session.add(waiting)
        db.session.commit()
        self.help_tokens = [staff_help.token(waiting)]  # its GET shows a button, cancels nothing

    def urls(self, app: Flask, rule: Any) -> list[str]:
        """One URL per value of the rule's arguments (the first values together, and so on)."""
        if rule.endpoint in TOKEN_ROUTES:
            values = {"token": getattr(self, TOKEN_ROUTES[rule.endpoint])}
        else:
            values = {a: getattr(self, ARGUMENTS[a]) for a in rule.arguments
                      if a not in (rule.defaults or {})}
        count = max((len(v) for v in values.values()), default=1)
        with app.test_request_context():
            return [url_for(rule.endpoint, **{a: v[min(i, len(v) - 1)] for a, v in values.items()})
                    for i in range(count)]


def unclassified(app: Flask) -> list[str]:
    return [f"{rule.rule} ({rule.endpoint}): {sorted(rule.arguments)}"
            for rule in app.url_map.iter_rules()
            if rule.endpoint not in TOKEN_ROUTES
            and any(a not in ARGUMENTS for a in rule.arguments)]


class Snapshot:
    """Every table's rows, read with one SELECT * per table on the request's own database."""

    def __init__(self) -> None:
        self.tables = sorted(set(inspect(db.engine).get_table_names()) - IGNORED_TABLES)
        self.action = [c["name"] for c in inspect(db.engine).get_columns(AUDIT_ENTRIES)
                       ].index("action")

    def take(self) -> dict[str, list[tuple[Any, ...]]]:
        out = {}
        with db.engine.connect() as conn:
            for table in self.tables:
                result = conn.execute(text(f'SELECT * FROM "{table}"'))
                keep = [i for i, c in enumerate(result.keys())
                        if c not in IGNORED_COLUMNS.get(table, set())]
                out[table] = sorted((tuple(row[i] for i in keep) for row in result), key=repr)
        return out


def changes(before: dict[str, list[Any]], after: dict[str, list[Any]], *, action: int,
            views_allowed: bool) -> list[str]:
    """Tables whose rows differ; new trail entries that record a staff view are allowed."""
    found = []
    for table, rows in after.items():
        if rows == before[table]:
            continue
        if table == AUDIT_HEAD and views_allowed:
            continue
        if table == AUDIT_ENTRIES and views_allowed:
            old = set(before[table])
            added = [r for r in rows if r not in old]
            if len(rows) == len(before[table]) + len(added) and all(_is_view(r[action]) for r in added):
                continue
        gone = [r for r in before[table] if r not in set(rows)]
        new = [r for r in rows if r not in set(before[table])]
        found.append(f"{table}: -{len(gone)} +{len(new)} {[_short(r) for r in new[:2]]}")
    return found


def _is_view(action: str) -> bool:
    """A trail entry that records someone looking at a customer's data or mail."""
    return action.endswith((".view", "_view")) or action in READ_ACTIONS


def _short(row: tuple[Any, ...]) -> str:
    return repr(tuple(v for v in row if isinstance(v, str) and len(v) < 60))[:200]


def visitors(app: Flask, world: World) -> Iterator[tuple[str, FlaskClient]]:
    """Each role's signed-in client (built before the walk: signing in writes)."""
    yield "anonymous", app.test_client()
    for role, user in (("subscriber", world.customer), ("reseller", world.reseller),
                       ("staff with a live access session", world.staff),
                       ("staff without one", world.other_staff), ("admin", world.admin)):
        client = app.test_client()
        assert login(client, user).status_code == 302, role
        yield role, client
    acting = app.test_client()
    assert login(acting, world.staff).status_code == 302
    token = csrf_token(acting, "/admin/access/")
    started = acting.post(f"/admin/access/{world.session_ids[0]}/act-as",
                          data={"csrf_token": token})
    assert started.status_code == 302 and "/client" in started.headers["Location"], started
    yield "staff acting as the customer", acting


def test_every_route_argument_is_classified(app):
    assert not unclassified(app), ("give these arguments a real value in "
                                   "tests/test_safe_methods.py:\n" + "\n".join(unclassified(app)))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the walk is about views
def test_p14_get_head_and_options_change_nothing_on_any_route_for_any_role(app, factories):
    # Revoked links are refused and counted per address; the walk sends them many times.
    app.config["UNSUBSCRIBE_BAD_LIMIT_PER_IP"] = "10000 per minute"
    world = World(app, factories)
    clients = list(visitors(app, world))
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
    snapshot = Snapshot()
    before = snapshot.take()
    failures: list[str] = []
    answers: dict[str, set[int]] = {}
    sent = 0
    for role, client in clients:
        watched = role != "anonymous" and role != "subscriber"  # reads go on the trail
        for rule in rules:
            for url in world.urls(app, rule):
                got = 0
                for method in SAFE_METHODS:
                    response = client.open(url, method=method)
                    sent += 1
                    if method == "GET":
                        got = response.status_code
                    elif method == "HEAD" and response.status_code != got:  # RFC 9110 §9.3.2
                        failures.append(f"{role} HEAD {url}: {response.status_code}, "
                                        f"GET: {got}")
                    if response.status_code >= 500 and response.status_code != 501:
                        failures.append(f"{role} {method} {url}: {response.status_code}")
                    if method == "GET" and method in rule.methods and rule.arguments:
                        answers.setdefault(rule.endpoint, set()).add(response.status_code)
                    after = snapshot.take()
                    changed = changes(before, after, action=snapshot.action,
                                      views_allowed=watched and method != "OPTIONS")
                    if changed:
                        failures.append(f"{role} {method} {url} ({rule.endpoint}) wrote: "
                                        + "; ".join(changed))
                    before = after
    assert not failures, f"{len(failures)} safe requests wrote or answered unlike GET:\n" + \
        "\n".join(failures)
    # The views really ran: every page that takes an id or a token answered someone with
    # more than "not found" (the token pages: 200).
    unreached = {e: a for e, a in answers.items() if a <= {302, 404}
                 or (e in TOKEN_ROUTES and 200 not in a)}
    assert not unreached, unreached
    assert sent > 2000
