"""Issue 5, done when: a subscriber corrects their profile, downloads the JSON export and finds
in it what the panel shows, and files an erasure request; staff fulfil it; the account is then
anonymised while its invoices remain."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from panel.accounts.models import Account
from panel.billing.models import Invoice
from panel.extensions import db
from tests.browser.helpers import sign_in
from tests.browser_fixtures import settle
from tests.factories import DEFAULT_PASSWORD, Factories

pytestmark = pytest.mark.browser


def test_p05_p06_p09_correct_export_erase_and_staff_fulfil(
        new_context: Callable[..., BrowserContext], factories: Factories, tmp_path: Path) -> None:
    customer_user = factories.subscriber(first_name="Odile", last_name="Marchetti", country="IT")
    account_id = customer_user.account_id
    factories.domain(customer_user.account, "marchetti.test")
    invoice_number = factories.invoice(customer_user.account, status="paid").number
    email, staff_email = customer_user.email, factories.staff(name="Sam Support").email
    checker_email = factories.staff(name="Cleo Checker").email
    settle()

    me = new_context(accept_downloads=True).new_page()
    sign_in(me, email)

    # Correct the profile.
    me.goto("/client/profile")
    me.get_by_label("Last name").fill("Marchetti-Rossi")
    me.get_by_label("City").fill("Torino")
    me.get_by_role("button", name="Save").click()
    expect(me.get_by_role("status")).to_contain_text("last name")
    expect(me.get_by_label("Last name")).to_have_value("Marchetti-Rossi")

    # Download the JSON export and compare it with what the panel shows.
    me.goto("/client/privacy/data")
    expect(me.get_by_role("heading", level=1)).to_have_text("My data")
    expect(me.locator("main")).to_contain_text("Marchetti-Rossi")
    me.get_by_label("Format").select_option("json")
    me.get_by_role("button", name="Prepare my copy").click()
    me.get_by_role("link", name="Download").first.click()
    me.get_by_label("Password").fill(DEFAULT_PASSWORD)
    with me.expect_download() as info:
        me.get_by_role("button", name="Download").click()
    target = tmp_path / "export.json"
    info.value.save_as(target)
    document = json.loads(target.read_text())
    text = json.dumps(document, ensure_ascii=False)
    assert document["schema_version"]
    for shown in ("Odile", "Marchetti-Rossi", "Torino", "marchetti.test", invoice_number, email):
        assert shown in text, shown

    # File an erasure request, with the final confirmation.
    me.goto("/client/privacy/requests/")
    me.get_by_label("What are you asking for?").select_option("erasure")
    me.get_by_role("button", name="Send request").click()  # no confirmation, no password yet
    expect(me.get_by_text("Enter your password.")).to_be_visible()
    me.get_by_label("What are you asking for?").select_option("erasure")
    me.get_by_label("I understand that erasure cannot be undone", exact=False).check()
    me.get_by_label("Your password, to confirm it is you").fill(DEFAULT_PASSWORD)
    me.get_by_role("button", name="Send request").click()
    expect(me.get_by_role("status")).to_contain_text("Request received")
    expect(me.locator("tbody")).to_contain_text("Erase my personal data")

    # Staff ask to erase it: open a session on the customer, then answer from the queue.
    def in_session(who: str) -> Page:
        page = new_context().new_page()
        sign_in(page, who)
        page.goto(f"/admin/access/new/{account_id}")
        page.get_by_label("Reason").select_option(label="Customer support request")
        page.get_by_label("Ticket or case reference").fill("GDPR-17")
        page.get_by_label("Note").fill("Erasure request from the panel")
        page.get_by_role("button", name="Open session").click()
        page.goto("/admin/privacy/requests/")
        page.locator("tbody tr", has_text="Erase my personal data").get_by_role("link").click()
        return page

    staff = in_session(staff_email)
    expect(staff.locator("main")).to_contain_text("verified")
    staff.get_by_role("button", name="Ask to erase").click()
    expect(staff.get_by_role("status")).to_contain_text("another staff member approves it")
    expect(staff.locator("main")).to_contain_text("You asked for this erasure")
    expect(staff.get_by_role("button", name="Approve and erase now")).to_have_count(0)

    # A second staff member approves it in their own session (four eyes).
    checker = in_session(checker_email)
    expect(checker.locator("main")).to_contain_text("Sam Support asked to erase this account")
    checker.get_by_role("button", name="Approve and erase now").click()
    expect(checker.locator("main")).to_contain_text("cannot be brought back")
    checker.get_by_role("button", name="Erase the data now").click()
    expect(checker.get_by_role("status")).to_contain_text("Erasure approved and carried out.")

    # The account is anonymised, its invoices remain, and the customer cannot sign in.
    db.session.expire_all()
    account = db.session.get(Account, account_id)
    assert account.status == "closed" and account.first_name == "[erased]" and account.last_name is None
    kept = db.session.execute(db.select(Invoice).where(Invoice.account_id == account_id)).scalars().all()
    assert [i.number for i in kept] == [invoice_number]
    settle()
    again = new_context().new_page()
    again.goto("/login")
    again.get_by_label("Email").fill(email)
    again.get_by_label("Password").fill(DEFAULT_PASSWORD)
    again.get_by_role("button", name="Sign in").click()
    expect(again.get_by_text("The email address or password is not right.")).to_be_visible()
