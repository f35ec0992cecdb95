"""Enforcement at delivery (P12, P13, P27), consent evidence, staff changes, partners."""

from __future__ import annotations

import mailbox

import pytest
from sqlalchemy import select

from panel.extensions import db
from panel.mail.models import OutboxMessage
from panel.mail.outbox import deliver_due, queue
from plugins.privacy.email.models import ConsentEvent, PartnerDisclosure
from plugins.privacy.email.services import preferences as email_prefs
from plugins.privacy.email.services import unsubscribe
from plugins.privacy.processing.models import ProcessingLimit
from tests.conftest import login, post_form

HOUSE = [c.key for c in email_prefs.HOUSE]
ALERTS = [k for k in HOUSE if k.startswith("alerts.")]


def _send(user, category, by=None):
    queue(to=user.email, subject=f"About {category}", body="b", category=category,
          account_id=user.account.id)
    db.session.commit()
    return deliver_due()


@pytest.mark.parametrize("category", [*HOUSE, "reseller"])
def test_p13_staff_cannot_send_to_someone_who_said_no_in_any_category(app, smtp, factories,
                                                                       category):
    app.config["SMTP_URL"] = smtp.url
    reseller = factories.reseller()
    user = factories.subscriber(reseller=reseller)
    key = email_prefs.reseller_category(reseller.id) if category == "reseller" else category
    email_prefs.change(user.account, {key: False}, "preference-centre")
    db.session.commit()
    # staff queue the message themselves, even with their own List-Unsubscribe header
    queue(to=user.email, subject="Staff override", body="b", category=key,
          account_id=user.account.id, headers={"X-Priority": "1"})
    db.session.commit()
    assert deliver_due() == "sent 0, suppressed 1, failed 0, retrying 0"
    assert smtp.handler.messages == []
    row = db.session.execute(select(OutboxMessage)).scalar_one()
    assert row.status == "suppressed" and "does not want" in row.suppressed_reason
    # once the subscriber says yes, the same category goes out with its headers
    email_prefs.change(user.account, {key: True}, "preference-centre")
    db.session.commit()
    assert _send(user, key).startswith("sent 1")
    assert smtp.handler.messages[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_p12_transactional_always_goes_without_unsubscribe_headers(app, smtp, factories):
    app.config["SMTP_URL"] = smtp.url
    user = factories.subscriber()
    email_prefs.unsubscribe_all(user.account, "preference-centre")
    db.session.commit()
    assert _send(user, "billing").startswith("sent 1")
    [mail] = smtp.handler.messages
    assert mail["List-Unsubscribe"] is None
    assert "/email-preferences/" in mail.get_content()


def test_p13_restriction_and_objection_stop_marketing_but_not_site_alerts(app, smtp, factories):
    app.config["SMTP_URL"] = smtp.url
    user = factories.subscriber()
    email_prefs.change(user.account, {"newsletter": True}, "import")
    db.session.add(ProcessingLimit(account_id=user.account.id, restricted=False,
                                   objections=["marketing"]))
    db.session.commit()
    assert _send(user, "newsletter") == "sent 0, suppressed 1, failed 0, retrying 0"
    assert _send(user, "alerts.comments").startswith("sent 1")


def test_p27_a_reseller_category_only_for_its_own_customers(app, smtp, factories):
    app.config["SMTP_URL"] = smtp.url
    mine, other = factories.reseller(), factories.reseller()
    user = factories.subscriber(reseller=mine)
    assert not email_prefs.allowed(user.account, email_prefs.reseller_category(other.id))
    email_prefs.change(user.account, {email_prefs.reseller_category(mine.id): True}, "import")
    email_prefs.change(user.account, {"newsletter": False}, "import")
    db.session.commit()
    assert email_prefs.allowed(user.account, email_prefs.reseller_category(mine.id))
    assert not email_prefs.allowed(user.account, "newsletter")  # independent of the house


def test_p13_consent_evidence_and_staff_change_needs_reason(app, client, factories):
    user = factories.subscriber()
    staff = factories.staff()
    login(client, staff)
    url = f"/admin/privacy/email/{user.account.id}"
    assert client.get(url).status_code == 302  # no access session yet
    post_form(client, f"/admin/access/new/{user.account.id}",
              {"reason": "support", "ticket": "T-1", "note": "n", "minutes": "30"})
    answer = post_form(client, url, {"category": ["newsletter"], "reason": ""})
    assert answer.status_code == 400 and "Give the reason" in answer.get_data(as_text=True)
    assert db.session.execute(select(ConsentEvent)).first() is None
    answer = post_form(client, url, {"category": ["newsletter", *ALERTS], "reason": "customer phoned",
                                     "ticket": "T-1"})
    assert answer.status_code == 302
    [event] = db.session.execute(select(ConsentEvent)).scalars()
    assert (event.category, event.granted, event.method, event.mode) == (
        "newsletter", True, "staff", "opt-in")
    assert event.actor_id == staff.id and event.reason == "customer phoned"
    assert event.notice_hash == email_prefs.BY_KEY["newsletter"].notice_hash
    assert event.ip == "127.0.0.1" and event._ip != "127.0.0.1"  # sealed at rest
    from plugins.privacy.access.models import AuditEntry

    actions = [e.action for e in db.session.execute(select(AuditEntry)).scalars()]
    assert "email_preferences.change" in actions and "email_preferences.view" in actions
    page = client.get(url).get_data(as_text=True)
    assert "customer phoned" in page


def test_p14_subscriber_page_history_and_unsubscribe_all(app, client, factories):
    user = factories.subscriber()
    login(client, user)
    post_form(client, "/client/email-preferences", {"category": ["newsletter", "promotions", *ALERTS]})
    assert email_prefs.allowed(user.account, "promotions")
    post_form(client, "/client/email-preferences/all", token_from="/client/email-preferences")
    assert not any(email_prefs.allowed(user.account, c.key) for c in email_prefs.HOUSE
                   if c.marketing)
    assert email_prefs.allowed(user.account, "alerts.comments")
    page = client.get("/client/email-preferences").get_data(as_text=True)
    assert page.count("Preference centre") >= 4  # grant x2, withdrawal x2
    bad = post_form(client, "/client/email-preferences", {"category": ["billing"]})
    assert bad.status_code == 400 and "not an email category" in bad.get_data(as_text=True)


def test_p14_mailto_unsubscribe_and_non_subscriber_is_ignored(app, factories, tmp_path):
    ada, eve = factories.subscriber(), factories.subscriber()
    email_prefs.change(ada.account, {"newsletter": True}, "import")
    db.session.commit()
    token = unsubscribe.make(ada.account.id, "newsletter")
    box = mailbox.mbox(tmp_path / "inbound.mbox")
    for sender, ident in ((eve.email, "<forged@x>"), ("stranger@example.net", "<stranger@x>"),
                          (ada.email, "<real@x>")):
        box.add(f"From: {sender}\nTo: unsubscribe@panel.test\nMessage-ID: {ident}\n"
                f"Subject: unsubscribe {token}\n\nplease\n")
    box.flush()
    result = app.test_cli_runner().invoke(args=["mail", "inbound", str(tmp_path / "inbound.mbox")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "<forged@x>: ignored: the sender is not the subscriber" in lines[0]
    assert "<stranger@x>: ignored" in lines[1]
    assert "<real@x>: done" in lines[2]
    assert "stranger@example.net" not in result.output
    assert lines[-1] == "processed 1, ignored 2"
    db.session.expire_all()
    assert not email_prefs.allowed(ada.account, "newsletter")
    [event] = [e for e in email_prefs.history(ada.account) if not e.granted]
    assert event.method == "mailto"
    # she subscribes again; the next run must not replay her old request (it is marked read)
    email_prefs.change(ada.account, {"newsletter": True}, "preference-centre")
    db.session.commit()
    again = app.test_cli_runner().invoke(args=["mail", "inbound", str(tmp_path / "inbound.mbox")])
    assert again.exit_code == 0 and again.output.splitlines()[-1] == "processed 0, ignored 0"
    db.session.expire_all()
    assert email_prefs.allowed(ada.account, "newsletter")


def test_p15_partner_file_has_only_consenting_contact_fields(app, client, factories):
    ada, bob = factories.subscriber(), factories.subscriber()
    email_prefs.change(ada.account, {"partner_offers": True}, "import")
    db.session.commit()
    factories.payment_method(ada.account)
    admin = factories.staff("admin")
    login(client, admin)
    answer = post_form(client, "/admin/privacy/partners/", {"partner": "Acme SSL",
                                                            "purpose": "Spring SSL offer"})
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    text = answer.get_data(as_text=True)
    assert text.splitlines()[0] == "first_name,last_name,email"
    assert ada.email in text and bob.email not in text
    assert "4242" not in text and "London" not in text
    [d] = db.session.execute(select(PartnerDisclosure)).scalars()
    assert d.account_id == ada.account.id and d.partner == "Acme SSL"
    sub = app.test_client()
    login(sub, ada)
    assert "Acme SSL" in sub.get("/client/email-preferences").get_data(as_text=True)


def test_p06_export_and_erasure_keep_consent_evidence(app, factories):
    from panel.accounts.erasure import erase

    user = factories.subscriber()
    email_prefs.change(user.account, {"newsletter": True}, "import")
    db.session.commit()
    from panel.hooks import hook

    exported = {}
    for part in hook().panel_account_export(account=user.account):
        exported.update({k: list(v) for k, v in part.items()})
    assert exported["consent_history"][0]["category"] == "newsletter"
    erase(user.account, None)
    db.session.commit()
    events = email_prefs.history(user.account)
    assert [e.method for e in events][0] == "erasure"  # marketing withdrawn, evidence kept
    assert not email_prefs.allowed(user.account, "newsletter")
