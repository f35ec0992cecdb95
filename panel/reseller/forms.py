"""Forms of the reseller area. None of them has a reseller field: the owner is the viewer."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, PasswordField, RadioField
from wtforms.validators import DataRequired, Email, EqualTo, Length
from wtforms.widgets import ColorInput

from panel.auth.passwords import MAX_LENGTH, MIN_LENGTH
from panel.reseller.branding import SWATCHES
from panel.validation import e164_phone, text


class NewCustomerForm(FlaskForm):
    email = EmailField("Sign-in email", validators=[
        DataRequired(message="Enter the customer's email address."),
        Length(max=254, message="That address is too long."),
        Email(message="That is not a valid email address.")])
    first_name = text("First name", 100, required=True)
    last_name = text("Last name", 100, required=True)
    phone = text("Phone", 32, required=True, extra=[e164_phone])
    invite = BooleanField("Email an invitation to set a password", default=True)


class BrandForm(FlaskForm):
    name = text("Brand name", 80)
    colour = text("Colour", 32, widget=ColorInput())  # the browser's colour picker; no script
    swatch = RadioField("Or choose a ready-made colour (the preview changes at once)",
                        choices=[("", "The colour above")] + list(SWATCHES), default="",
                        validate_choice=True)
    slug = text("Sign-in address for your customers: /login/…", 40)
    support_email = text("Support and privacy contact email", 254)
    privacy_url = text("Privacy policy address (https://…)", 500)
    logo = FileField("Logo (PNG, JPEG or GIF, up to 200 kB and 800×400 pixels)")
    remove_logo = BooleanField("Remove the current logo")


class InvitePasswordForm(FlaskForm):
    new = PasswordField("Choose a password", validators=[
        DataRequired(message="Choose a password."),
        Length(min=MIN_LENGTH, max=MAX_LENGTH,
               message=f"Use between {MIN_LENGTH} and {MAX_LENGTH} characters.")])
    confirm = PasswordField("Repeat the password", validators=[
        DataRequired(message="Repeat the password."),
        EqualTo("new", message="The two passwords differ.")])
