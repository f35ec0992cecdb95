"""Each role signs in through the real form and works in its own area, in a real browser."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from panel import demo
from panel.accounts.models import Account
from panel.auth.models import User
from panel.extensions import db
from tests.browser.helpers import expect_not_found, nav_labels, sign_in, sign_out, unlabelled_fields
from tests.browser_fixtures import settle
from tests.factories import DEFAULT_PASSWORD, Factories

pytestmark = pytest.mark.browser

# The subscriber's menu, grouped (issue 15): Overview; Services; Privacy; Account.
CLIENT_CORE = ["Overview", "Domains", "Hosting", "Billing", "Profile"]
CLIENT_PRIVACY = ["Privacy hub", "Change history"]
ROLES = {
    # role: (home path, heading there, navigation it must show in this order,
    #        other areas' paths that must answer Not found)
    "subscriber": ("/client/", re.compile(r"^Welcome, Ada$"),
                   [*CLIENT_CORE[:4], *CLIENT_PRIVACY, *CLIENT_CORE[4:]],
                   ["/admin/", "/reseller/", "/admin/plugins", "/admin/mail/"]),
    "reseller": ("/reseller/", "Your customers", ["Customers"],
                 ["/client/", "/client/profile", "/client/privacy/history", "/admin/"]),
    "staff": ("/admin/", "Customers", ["Customers"],
              ["/client/", "/reseller/", "/admin/plugins", "/admin/mail/"]),
    "admin": ("/admin/", "Customers", ["Customers", "Plugins", "Team", "Mail"],
              ["/client/", "/client/privacy/history", "/reseller/"]),
}
# Navigation that belongs to one role only: nobody else may see it.
ONLY = {"subscriber": {*CLIENT_CORE, *CLIENT_PRIVACY}, "admin": {"Plugins", "Mail", "Team"}}
#: The headings of each area's menu groups, in order (the top links stand under none).
GROUPS = {"subscriber": ["Services", "Privacy", "Account"], "reseller": ["Privacy", "Account"],
          "staff": ["Support", "Privacy", "Account"],
          "admin": ["Support", "Privacy", "Administration", "Account"]}


def assert_nav(page: Page, role: str) -> None:
    labels = nav_labels(page)
    must = ROLES[role][2]
    assert [label for label in labels if label in must] == must, labels
    foreign = set().union(*(items for owner, items in ONLY.items() if owner != role))
    assert not foreign & set(labels), f"{role} sees {foreign & set(labels)}"
    if role != "subscriber":
        assert "Customers" in labels
    menu = page.get_by_role("navigation", name="Main")
    assert [t.strip() for t in menu.locator(".group").all_inner_texts()] == GROUPS[role]
    for group in GROUPS[role]:  # each group is a list named by its heading
        expect(menu.get_by_role("list", name=group)).to_be_visible()
    current = menu.locator("[aria-current=page]")
    if current.count():  # the page itself is marked, once
        expect(current).to_have_count(1)
        assert current.get_attribute("href") == urlsplit(page.url).path


def make_user(factories: Factories, role: str, **kwargs: Any) -> User:
    if role == "subscriber":
        return factories.subscriber(**kwargs)
    if role == "reseller":
        return factories.reseller(**kwargs)
    return factories.staff(role, **kwargs)


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_signs_in_to_its_own_area(page: Page, factories: Factories, role: str) -> None:
    user = make_user(factories, role)
    email = user.email
    home, heading, nav, elsewhere = ROLES[role]
    settle()

    sign_in(page, email)
    assert page.url.endswith(home), page.url
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    assert_nav(page, role)
    expect(page.locator("header .who")).to_contain_text(f"({role})")

    for path in elsewhere:
        expect_not_found(page, path)
        # the error page still belongs to the signed-in person: own navigation, sign-out button
        assert_nav(page, role)
    page.get_by_role("navigation", name="Main").get_by_role("link", name=nav[0]).click()
    assert page.url.endswith(home)

    sign_out(page)
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    assert page.get_by_role("navigation", name="Main").count() == 0
    page.goto(home)
    assert "/login" in page.url, "a signed-out browser still reaches the area"
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_wrong_password_says_so_and_keeps_the_email(page: Page, factories: Factories) -> None:
    user = factories.subscriber()
    email = user.email
    settle()

    sign_in(page, email, "not the password")
    assert page.url.endswith("/login")
    message = page.get_by_text("The email address or password is not right.")
    expect(message).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value(email)
    expect(page.get_by_label("Password")).to_have_value("")
    password = page.get_by_label("Password")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_attribute("aria-describedby", message.get_attribute("id") or "?")

    # fixing the password is enough: the email is still there
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Welcome"))
    assert page.url.endswith("/client/")


TYPED = {"First name": "Grace", "Last name": "Hopper", "Company": "Navy Labs",
         "Phone": "12345", "Address": "1 Main Street", "Address (line 2)": "Floor 2",
         "City": "Arlington", "State or province": "Virginia", "Postal code": "22201",
         "Tax id": "US-123"}
PHONE_HELP = ("Enter the number in international form, starting with + and the country code, "
              "for example +44 20 7946 0958.")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_subscriber_corrects_a_wrong_phone_and_sees_the_change_in_history(
        new_context: Callable[..., BrowserContext], live_server: str, factories: Factories,
        javascript: bool) -> None:
    user = factories.subscriber(first_name="Ada", phone="+442079460001", city="London", country="GB")
    email = user.email
    settle()
    context = new_context(java_script_enabled=javascript)
    page = context.new_page()

    sign_in(page, email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your details")
    expect(page.get_by_label("Phone", exact=True)).to_have_value("+442079460001")
    for label, value in TYPED.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Country").select_option(label="United States")
    page.get_by_role("button", name="Save").click()

    # refused: the message sits with the phone field, and everything typed is still there
    expect(page.get_by_role("alert")).to_have_text(
        "Please correct the fields marked below; nothing was saved.")
    phone = page.get_by_label("Phone", exact=True)
    expect(phone).to_have_attribute("aria-invalid", "true")
    error = page.locator(".field", has=phone).locator(".error")
    expect(error).to_have_text(PHONE_HELP)
    expect(phone).to_have_attribute("aria-describedby", error.get_attribute("id") or "?")
    assert page.locator(".error").count() == 1, page.locator(".error").all_inner_texts()
    for label, value in TYPED.items():
        expect(page.get_by_label(label, exact=True)).to_have_value(value)
    expect(page.get_by_label("Country")).to_have_value("US")
    assert unlabelled_fields(page) == []

    # nothing was saved: the history, opened alongside, is still empty
    other = context.new_page()
    other.goto("/client/privacy/history")
    expect(other.get_by_role("cell", name="No changes recorded yet.")).to_be_visible()
    other.close()

    phone.fill("+44 20 7946 0958")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved: first name, last name, company, phone")
    assert page.url.endswith("/client/profile")
    expect(page.get_by_label("Phone", exact=True)).to_have_value("+442079460958")
    for label, value in TYPED.items():
        if label != "Phone":
            expect(page.get_by_label(label, exact=True)).to_have_value(value)
    expect(page.get_by_label("Country")).to_have_value("US")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Change history").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Changes to your data")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    fields = rows.locator("td").nth(1)  # one sentence: who, and what changed
    expect(fields).to_contain_text("You changed your details")
    for name in ("first name", "last name", "phone", "country", "tax id"):
        expect(fields).to_contain_text(name)
    sign_out(page)  # a plain form post: works without JavaScript too
    seen = context.requests_seen  # type: ignore[attr-defined]
    assert [url for url in seen if not url.startswith(live_server + "/")] == []


def test_reseller_sees_only_its_own_customers(page: Page) -> None:
    demo.seed()
    resellers = {email: db.session.execute(select(User).where(User.email.matches(email))).scalar_one()
                 for email in ("reseller1@demo.test", "reseller2@demo.test")}

    def customers(email: str) -> dict[str, tuple[str, str]]:
        return {str(a.number): (a.name, str(a.id)) for a in db.session.execute(
            select(Account).where(Account.reseller_id == resellers[email].id)).scalars()}

    own, others = customers("reseller1@demo.test"), customers("reseller2@demo.test")
    house = {str(a.number): str(a.id) for a in db.session.execute(
        select(Account).where(Account.reseller_id.is_(None))).scalars()}
    assert len(own) == len(others) == len(house) == 10
    settle()

    sign_in(page, "reseller1@demo.test", demo.DEFAULT_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your customers")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(10)
    shown = {r.locator("td").nth(0).inner_text(): r.locator("td").nth(1).inner_text()
             for r in rows.all()}
    assert shown == {number: name for number, (name, _) in own.items()}

    first = min(own, key=int)
    page.get_by_role("link", name=own[first][0]).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"#{first}")
    expect(page.locator(".facts")).to_contain_text("@demo.test")

    for account_id in [others[min(others, key=int)][1], house[min(house, key=int)]]:
        expect_not_found(page, f"/reseller/customers/{account_id}")


def test_admin_switches_the_privacy_plugin_off_and_on(new_context: Callable[..., BrowserContext],
                                                       factories: Factories) -> None:
    admin_email = factories.staff("admin").email
    subscriber_email = factories.subscriber().email
    settle()
    admin = new_context().new_page()
    subscriber = new_context().new_page()
    sign_in(admin, admin_email)
    sign_in(subscriber, subscriber_email)
    assert_nav(subscriber, "subscriber")

    admin.get_by_role("navigation", name="Main").get_by_role("link", name="Plugins").click()
    privacy = admin.locator("tbody tr", has_text="Privacy")
    expect(privacy.locator("td").nth(2)).to_have_text("active")
    privacy.get_by_role("button", name="Deactivate").click()
    expect(admin.locator("main")).to_contain_text("none of its hooks will run")  # says what happens
    admin.get_by_role("button", name="Deactivate Privacy").click()
    expect(admin.get_by_role("status")).to_have_text("Plugin privacy deactivated.")
    expect(privacy.locator("td").nth(2)).to_have_text("deactivated")

    subscriber.reload()
    assert nav_labels(subscriber) == [*CLIENT_CORE, "Security"], "the plugin's pages are still offered"
    expect_not_found(subscriber, "/client/privacy/history")

    privacy.get_by_role("button", name="Activate").click()
    expect(admin.get_by_role("status")).to_have_text("Plugin privacy activated.")
    expect(privacy.locator("td").nth(2)).to_have_text("active")

    subscriber.goto("/client/")
    assert_nav(subscriber, "subscriber")
    subscriber.get_by_role("navigation", name="Main").get_by_role("link", name="Change history").click()
    expect(subscriber.get_by_role("heading", level=1)).to_have_text("Changes to your data")


def test_p25_choosing_a_ready_made_colour_changes_the_preview_at_once_without_script(
        page: Page, factories: Factories) -> None:
    email = factories.reseller().email
    settle()
    sign_in(page, email)
    page.goto(page.url.split("/reseller/")[0] + "/reseller/branding")
    button = page.locator(".brand-preview .preview-button")
    before = button.evaluate("e => getComputedStyle(e).backgroundColor")
    page.get_by_label("Purple").check()  # no submit: CSS alone repaints the preview
    expect(button).to_have_css("background-color", "rgb(111, 66, 193)")
    assert before != "rgb(111, 66, 193)"
    page.get_by_label("The colour above").check()
    expect(button).to_have_css("background-color", before)
