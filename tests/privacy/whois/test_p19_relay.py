"""The WHOIS contact relay: anyone writes to a private registrant without learning the address,
the registrant can answer or switch it off, and the sender's address is kept only 30 days (P19)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from panel.db_types import utcnow
from panel.extensions import db
from panel.mail.models import OutboxMessage
from panel.mail.outbox import deliver_due
from plugins.privacy.retention.services import schedule as retention
from plugins.privacy.whois.models import RelayMessage
from plugins.privacy.whois.services import relay
from tests.conftest import login, post_form

GOOD = {"name": "Peter Buyer", "email": "peter@buyer.example",
        "message": "Hello, I would like to buy your domain for my bakery. Are you interested?"}


def _domain(factories, privacy: bool = True):
    user = factories.subscriber()
    return user, factories.domain(user.account, "bakery.test", privacy=privacy)


def test_p19_anyone_writes_to_the_registrant_without_learning_the_address(client, factories):
    user, domain = _domain(factories)
    registrant = domain.contact("registrant").email
    page = client.get("/whois/contact/bakery.test").get_data(as_text=True)
    assert registrant not in page and "Send message" in page
    response = post_form(client, "/whois/contact/bakery.test", GOOD)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "passed on to the registrant" in page and registrant not in page
    mail = OutboxMessage.query.one()
    assert mail.category == "whois_relay" and mail.to_addr == registrant
    assert "buy your domain" in mail.body and "peter@buyer.example" not in mail.body
    assert mail.account_id == user.account_id
    stored = RelayMessage.query.one()
    assert stored.sender_email == "peter@buyer.example"  # sealed, for the answer only
    raw = db.session.execute(db.text("SELECT sender_email, body FROM privacy_relay_message")).one()
    assert "peter@buyer.example" not in raw[0] and "bakery" not in raw[1]
    assert stored.expires_at - stored.created_at == timedelta(days=30)


@pytest.mark.parametrize(("data", "error"), [
    ({**GOOD, "message": "https://spam.example/a https://spam.example/b"}, "mostly links"),
    ({**GOOD, "message": "see www.cheap.example now http://x.example/ http://y.example/z"},
     "at most 2 links"),
    ({**GOOD, "message": "buy it now please"}, "Write between 20"),
    ({**GOOD, "message": "1234567890 1234567890 12345"}, "Write at least 4 words"),
    ({**GOOD, "email": "not-an-address"}, "Enter an email address"),
    ({**GOOD, "email": ""}, "email address is required"),
    ({**GOOD, "name": ""}, "Your name is required"),
    ({**GOOD, "name": "x" * 500}, "at most 120 characters"),
    ({**GOOD, "message": "x" * 5000}, "between 20 and 4,000"),
    ({**GOOD, "message": GOOD["message"] + "\x07"}, "control characters"),
])
def test_p19_bad_or_spam_messages_are_refused_and_the_form_keeps_them(client, factories, data, error):
    _domain(factories)
    response = post_form(client, "/whois/contact/bakery.test", data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert error in page
    if data["name"] and len(data["name"]) < 200:
        assert f'value="{data["name"]}"' in page
    assert OutboxMessage.query.count() == 0 and RelayMessage.query.count() == 0


def test_p19_unknown_or_malformed_domains_are_not_found(client):
    for name in ("nowhere.test", "not_a_domain", "%00", "a" * 300):
        assert client.get(f"/whois/contact/{name}").status_code == 404


def test_p19_public_domains_and_switched_off_relays_take_no_messages(client, factories):
    user, domain = _domain(factories, privacy=False)
    assert "published in WHOIS" in client.get("/whois/contact/bakery.test").get_data(as_text=True)
    response = post_form(client, "/whois/contact/bakery.test", GOOD)
    assert response.status_code == 400 and "published in WHOIS" in response.get_data(as_text=True)
    domain.privacy_enabled = True
    relay.set_enabled(domain, False, None)
    assert "does not accept messages" in client.get("/whois/contact/bakery.test").get_data(as_text=True)
    assert OutboxMessage.query.count() == 0


def test_p19_a_relayed_message_is_delivered_to_the_registrant(client, factories, smtp, app):
    user, domain = _domain(factories)
    app.config["SMTP_URL"] = smtp.url
    post_form(client, "/whois/contact/bakery.test", GOOD)
    assert deliver_due().startswith("sent 1")
    [mail] = smtp.handler.messages
    assert mail["To"] == domain.contact("registrant").email
    assert "buy your domain" in mail.get_content() and "peter@buyer.example" not in str(mail)
    # the way to stop these is the switch on the domain's page; no preference-centre link,
    # since the registrant contact need not be the account holder
    assert mail["List-Unsubscribe"].strip() == f"<http://localhost/client/domains/{domain.id}>"
    assert "email-preferences" not in mail.get_content()


def test_p19_registrant_switches_the_relay_off_and_queued_messages_are_dropped(
        client, factories, smtp, app):
    user, domain = _domain(factories)
    app.config["SMTP_URL"] = smtp.url
    anon = app.test_client()
    post_form(anon, "/whois/contact/bakery.test", GOOD)
    login(client, user)
    url = f"/client/domains/{domain.id}"
    assert "Stop contact-form messages" in client.get(url).get_data(as_text=True)
    response = post_form(client, f"{url}/relay", {"enabled": "0"}, token_from=url)
    assert response.status_code == 302
    assert "switched off" in client.get(url).get_data(as_text=True)
    deliver_due()
    mail = OutboxMessage.query.one()
    assert mail.status == "suppressed" and "switched off" in mail.suppressed_reason
    assert smtp.handler.envelopes == []


def test_p19_registrant_answers_through_the_panel_without_revealing_the_address(
        client, factories, app):
    user, domain = _domain(factories)
    post_form(app.test_client(), "/whois/contact/bakery.test", GOOD)
    message = RelayMessage.query.one()
    login(client, user)
    page = client.get(f"/client/domains/{domain.id}").get_data(as_text=True)
    assert "Peter Buyer" in page and "Read and answer" in page
    url = f"/client/domains/{domain.id}/messages/{message.id}/reply"
    assert "would like to buy" in client.get(url).get_data(as_text=True)
    bad = post_form(client, url, {"message": ""})
    assert bad.status_code == 400 and "Write your answer" in bad.get_data(as_text=True)
    response = post_form(client, url, {"message": "Thanks, it is not for sale."})
    assert response.status_code == 302
    [answer] = [m for m in OutboxMessage.query.all() if m.to_addr == "peter@buyer.example"]
    assert "not for sale" in answer.body
    assert domain.contact("registrant").email not in answer.body
    assert user.email not in answer.body


def test_p19_other_customers_cannot_read_or_answer_a_message(client, factories, app):
    user, domain = _domain(factories)
    post_form(app.test_client(), "/whois/contact/bakery.test", GOOD)
    message = RelayMessage.query.one()
    other = factories.subscriber()
    login(client, other)
    url = f"/client/domains/{domain.id}/messages/{message.id}/reply"
    assert client.get(url).status_code == 404
    mine = factories.domain(other.account, privacy=True)
    assert client.get(f"/client/domains/{mine.id}/messages/{message.id}/reply").status_code == 404


def test_p19_the_senders_address_is_purged_after_its_time(client, factories, app):
    user, domain = _domain(factories)
    post_form(app.test_client(), "/whois/contact/bakery.test", GOOD)
    message = RelayMessage.query.one()
    assert retention.run().counts["relay_senders"] == 0
    message.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert retention.run().counts["relay_senders"] == 1  # the retention schedule's rule
    assert RelayMessage.query.count() == 0


def test_p19_relay_form_is_rate_limited_per_address_and_per_domain(make_app, factories):
    app = make_app(WHOIS_RELAY_LIMIT_PER_IP="2 per hour", WHOIS_RELAY_LIMIT_PER_DOMAIN="3 per day")
    with app.app_context():
        _domain(factories)
        first = app.test_client()
        codes = [post_form(first, "/whois/contact/bakery.test", GOOD).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        other = app.test_client()
        other_ip = {"REMOTE_ADDR": "192.0.2.7"}
        token_page = other.get("/whois/contact/bakery.test", environ_base=other_ip)
        assert token_page.status_code == 200
        from tests.conftest import CSRF_RE

        match = CSRF_RE.search(token_page.get_data(as_text=True))
        token = match.group(1) or match.group(2)
        codes = [other.post("/whois/contact/bakery.test", data={**GOOD, "csrf_token": token},
                            environ_base=other_ip).status_code for _ in range(2)]
        assert codes == [200, 429]  # the domain's own limit: 3 a day from everyone together
        assert RelayMessage.query.count() == 3
        db.session.remove()
