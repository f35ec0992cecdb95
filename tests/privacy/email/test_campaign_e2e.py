"""Done when: a real campaign through aiosmtpd, one-click unsubscribe with no cookies, and the
next campaign skips that subscriber (P13, P14)."""

from __future__ import annotations

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from panel.mail.outbox import deliver_due
from plugins.privacy.email.services import campaigns
from tests.conftest import login
from tests.privacy.email.helpers import one_click_path, opt_in


def _key_pair() -> tuple[str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    import base64

    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def test_p14_campaign_one_click_unsubscribe_and_next_campaign_skips(app, smtp, factories, client):
    pem, record = _key_pair()
    app.config.update(SMTP_URL=smtp.url, DKIM_KEY=pem, DKIM_SELECTOR="s1")
    ada, bob, _cyd = factories.subscriber(), factories.subscriber(), factories.subscriber()
    opt_in(ada, "newsletter")
    opt_in(bob, "newsletter")  # cyd never said yes: opt-in is the default setting
    staff = factories.staff("admin")

    first = campaigns.create(staff, category="newsletter", subject="Spring news", body="Hello!")
    campaigns.send(first, staff)
    assert (first.queued, first.skipped) == (2, 1)
    assert deliver_due().startswith("sent 2")

    delivered = smtp.handler.messages
    assert sorted(m["To"] for m in delivered) == sorted([ada.email, bob.email])
    for mail, envelope in zip(delivered, smtp.handler.envelopes, strict=True):
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "<mailto:unsubscribe@panel.test?subject=unsubscribe%20" in mail["List-Unsubscribe"]
        assert "/email-preferences/" in mail.get_content()  # the preference centre link
        # the bytes as received: re-serialising the parsed message would refold its headers
        assert dkim.verify(envelope.content, dnsfunc=lambda name, timeout=5: record)
    # each message has its own link
    assert len({one_click_path(m) for m in delivered}) == 2
    signature = "".join(str(delivered[0]["DKIM-Signature"]).split())
    covered = dict(t.split("=", 1) for t in signature.split(";") if "=" in t)["h"].lower()
    assert {"list-unsubscribe", "list-unsubscribe-post"} <= set(covered.split(":"))
    tampered = smtp.handler.envelopes[0].content.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
                                               b"List-Unsubscribe-Post: List-Unsubscribe=Two-Click")
    assert not dkim.verify(tampered, dnsfunc=lambda name, timeout=5: record)

    ada_mail = next(m for m in delivered if m["To"] == ada.email)
    fresh = app.test_client()  # no cookies at all
    answer = fresh.post(one_click_path(ada_mail), data="List-Unsubscribe=One-Click",
                        content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers
    assert "You are unsubscribed" in answer.get_data(as_text=True)

    second = campaigns.create(staff, category="newsletter", subject="Summer news", body="Hi")
    campaigns.send(second, staff)
    assert (second.queued, second.skipped) == (1, 2)
    deliver_due()
    assert [m["To"] for m in smtp.handler.messages[2:]] == [bob.email]
    report = campaigns.report(second)
    assert (report["delivered"], report["not_consenting"]) == (1, 2)

    # the report page, as staff see it
    login(client, staff)
    page = client.get(f"/admin/privacy/campaigns/{second.id}").get_data(as_text=True)
    assert "Delivered</dt><dd>1" in page


def test_p13_message_queued_before_unsubscribe_is_suppressed(app, smtp, factories):
    app.config["SMTP_URL"] = smtp.url
    ada = factories.subscriber()
    opt_in(ada, "promotions")
    staff = factories.staff("admin")
    c = campaigns.create(staff, category="promotions", subject="Sale", body="50% off")
    campaigns.send(c, staff)
    client = app.test_client()
    from plugins.privacy.email.services import unsubscribe

    token = unsubscribe.make(ada.account.id, "promotions")
    assert client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"},
                       content_type="multipart/form-data").status_code == 200

    assert deliver_due() == "sent 0, suppressed 1, failed 0, retrying 0"
    assert smtp.handler.messages == []
    report = campaigns.report(c)
    assert report["suppressed"] == 1
    from sqlalchemy import select

    from panel.extensions import db
    from panel.mail.models import OutboxMessage

    row = db.session.execute(select(OutboxMessage)).scalar_one()
    assert row.suppressed_reason == "the subscriber does not want promotions email"


def test_p14_a_campaign_is_queued_once_even_if_sent_twice(app, factories):
    import pytest

    from panel.extensions import db
    from panel.mail.models import OutboxMessage

    ada = factories.subscriber()
    opt_in(ada, "newsletter")
    staff = factories.staff("admin")
    campaign = campaigns.create(staff, category="newsletter", subject="News", body="Hello!")
    campaigns.send(campaign, staff)
    db.session.refresh(campaign)
    db.session.expunge(campaign)
    campaign.status = "draft"  # what a second tab, loaded before the first send, still holds
    with pytest.raises(campaigns.CampaignError, match="already sent"):
        campaigns.send(campaign, staff)
    assert OutboxMessage.query.count() == 1


def test_p27_a_resellers_newsletter_carries_its_brand_to_its_own_customers(app, smtp, factories):
    from panel.extensions import db
    from panel.reseller.models import ResellerBrand
    from plugins.privacy.email.services import preferences as email_prefs

    app.config["SMTP_URL"] = smtp.url
    reseller = factories.reseller(name="Northwind")
    db.session.add(ResellerBrand(reseller_id=reseller.id, name="Northwind Hosting",
                                 support_email="help@northwind.example"))
    customer = factories.subscriber(reseller=reseller)
    category = email_prefs.reseller_category(reseller.id)
    opt_in(customer, category)
    campaign = campaigns.create(reseller, category=category, subject="Our offer", body="Hi!")
    campaigns.send(campaign, reseller)
    assert deliver_due().startswith("sent 1")
    [mail] = smtp.handler.messages
    assert mail["From"].startswith("Northwind Hosting <")
    assert "help@northwind.example" in mail.get_content()


def test_an_unusable_dkim_key_stops_the_run_before_any_message_uses_an_attempt(app, factories):
    from panel.mail.models import OutboxMessage
    from panel.mail.outbox import queue

    queue(to="ada@example.com", subject="Invoice", body="Due: 10 EUR")
    from panel.extensions import db

    db.session.commit()
    app.config["DKIM_KEY"] = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"
    result = app.test_cli_runner().invoke(args=["mail", "send"])
    assert result.exit_code != 0 and "PANEL_DKIM_KEY" in result.output
    assert OutboxMessage.query.one().attempts == 0  # nothing was spent on it
