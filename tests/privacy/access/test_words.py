"""Trail entries read as sentences (issue 15, P16/P17): every action the code can write has
words, an unknown one still reads as a sentence, and ids, digests and action codes are only
under "Details" on every page that shows the trail."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from panel.db_types import utcnow
from panel.hooks import hook
from plugins.privacy.access.models import AuditEntry
from plugins.privacy.access.services.words import PHRASES, describe
from plugins.privacy.whois.services.disclosure import OUTCOMES
from tests.conftest import post_form

ROOT = Path(__file__).resolve().parents[3]
DOTTED = re.compile(r'"([a-z_]+\.[a-z_]+)"')
BRANCHES = re.compile(r"""f"([a-z_.]+)\{'(\w+)' if [^}]+ else '(\w+)'\}""")
#: f-strings whose variable part is a closed set
VARIABLE = {"complaint.{outcome}": OUTCOMES}
#: dotted literals in trail-writing files that are not trail actions
NOT_ACTIONS = {
    "example.test",  # a host name in a form's example
    "panel.keyring", "panel.whois",  # loggers and extension keys
    # the activity log's own kinds (retention/services/activity.py maps actions onto them)
    "email.change", "email.change_request", "email.change_cancel", "signin.failed",
    # email categories
    "alerts.comments", "alerts.contact_form", "alerts.guestbook",
}
MACHINE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-|[0-9a-f]{16}|\b[a-z_]+\.[a-z_]+\b|_")


def written_actions(app) -> set[str]:
    """Every action a trail writer in panel/ or plugins/ can produce."""
    endpoints = set(app.view_functions)
    jobs = {job.name for jobs in hook().panel_jobs() for job in jobs}
    found: set[str] = set()
    for path in [*ROOT.joinpath("panel").rglob("*.py"), *ROOT.joinpath("plugins").rglob("*.py")]:
        text = path.read_text()
        if "AuditEvent" not in text and "_event(" not in text and "_trail(" not in text:
            continue
        found |= {m for m in DOTTED.findall(text)
                  if m not in endpoints and not m.startswith("privacy.") and m not in jobs
                  and not m.endswith(".html")}
        for prefix, a, b in BRANCHES.findall(text):
            found |= {prefix + a, prefix + b}
        for pattern, values in VARIABLE.items():
            if f'f"{pattern}"' in text:
                found |= {pattern.split("{")[0] + v for v in values}
    return found - NOT_ACTIONS


def test_the_walk_finds_the_actions_it_should(app):
    found = written_actions(app)
    # one of each way an action is written: literal, helper, f-string branch, closed set
    assert {"account.view", "access.start", "whois.privacy_on", "plugin.deactivate",
            "complaint.disclosed", "credential.expire", "user.suspend", "audit.export"} <= found


def _entry(action: str, **kw) -> SimpleNamespace:
    base = dict(action=action, actor_id=uuid.uuid4(), actor_role="staff", actor_label="Sam Support",
                on_behalf_of=None, account_id=uuid.uuid4(), at=utcnow(), fields=["privacy_enabled"],
                object=f"domain example.com privacy {uuid.uuid4()}", reason_code="support",
                ticket="TICKET-4242", session_id=uuid.uuid4(), request_id="a" * 32, result="ok",
                seq=7, entry_hash="f" * 64)
    base.update(kw)
    return SimpleNamespace(**base)


def test_every_action_the_code_writes_has_words(app):
    missing = sorted(written_actions(app) - set(PHRASES))
    assert not missing, f"actions without a sentence in access/services/words.py: {missing}"


@pytest.mark.parametrize("role", ["subscriber", "staff", "reseller", "admin"])
def test_every_sentence_is_free_of_machine_text(app, role):
    account_id = uuid.uuid4()
    viewer = SimpleNamespace(id=uuid.uuid4(), role=role, account_id=account_id)
    for action in [*PHRASES, "brand_new.thing_happened"]:
        for actor_role in ("staff", "admin", "reseller", "subscriber", "system"):
            e = _entry(action, actor_role=actor_role, account_id=account_id,
                       object=f"{action} {uuid.uuid4()} domain example.com sha {'ab' * 32}")
            line = describe(e, viewer)
            assert not MACHINE.search(line.sentence.replace("example.com", "")), (action, line.sentence)
            assert line.sentence.endswith("."), line.sentence
            assert ("Recorded as", action, True) in line.details  # the evidence is kept


def test_the_issue_examples_read_as_sentences():
    customer = SimpleNamespace(id=uuid.uuid4(), role="subscriber", account_id=uuid.uuid4())
    viewed = _entry("account.view", account_id=customer.account_id, object="customer page",
                    fields=[])
    assert describe(viewed, customer).sentence == \
        "Sam Support (staff) viewed your account details for ticket TICKET-4242."
    mine = _entry("whois.privacy_on", actor_id=customer.id, actor_role="subscriber",
                  account_id=customer.account_id, ticket=None, reason_code=None,
                  object="domain example.com privacy")
    assert describe(mine, customer).sentence == "You turned WHOIS privacy on for example.com."
    staff = SimpleNamespace(id=uuid.uuid4(), role="staff", account_id=None)
    assert describe(mine, staff).sentence == \
        "The customer turned WHOIS privacy on for example.com."
    refused = _entry("whois.privacy_off", result="refused", ticket=None, reason_code=None)
    assert describe(refused, staff).sentence.endswith("It was refused.")


def test_an_unknown_action_still_reads_as_a_sentence():
    line = describe(_entry("widget.frobnicate_all", ticket=None, reason_code=None), None)
    assert line.sentence == "Sam Support (staff) did something recorded as “widget frobnicate all”."


def _outside_details(html: str) -> str:
    body = html.split("<main", 1)[-1]
    return re.sub(r"<details.*?</details>|<code class=\"token\">.*?</code>|<[^>]+>", " ", body,
                  flags=re.S)


SESSION = {"reason": "support", "ticket": "TICKET-4242", "note": "Site down", "minutes": "30"}


def test_customer_pages_show_the_trail_in_words_with_details(app, client, factories, login_as):
    from tests.conftest import login

    customer = factories.subscriber(first_name="Henrietta")
    domain = factories.domain(customer.account, "example.com")
    staff = login_as("staff")
    assert post_form(client, f"/admin/access/new/{customer.account.id}", SESSION).status_code == 302
    client.get(f"/admin/customers/{customer.account.id}")
    client.get(f"/admin/domains/{domain.id}")
    client = app.test_client()  # the customer, in their own browser
    login(client, customer)
    state = "off" if domain.privacy_enabled else "on"
    post_form(client, f"/client/domains/{domain.id}/privacy", {"enabled": "1" if state == "on" else "0"},
              token_from=f"/client/domains/{domain.id}")
    assert AuditEntry.query.filter_by(action="access.start").count() == 1

    for url in ("/client/privacy/access", f"/client/domains/{domain.id}", "/client/privacy/history"):
        html = client.get(url).get_data(as_text=True)
        text = _outside_details(html)
        for machine in ("access.start", "account.view", "privacy_enabled", "access session"):
            assert machine not in text, (url, machine)
        assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", text), url
    access = client.get("/client/privacy/access").get_data(as_text=True)
    assert f"{staff.label} (staff) viewed your account details for ticket TICKET-4242." in access
    assert "<summary>Details</summary>" in access and "access.start" in access  # evidence kept
    domain_page = _outside_details(client.get(f"/client/domains/{domain.id}").get_data(as_text=True))
    assert f"You turned WHOIS privacy {state} for example.com." in " ".join(domain_page.split())


def test_consent_history_keeps_the_digest_under_details(client, login_as):
    login_as("subscriber")
    post_form(client, "/client/email-preferences", {"category": ["newsletter"]})
    html = client.get("/client/email-preferences").get_data(as_text=True)
    text = _outside_details(html)
    assert "sha256" not in text and not re.search(r"[0-9a-f]{12}", text)
    assert "Notice fingerprint (SHA-256)" in html
