"""Done when: the preference centre is used signed in and from an email link (P12-P14)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from panel.mail.outbox import deliver_due, queue
from plugins.privacy.email.services import preferences as email_prefs
from tests.browser.helpers import sign_in
from tests.browser_fixtures import settle
from tests.factories import Factories

pytestmark = pytest.mark.browser


def test_p14_preference_centre_signed_in_and_from_an_email_link(
        app, smtp, new_context: Callable[..., BrowserContext], factories: Factories) -> None:
    user = factories.subscriber()
    email, account_id = user.email, user.account_id
    app.config["SMTP_URL"] = smtp.url
    settle()

    def account():
        from panel.accounts.models import Account
        from panel.extensions import db

        db.session.expire_all()
        return db.session.get(Account, account_id)

    me = new_context().new_page()
    sign_in(me, email)
    me.get_by_role("link", name="Email preferences").click()
    expect(me.get_by_text("(always on)")).to_be_visible()
    me.get_by_label("Newsletter").check()
    me.get_by_label("Promotions").check()
    me.get_by_role("button", name="Save preferences").click()
    expect(me.get_by_text("Your email preferences were saved.")).to_be_visible()
    expect(me.get_by_label("Newsletter")).to_be_checked()
    assert email_prefs.allowed(account(), "promotions")

    # a newsletter arrives; its footer link opens the centre in a browser with no session
    queue(to=email, subject="News", body="Hello", category="newsletter", account_id=account_id)
    from panel.extensions import db

    db.session.commit()
    assert deliver_due().startswith("sent 1")
    body = smtp.handler.messages[0].get_content()
    link = re.search(r"(http://\S+/email-preferences/\S+)", body).group(1)
    path = link.split("localhost", 1)[1]

    stranger = new_context().new_page()
    stranger.goto(path)
    expect(stranger.get_by_text("You opened this page from a link in an email")).to_be_visible()
    stranger.get_by_role("button", name="Unsubscribe from all marketing").click()
    expect(stranger.get_by_text("You are unsubscribed from all marketing email.")).to_be_visible()
    expect(stranger.get_by_label("Newsletter")).not_to_be_checked()
    # the link signed nobody in
    stranger.goto("/client/")
    expect(stranger).to_have_url(re.compile(r"/login"))

    assert not email_prefs.allowed(account(), "newsletter")
    me.reload()
    expect(me.get_by_label("Newsletter")).not_to_be_checked()
    expect(me.get_by_role("cell", name="Preference centre").first).to_be_visible()
