"""Done when (issue 9): reseller1 corrects a customer, switches WHOIS privacy and answers the
customer's export request in a real browser; reseller2 finds none of that customer."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from panel.accounts.models import Account
from panel.domains.models import Domain
from panel.extensions import db
from plugins.privacy.center.models import READY, DataExport, DataRequest
from plugins.privacy.center.services import requests as requests_service
from tests.browser.helpers import expect_not_found, sign_in
from tests.browser_fixtures import settle

pytestmark = pytest.mark.browser


def test_p25_reseller1_corrects_a_customer_switches_privacy_and_answers_an_export(
        page: Page, resellers) -> None:
    r = requests_service.file(resellers.a1, resellers.c1, kind="export",
                              verified_by="panel-password")
    request_id, domain_id, account_id = r.id, resellers.d1.id, resellers.a1.id
    email = resellers.r1.email
    settle()

    sign_in(page, email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your customers")
    expect(page.get_by_role("main")).not_to_contain_text("Dieter")
    page.get_by_role("link", name="Carla Oneclient").click()

    page.get_by_label("City").fill("Leeds")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved: city.")
    expect(page.get_by_label("City")).to_have_value("Leeds")

    page.get_by_role("button", name="Turn privacy off for carla-one.test").click()
    expect(page.get_by_role("button", name="Turn privacy on for carla-one.test")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Data requests").click()
    page.get_by_role("link", name=re.compile("A copy of my data")).click()
    page.get_by_label("Format of the copy").select_option("json")
    page.get_by_role("button", name="Make the copy and fulfil").click()
    expect(page.get_by_role("status")).to_contain_text("Request fulfilled")

    settle()
    assert db.session.get(Account, account_id).city == "Leeds"
    assert db.session.get(Domain, domain_id).privacy_enabled is False
    assert db.session.get(DataRequest, request_id).status == "fulfilled"
    export = db.session.execute(select(DataExport).where(DataExport.account_id == account_id)
                                ).scalar_one()
    assert (export.format, export.status) == ("json", READY)
    settle()


def test_p25_reseller2_finds_none_of_reseller1s_customers(page: Page, resellers) -> None:
    r = requests_service.file(resellers.a1, resellers.c1, kind="export",
                              verified_by="panel-password")
    paths = [f"/reseller/customers/{resellers.a1.id}", f"/reseller/domains/{resellers.d1.id}",
             f"/reseller/domains/{resellers.d1.id}/contacts/admin",
             f"/reseller/privacy/requests/{r.id}"]
    email = resellers.r2.email
    settle()

    sign_in(page, email)
    main = page.get_by_role("main")
    expect(main).to_contain_text("Dieter Twoclient")
    expect(main).not_to_contain_text("Carla")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Data requests").click()
    expect(page.get_by_role("main")).not_to_contain_text("A copy of my data")
    for path in paths:
        expect_not_found(page, path)
