"""Done when (issue 14): a full password reset in a real browser, through a real mail server
(aiosmtpd), for a subscriber with two-step sign-in on, whose second step is still asked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from playwright.sync_api import Page, expect

from panel.extensions import db
from panel.mail.outbox import deliver_due
from panel.password_reset.services import send_requested
from tests.browser.helpers import current_code
from tests.browser_fixtures import settle
from tests.factories import Factories
from tests.pg import free_port

pytestmark = pytest.mark.browser

NEW_PASSWORD = "my new long passphrase"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 2.0.0 Ok: queued"


@pytest.fixture
def inbox(app: Flask) -> Iterator[Inbox]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{controller.port}"
    try:
        yield handler
    finally:
        controller.stop()


def cron() -> None:
    """What `panel cron` does every minute: reset requests become mail, mail is delivered."""
    send_requested()
    deliver_due()
    settle()


def test_full_reset_through_smtp_for_a_subscriber_with_two_step_sign_in(
        page: Page, factories: Factories, inbox: Inbox) -> None:
    import pyotp

    user = factories.subscriber()
    user.totp_secret = pyotp.random_base32()
    email = user.email
    db.session.commit()
    settle()

    page.goto("/login")
    page.get_by_role("link", name="Forgot password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send the reset link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    cron()
    [mail] = [m for m in inbox.messages if m["To"] == email]
    assert mail["Subject"] == "Reset your password"
    link = re.search(r"http://\S+/reset-password/\S+", mail.get_content()).group(0)

    page.goto(urlsplit(link).path)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_label("Code from your authenticator app").fill("000000")  # a mailbox alone
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_text("That code is not right")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(current_code(email))
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_text("Your password is changed")).to_be_visible()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    # the link is spent
    response = page.goto(urlsplit(link).path)
    assert response is not None and response.status == 410
    expect(page.get_by_role("link", name="Ask for a new reset link")).to_be_visible()

    # signing in with the new password still asks for the second step
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("Code from your authenticator app").fill(current_code(email))
    page.get_by_role("button", name="Continue").click()
    assert urlsplit(page.url).path == "/client/"

    cron()
    notices = [m for m in inbox.messages if m["To"] == email and
               m["Subject"] == "Your password was changed"]
    assert len(notices) == 1 and "/forgot-password" in notices[0].get_content()
