"""Billing records and payment methods."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError

from panel.billing.models import PaymentMethod
from panel.extensions import db


def test_p03_payment_methods_have_no_place_for_a_card_number(app):
    columns = {c["name"] for c in inspect(db.engine).get_columns("payment_method")}
    assert columns == {"id", "account_id", "gateway", "gateway_token", "brand", "last4",
                       "exp_month", "exp_year", "created_at"}


def test_p03_only_four_digits_are_accepted_as_the_card_mask(factories):
    account = factories.subscriber().account
    db.session.add(PaymentMethod(account_id=account.id, gateway="stripe", gateway_token="tok",
                                 brand="visa", last4="4242424242424242", exp_month=1, exp_year=2030))
    with pytest.raises(DBAPIError):  # a CHECK violation, or "value too long" on PostgreSQL
        db.session.commit()
    db.session.rollback()


def test_p03_subscriber_sees_the_card_masked(client, factories, login_as):
    user = login_as("subscriber")
    factories.payment_method(user.account)
    page = client.get("/client/invoices").get_data(as_text=True)
    assert "visa •••• 4242 (expires 12/2030)" in page
    assert "tok_test" not in page


def test_subscriber_reads_own_invoice_with_billing_identity(client, factories, login_as):
    user = login_as("subscriber")
    invoice = factories.invoice(user.account, total_cents=12345)
    listing = client.get("/client/invoices").get_data(as_text=True)
    assert invoice.number in listing and "123.45 USD" in listing
    page = client.get(f"/client/invoices/{invoice.id}").get_data(as_text=True)
    assert user.account.name in page and "1 High Street, London" in page


def test_p04_subscriber_sees_services_domains_and_all_four_contacts(client, factories, login_as):
    user = login_as("subscriber")
    factories.service(user.account)
    domain = factories.domain(user.account, "mysite.test")
    assert "Shared hosting" in client.get("/client/services").get_data(as_text=True)
    assert "mysite.test" in client.get("/client/domains").get_data(as_text=True)
    page = client.get(f"/client/domains/{domain.id}").get_data(as_text=True)
    for role in ("Registrant", "Admin", "Tech", "Billing"):  # P04: all four contacts kept
        assert role in page
