"""The subscriber's contact details, edited by the subscriber, their reseller or staff."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from panel.validation import COUNTRY_CHOICES, e164_phone, iso_country, postcode_for_country, text


class ContactForm(FlaskForm):
    first_name = text("First name", 100, required=True)
    last_name = text("Last name", 100, required=True)
    company = text("Company", 120)
    phone = text("Phone", 32, required=True, extra=[e164_phone])
    address1 = text("Address", 200)
    address2 = text("Address (line 2)", 200)
    city = text("City", 100)
    state = text("State or province", 100)
    postcode = text("Postal code", 20, extra=[postcode_for_country("country")])
    country = SelectField("Country", choices=COUNTRY_CHOICES, validators=[iso_country],
                          validate_choice=False)
    tax_id = text("Tax id", 40)


class CustomerSearchForm(FlaskForm):
    """Staff find a customer by an exact client id, email, phone or domain. Sent by POST so
    the term (often an email or a phone number) never lands in a URL: not in proxy or server
    access logs, nor in the browser's history. Odd input simply finds nothing."""

    q = StringField("Find by client id, exact email, phone (+…) or domain")
