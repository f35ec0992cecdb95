"""A legal complaint from opening to disclosure, in two real browsers (P20, P24): staff open
the case in an access session, the customer consents in the panel, staff disclose, the
complainant gets the data by mail, and the customer sees the disclosure."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from panel.mail.outbox import deliver_due
from tests.browser.helpers import sign_in
from tests.browser_fixtures import settle
from tests.factories import Factories

pytestmark = pytest.mark.browser


def test_p20_complaint_from_opening_to_disclosure(new_context: Callable[..., BrowserContext],
                                                  factories: Factories, app, smtp, tmp_path) -> None:
    customer = factories.subscriber(first_name="Henrietta", last_name="Swan")
    domain = factories.domain(customer.account, "swan-shop.test", privacy=True)
    registrant_email = domain.contact("registrant").email
    staff_user = factories.staff(name="Grace Support")
    ids = customer.account_id, domain.id
    emails = customer.email, staff_user.email
    settle()
    app.config["SMTP_URL"] = smtp.url
    evidence = tmp_path / "order.pdf"
    evidence.write_bytes(b"%PDF-1.4\n% trademark registration\n%%EOF\n")

    staff = new_context().new_page()
    sign_in(staff, emails[1])
    staff.goto(f"/admin/access/new/{ids[0]}")
    staff.get_by_label("Reason").select_option(label="Legal request")
    staff.get_by_label("Ticket or case reference").fill("LEGAL-7")
    staff.get_by_label("Note").fill("Trademark complaint about swan-shop.test")
    staff.get_by_role("button", name="Open session").click()
    staff.goto("/admin/complaints/")
    staff.get_by_label("Go to a domain").fill("swan-shop.test")
    staff.get_by_role("button", name="Open domain").click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text("swan-shop.test")
    staff.get_by_role("link", name="Open a complaint case").click()
    staff.get_by_label("Complainant's name").fill("Carla Claimant")
    staff.get_by_label("Complainant's email").fill("carla@law.example")
    staff.get_by_label("Legal basis").select_option(label="Trademark or intellectual property claim")
    staff.get_by_label("What the complaint says").fill("The shop copies our SWAN trademark.")
    staff.get_by_label("Documents (PDF, PNG, JPEG or text; up to 3, 4 MB each)").set_input_files(
        str(evidence))
    staff.get_by_role("button", name="Open case").click()
    expect(staff.get_by_text("the customer has until")).to_be_visible()
    expect(staff.get_by_role("link", name="order.pdf")).to_be_visible()

    shopper = new_context().new_page()
    sign_in(shopper, emails[0])
    shopper.goto(f"/client/domains/{ids[1]}")
    expect(shopper.get_by_role("heading", name="Legal complaints")).to_be_visible()
    shopper.get_by_role("link", name="Answer").click()
    expect(shopper.get_by_text("The shop copies our SWAN trademark.")).to_be_visible()
    shopper.get_by_label("I consent to disclosing my contact data to the complainant").check()
    shopper.get_by_role("button", name="Send my answer").click()
    expect(shopper.get_by_text("Your answer was recorded")).to_be_visible()

    staff.reload()
    expect(staff.get_by_role("cell", name="Customer answered: I consent")).to_be_visible()
    staff.get_by_label("Disclose the registrant's data to the complainant").check()
    staff.get_by_label("Note for the customer").fill("You consented; data sent to the complainant.")
    staff.get_by_role("button", name="Close case").click()
    expect(staff.get_by_text("Case closed: closed: contact data disclosed.")).to_be_visible()

    deliver_due()
    to_carla = [m for m in smtp.handler.messages if m["To"] == "carla@law.example"]
    assert len(to_carla) == 1
    body = to_carla[0].get_content()
    assert registrant_email in body and to_carla[0]["Subject"] == "Registrant data for swan-shop.test"

    shopper.goto(f"/client/domains/{ids[1]}")
    disclosures = shopper.get_by_role("region", name="Disclosures of your contact data")
    expect(disclosures).to_contain_text("carla@law.example")
    expect(disclosures).to_contain_text("Trademark or intellectual property claim")
    history = shopper.get_by_role("region", name="History of this domain")
    expect(history).to_contain_text("disclosed the registrant data of swan-shop.test to the complainant")
    expect(history).to_contain_text("answered the complaint about swan-shop.test")
