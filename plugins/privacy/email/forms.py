"""Forms of email preferences: the preference centre, campaigns and partner files."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from panel.validation import plain_text
from plugins.privacy.email.services import campaigns


class PreferencesForm(FlaskForm):
    """Only the CSRF token: the switches are checkboxes named ``category`` (one per category
    the account has, which differs per account), checked in apply_form."""


class StaffPreferencesForm(FlaskForm):
    reason = StringField("Why are you changing the customer's preferences?",
                         validators=[DataRequired("Give the reason (e.g. the customer's request)."),
                                     Length(max=200), plain_text])
    ticket = StringField("Ticket", validators=[Optional(), Length(max=64), plain_text])


class CampaignForm(FlaskForm):
    category = SelectField("Send to everyone who wants", validators=[DataRequired()])
    subject = StringField("Subject", validators=[DataRequired("Write a subject."), Length(max=255),
                                                 plain_text])
    body = TextAreaField("Newsletter", validators=[
        DataRequired("Write the newsletter."), Length(max=campaigns.MAX_BODY_CHARS)])


class SendForm(FlaskForm):
    pass


class PartnerForm(FlaskForm):
    partner = StringField("Partner", validators=[DataRequired("Name the partner."),
                                                 Length(max=120), plain_text])
    purpose = StringField("Promotion", validators=[DataRequired("Name the promotion."),
                                                   Length(max=200), plain_text])
