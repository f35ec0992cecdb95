"""The lockbox, in two real browsers: staff ask, the customer approves, staff look and reveal a
credential, and the customer sees all of it on "Staff access" and can end it at once."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from panel.extensions import db
from panel.mail.models import OutboxMessage
from plugins.privacy.access.models import AccountPrivacy
from tests.browser.helpers import sign_in
from tests.browser_fixtures import settle
from tests.factories import Factories

pytestmark = pytest.mark.browser

STAFF_NAME = "Grace Support"
REASON = "Customer support request"
TICKET = "T-4711"
NOTE = "Customer cannot reach their site over SSH"
SECRET = "s3cret-for-support-only"
PENDING_FLASH = ("The customer requires approval: they have been asked. "
                 "The request expires in 12 hours.")


def _people(factories: Factories) -> tuple[str, uuid.UUID, str]:
    """A customer and a staff member; returns the customer's email, account id, staff email."""
    customer = factories.subscriber(first_name="Henrietta", last_name="Swan")
    staff = factories.staff(name=STAFF_NAME)
    found = customer.email, customer.account_id, staff.email
    settle()
    return found


def _main_nav(page: Page, label: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()


def _ask_for_access(staff: Page, customer_email: str, account_id: uuid.UUID) -> None:
    """Staff find the customer by exact email, click through, and fill the session form."""
    staff.goto("/admin/")
    staff.get_by_label("Find by client id, exact email, phone (+…) or domain").fill(customer_email)
    staff.get_by_role("button", name="Search").click()
    rows = staff.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).not_to_contain_text("Henrietta")  # a masked email until a session is open
    rows.get_by_role("link").click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text("Open client #")
    assert urlsplit(staff.url).path == f"/admin/access/new/{account_id}", staff.url
    staff.get_by_label("Reason").select_option(label=REASON)
    staff.get_by_label("Ticket or case reference").fill(TICKET)
    staff.get_by_label("Note").fill(NOTE)
    staff.get_by_role("button", name="Open session").click()


def _expect_sent_to_the_form(staff: Page, account_id: uuid.UUID) -> None:
    staff.goto(f"/admin/customers/{account_id}")
    assert urlsplit(staff.url).path == f"/admin/access/new/{account_id}", staff.url
    expect(staff.get_by_role("heading", level=1)).to_contain_text("Open client #")
    expect(staff.get_by_text("Henrietta")).to_have_count(0)


def _expect_customer_page(staff: Page, account_id: uuid.UUID) -> None:
    staff.goto(f"/admin/customers/{account_id}")
    assert urlsplit(staff.url).path == f"/admin/customers/{account_id}", staff.url
    expect(staff.get_by_role("heading", level=1)).to_contain_text("Henrietta Swan")


def test_lockbox_request_approve_view_reveal_and_revoke(
        new_context: Callable[..., BrowserContext], factories: Factories) -> None:
    customer_email, account_id, staff_email = _people(factories)
    customer = new_context().new_page()
    staff = new_context().new_page()

    # The customer locks the box and leaves a credential for support.
    sign_in(customer, customer_email)
    _main_nav(customer, "Staff access")
    expect(customer.get_by_role("heading", level=1)).to_have_text("Staff access to your account")
    expect(customer.get_by_text("No staff member has asked to open your account.")).to_be_visible()
    approval = customer.get_by_label("Require my approval before staff can open my account")
    expect(approval).not_to_be_checked()
    approval.check()
    customer.get_by_role("button", name="Save").click()
    expect(customer.get_by_role("status")).to_have_text("Your staff access settings are saved.")
    expect(customer.get_by_label("Require my approval before staff can open my account")
           ).to_be_checked()

    _main_nav(customer, "Support credentials")
    expect(customer.get_by_role("heading", level=1)).to_have_text("Credentials for support")
    customer.get_by_label("Kind").select_option(label="SSH")
    customer.get_by_label("Label").fill("Support SSH login")
    customer.get_by_label("Host").fill("ssh.swan.test")
    customer.get_by_label("Username").fill("support-temp")
    customer.get_by_label("Password or key").fill(SECRET)
    customer.get_by_role("button", name="Save for support").click()
    expect(customer.get_by_role("status")).to_have_text(
        "Saved. Support can see it only inside a recorded access session.")
    saved = customer.locator("tbody tr", has_text="Support SSH login")
    expect(saved.locator("td")).to_have_text(
        ["Support SSH login", "SSH", "ssh.swan.test", "support-temp", re.compile(r"^\d{4}-"),
         "Delete now"])
    expect(customer.locator("main")).not_to_contain_text(SECRET)

    # Staff ask; the request waits for the customer, and the customer page stays shut.
    sign_in(staff, staff_email)
    _ask_for_access(staff, customer_email, account_id)
    expect(staff.get_by_role("status")).to_have_text(PENDING_FLASH)
    expect(staff.get_by_role("heading", level=1)).to_have_text("Access sessions")
    pending = staff.locator("tbody tr", has_text=TICKET)
    expect(pending.locator("td").nth(3)).to_have_text("pending")
    expect(pending.get_by_role("link", name="Credentials")).to_have_count(0)
    _expect_sent_to_the_form(staff, account_id)

    # The customer sees who asks and why, and approves.
    customer.goto("/client/privacy/access")
    request = customer.locator("section.card", has_text=TICKET)
    expect(request.get_by_role("heading", level=3)).to_have_text(f"{STAFF_NAME} (staff) · pending")
    expect(request).to_contain_text(f"{REASON} (ticket {TICKET})")
    expect(request).to_contain_text(NOTE)
    expect(request).to_contain_text("waiting for you")
    request.get_by_role("button", name="Approve").click()
    expect(customer.get_by_role("status")).to_have_text("Access approved.")
    expect(request.get_by_role("heading", level=3)).to_have_text(f"{STAFF_NAME} (staff) · active")

    # Staff now see the customer, then reveal the credential inside the session.
    _expect_customer_page(staff, account_id)
    expect(staff.locator(".facts").first).to_contain_text(customer_email)
    _main_nav(staff, "Access sessions")
    live = staff.locator("tbody tr", has_text=TICKET)
    expect(live.locator("td").nth(3)).to_have_text("active")
    live.get_by_role("link", name="Credentials").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Credentials left for support")
    row = staff.locator("tbody tr", has_text="Support SSH login")
    expect(row).not_to_contain_text(SECRET)
    row.get_by_role("button", name="Reveal").click()
    expect(staff.locator("tbody tr", has_text="Support SSH login").locator("code")
           ).to_have_text(SECRET)

    # The customer sees the decision and what was done, and ends the session.
    customer.reload()
    request = customer.locator("section.card", has_text=TICKET)
    expect(request.locator("dd", has_text="approved by you")).to_have_text(
        re.compile(r"^approved by you at \d\d:\d\d$"))
    expect(request.get_by_role("heading", level=4)).to_have_text("What they did")
    did = request.locator("li")
    expect(did.filter(has_text="account.view")).to_have_count(1)
    expect(did.filter(has_text="credential.reveal")).to_contain_text("ssh credential")
    expect(did.filter(has_text="credential.reveal")).to_contain_text("secret")
    expect(request).not_to_contain_text(SECRET)
    request.get_by_role("button", name="Revoke now").click()
    expect(customer.get_by_role("status")).to_have_text("Access revoked: the session has ended.")
    request = customer.locator("section.card", has_text=TICKET)
    expect(request.get_by_role("heading", level=3)).to_have_text(f"{STAFF_NAME} (staff) · revoked")
    expect(request).to_contain_text("(ended: revoked by the customer)")
    expect(request.get_by_role("button")).to_have_count(0)

    # Staff are shut out again: back to the form for this customer.
    _expect_sent_to_the_form(staff, account_id)
    _main_nav(staff, "Access sessions")
    expect(staff.locator("tbody tr", has_text=TICKET).locator("td").nth(3)).to_have_text("revoked")


def test_lockbox_approval_from_the_email_link(
        new_context: Callable[..., BrowserContext], factories: Factories) -> None:
    customer_email, account_id, staff_email = _people(factories)
    db.session.merge(AccountPrivacy(account_id=account_id, require_approval=True,
                                    notify_access=True))
    settle()
    staff = new_context().new_page()
    sign_in(staff, staff_email)
    _ask_for_access(staff, customer_email, account_id)
    expect(staff.get_by_role("status")).to_have_text(PENDING_FLASH)

    mail = db.session.execute(select(OutboxMessage).where(
        OutboxMessage.subject == "Support asks for access to your account")).scalar_one()
    to, body = mail.to_addr, mail.body or ""
    settle()
    assert to == customer_email
    assert f"{REASON} (ticket {TICKET})" in body
    found = re.search(r"https?://[^/\s]+(/access/approve/\S+)", body)
    assert found, body
    link = found.group(1)

    anonymous = new_context().new_page()  # the customer's mail app: nobody signed in
    anonymous.goto(link)
    expect(anonymous.get_by_role("heading", level=1)).to_have_text("Staff access request")
    facts = anonymous.locator(".facts")
    expect(facts).to_contain_text(f"{STAFF_NAME} (staff)")
    expect(facts).to_contain_text(f"{REASON} (ticket {TICKET})")
    expect(facts.locator("dd").last).to_have_text("pending")
    anonymous.get_by_role("button", name="Approve access").click()
    expect(anonymous.get_by_role("status")).to_have_text("Thank you: the request is now active.")
    expect(anonymous.locator("main").get_by_role("button")).to_have_count(0)  # nothing to decide

    anonymous.goto(link)  # the link does not decide twice
    expect(anonymous.locator(".facts dd").last).to_have_text("active")
    expect(anonymous.get_by_role("button", name="Approve access")).to_have_count(0)

    _expect_customer_page(staff, account_id)


def customer_account_uuid(account_id: uuid.UUID) -> object:
    import uuid

    return uuid.UUID(account_id)
