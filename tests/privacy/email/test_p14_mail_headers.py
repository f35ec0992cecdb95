"""Every kind of mail the panel sends, as a plain receiver reads it (P14): the one-click and
mailto unsubscribe links in List-Unsubscribe unencoded, DKIM intact; and no token of any kind
readable in the admin's Maildir viewer, which would let an admin act for the customer."""

from __future__ import annotations

import mailbox
import re
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlsplit

import dkim
from flask import Flask
from werkzeug.exceptions import HTTPException

from panel.auth.passwords import not_chosen
from panel.extensions import db
from panel.mail.models import TRANSACTIONAL_CATEGORIES
from panel.mail.outbox import deliver_due, queue
from panel.password_reset import services as password_reset
from panel.reseller.customers import send_invitation
from plugins.privacy.access.models import PASSWORD_LINK, AccountPrivacy
from plugins.privacy.access.services import help as staff_help
from plugins.privacy.access.services import sessions as access
from plugins.privacy.center.services import email_change
from plugins.privacy.email.services import campaigns, unsubscribe
from plugins.privacy.email.services import preferences as email_prefs
from plugins.privacy.whois.services import relay
from tests.conftest import login
from tests.core.mail.test_headers import assert_plain_receiver_reads, dkim_key_pair
from tests.factories import DEFAULT_PASSWORD
from tests.privacy.email.helpers import opt_in

BASE = "https://panel.example"
ONE_CLICK = re.compile(rf"<{re.escape(BASE)}/unsubscribe/([^<>\s]+)>")
MAILTO = re.compile(r"<mailto:unsubscribe@panel\.test\?subject=unsubscribe%20([^<>\s]+)>")


def send_every_kind(app: Flask, factories) -> dict[str, str]:
    """Queue one message of every category and from every sender that puts a token in mail;
    the subject of each, mapped to what its List-Unsubscribe must offer."""
    app.config["BASE_URL"] = BASE
    ada = factories.subscriber()
    reseller = factories.reseller(name="Northwind")
    bob = factories.subscriber(reseller=reseller)
    own = email_prefs.reseller_category(reseller.id)
    opt_in(ada, *email_prefs.BY_KEY)
    opt_in(bob, own)
    kinds: dict[str, str] = {}
    for key in email_prefs.BY_KEY:  # every preference category: newsletters ... site alerts
        queue(to=ada.email, subject=f"Category {key}", body="Hello", category=key,
              account_id=ada.account_id)
        kinds[f"Category {key}"] = "one-click"
    queue(to=bob.email, subject="Reseller marketing", body="Hi", category=own,
          account_id=bob.account_id)
    kinds["Reseller marketing"] = "one-click"
    for key in sorted(TRANSACTIONAL_CATEGORIES):  # notices: a preference-centre footer only
        queue(to=ada.email, subject=f"Notice {key}", body="Your invoice", category=key,
              account_id=ada.account_id)
        kinds[f"Notice {key}"] = "footer"
    db.session.commit()
    staff = factories.staff("admin")
    campaign = campaigns.create(staff, category="newsletter", subject="A campaign", body="News")
    campaigns.send(campaign, staff)
    kinds["A campaign"] = "one-click"
    relay.send(factories.domain(ada.account, "bakery.test"), "Peter Buyer", "peter@buyer.example",
               "Hello, I would like to buy your domain for my bakery. Are you interested?")
    kinds["WHOIS contact form: a message about bakery.test"] = "domain page"
    # the senders of the other signed links: access approval, email change, invitation
    db.session.merge(AccountPrivacy(account_id=ada.account_id, require_approval=True,
                                    notify_access=True))
    db.session.commit()
    access.request_access(staff, ada.account, reason="support", ticket="T-1", note="help")
    kinds["Support asks for access to your account"] = "footer"
    email_change.request_change(ada, "ada.new@example.com", DEFAULT_PASSWORD)
    kinds["Confirm your new sign-in email address"] = "footer"
    bob.password_hash = not_chosen()  # invited and not yet signed up: the mail carries a link
    send_invitation(reseller, bob)
    db.session.commit()
    kinds["Your hosting account with Northwind"] = "footer"
    password_reset.request(ada.email)
    password_reset.send_requested()
    kinds["Reset your password"] = "footer"
    carol = factories.subscriber()  # no approval needed: staff's session is live at once
    session = access.request_access(staff, carol.account, reason="support", ticket="T-2",
                                    note="lost phone")
    staff_help.ask(staff, session, carol.account, PASSWORD_LINK)
    db.session.commit()
    kinds["Support opened your account data"] = "footer"
    kinds["Support will email you a password-reset link in 24 hours"] = "footer"
    return kinds


def test_p14_every_kind_of_mail_reaches_a_plain_receiver_with_its_unsubscribe_links(
        app, smtp, factories):
    pem, record = dkim_key_pair()
    app.config.update(SMTP_URL=smtp.url, DKIM_KEY=pem, DKIM_SELECTOR="s1")
    kinds = send_every_kind(app, factories)
    assert deliver_due().startswith(f"sent {len(kinds)},")

    seen = set()
    for envelope in smtp.handler.envelopes:
        raw = envelope.content
        mail = message_from_bytes(raw, policy=policy.compat32)
        subject = str(mail["Subject"])
        seen.add(subject)
        found = assert_plain_receiver_reads(raw)  # nothing encoded, no line over 998
        assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: record), subject
        links = found.get("list-unsubscribe", "")
        if kinds[subject] == "one-click":
            [web], [by_mail] = ONE_CLICK.findall(links), MAILTO.findall(links)
            assert web == by_mail, subject  # the same link, by web and by mail
            assert unsubscribe.resolve(web).category is not None, subject
            assert found["list-unsubscribe-post"] == "List-Unsubscribe=One-Click", subject
        elif kinds[subject] == "domain page":
            assert re.fullmatch(rf"<{re.escape(BASE)}/client/domains/[0-9a-f-]+>", links)
        else:
            assert links == "" and "list-unsubscribe-post" not in found, subject
            body = message_from_bytes(raw, policy=policy.default).get_content()
            assert f"{BASE}/email-preferences/" in body, subject
    assert seen == set(kinds)


def _tokens_in(app: Flask, raw: bytes) -> dict[str, set[str]]:
    """Every signed token in a delivered message, found through the routes that take one."""
    mail = message_from_bytes(raw, policy=policy.default)
    text = "\n".join([*(str(v) for v in mail.values()), mail.get_body(("plain",)).get_content()])
    adapter = app.url_map.bind("panel.example")
    found: dict[str, set[str]] = {}
    for url in re.findall(r"https://panel\.example(/[^\s<>\"]*)", text):
        try:
            endpoint, values = adapter.match(urlsplit(url).path, method="GET")
        except HTTPException:
            continue
        if "token" in values:
            found.setdefault(endpoint, set()).add(values["token"])
    for token in MAILTO.findall(" ".join(str(mail["List-Unsubscribe"] or "").split())):
        found.setdefault("mailto", set()).add(token)
    return found


def test_p14_the_maildir_viewer_shows_no_token_of_any_kind(app, client, factories):
    app.config["SMTP_URL"] = None  # mail goes to the local Maildir the viewer reads
    kinds = send_every_kind(app, factories)
    assert deliver_due().startswith(f"sent {len(kinds)},")
    box = mailbox.Maildir(Path(app.instance_path) / "mail", create=False)
    keys = box.keys()  # iterating a Maildir gives its messages, not their keys
    per_message = {key: _tokens_in(app, box.get_bytes(key)) for key in keys}
    tokens: dict[str, set[str]] = {}
    for found in per_message.values():
        for endpoint, values in found.items():
            tokens.setdefault(endpoint, set()).update(values)
    # every route a mailed link opens with a token is in these messages, and the mailto too
    linked = {r.endpoint for r in app.url_map.iter_rules()
              if "token" in r.arguments and "GET" in (r.methods or ())}
    assert set(tokens) == linked | {"mailto"}
    every = set().union(*tokens.values())

    login(client, factories.staff("admin"))
    for url in ["/admin/mail/", "/admin/mail/maildir",
                *(f"/admin/mail/maildir/{key}" for key in per_message)]:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert not [t for t in every if t in html], url
        key = url.rpartition("/")[2]
        if per_message.get(key):  # the link is still there, without what makes it work
            assert "[link hidden: it acts for the recipient]" in html, url
