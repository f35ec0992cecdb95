"""A domain's registration contact (registrant, admin, tech or billing)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField
from wtforms.validators import DataRequired, Email, Length

from panel.validation import COUNTRY_CHOICES, e164_phone, iso_country, plain_text, postcode_for_country, text


class DomainContactForm(FlaskForm):
    name = text("Name", 120, required=True)
    organization = text("Organization", 120)
    email = EmailField("Email", validators=[
        DataRequired(message="Email is required."), Length(max=254), plain_text,
        Email(message="Enter an email address like name@example.com.")])
    phone = text("Phone", 32, required=True, extra=[e164_phone])
    street = text("Street", 200, required=True)
    city = text("City", 100, required=True)
    state = text("State or province", 100)
    postcode = text("Postal code", 20, extra=[postcode_for_country("country")])
    country = SelectField("Country", choices=COUNTRY_CHOICES,
                          validators=[DataRequired(message="Country is required."), iso_country],
                          validate_choice=False)
