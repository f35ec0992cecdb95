"""No dead ends (issue 14): a message that sends a customer to support names where to write:
the customer's reseller's support address (the white label), else the house's."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from panel.accounts.services import support_address
from panel.extensions import db
from panel.mail.models import OutboxMessage
from panel.reseller import branding


def test_the_house_address_comes_from_the_setting_else_from_the_mail_domain(app, factories):
    house = factories.subscriber()
    app.config["MAIL_FROM"] = "Example Hosting <no-reply@example-hosting.test>"
    app.config["SUPPORT_EMAIL"] = None
    assert support_address(house.account) == "support@example-hosting.test"
    app.config["SUPPORT_EMAIL"] = "help@example-hosting.test"
    assert support_address(house.account) == "help@example-hosting.test"
    assert support_address() == "help@example-hosting.test"


def test_a_resellers_customer_is_sent_to_the_resellers_own_support(app, factories):
    reseller = factories.reseller(name="Harbour Web")
    customer = factories.subscriber(reseller=reseller)
    app.config["SUPPORT_EMAIL"] = "help@example-hosting.test"
    assert support_address(customer.account) == "help@example-hosting.test"  # none set yet
    branding.save(reseller, name="Harbour Web", colour=None, support_email="care@harbour.test",
                  privacy_url=None)
    assert support_address(customer.account) == "care@harbour.test"


@pytest.mark.needs_privacy
def test_p09_the_closure_mail_names_the_support_address_to_reopen(app, factories):
    from plugins.privacy.retention.services import closure

    reseller = factories.reseller(name="Harbour Web")
    branding.save(reseller, name="Harbour Web", colour=None, support_email="care@harbour.test",
                  privacy_url=None)
    customer = factories.subscriber(reseller=reseller)
    closure.close(customer.account, customer)
    db.session.commit()
    [mail] = db.session.execute(select(OutboxMessage).where(
        OutboxMessage.subject == "Your hosting panel account is closed")).scalars().all()
    assert "write to care@harbour.test to reopen" in (mail.body or "").replace("\n", " ")
