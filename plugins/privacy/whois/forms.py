"""Forms for WHOIS privacy: the switches, the contact relay, complaints and the service identity."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, Email, InputRequired, Length, Optional

from panel.validation import COUNTRY_CHOICES, e164_phone, iso_country, plain_text, text
from plugins.privacy.whois.models import ANSWERS, LEGAL_BASES
from plugins.privacy.whois.services.disclosure import OUTCOMES


class SwitchForm(FlaskForm):
    """One on/off switch: ``enabled`` is "1" or "0"; ``next`` is where to go back to."""

    enabled = HiddenField(validators=[InputRequired(message="Say whether to switch it on or off."),
                                      AnyOf(["1", "0"], message="The switch is either 1 or 0.")])
    next = HiddenField(validators=[Optional(), Length(max=500)])


class RelayForm(FlaskForm):
    name = text("Your name", 120, required=True)
    email = EmailField("Your email address (the registrant does not see it)", validators=[
        DataRequired(message="Your email address is required, so the registrant can answer."),
        Length(max=254), plain_text, Email(message="Enter an email address like name@example.com.")])
    message = TextAreaField("Message", validators=[
        DataRequired(message="Write your message."),
        Length(min=20, max=4000, message="Write between 20 and 4,000 characters."), plain_text])


class RelayReplyForm(FlaskForm):
    message = TextAreaField("Your answer (sent without your email address)", validators=[
        DataRequired(message="Write your answer."),
        Length(max=4000, message="Keep it under 4,000 characters."), plain_text])


class ComplaintForm(FlaskForm):
    complainant_name = text("Complainant's name", 120, required=True)
    complainant_email = EmailField("Complainant's email", validators=[
        DataRequired(message="The complainant's email is required: a disclosure goes there."),
        Length(max=254), plain_text, Email(message="Enter an email address like name@example.com.")])
    legal_basis = SelectField("Legal basis", choices=[
        SelectChoice("", "Choose…"), *(SelectChoice(k, v) for k, v in LEGAL_BASES.items())],
        validators=[DataRequired(message="Choose the legal basis of the complaint.")])
    details = TextAreaField("What the complaint says", validators=[
        DataRequired(message="Summarise the complaint; the customer reads it."),
        Length(max=4000, message="Keep it under 4,000 characters."), plain_text])
    documents = MultipleFileField("Documents (PDF, PNG, JPEG or text; up to 3, 4 MB each)")


class DocumentForm(FlaskForm):
    documents = MultipleFileField("Add documents (PDF, PNG, JPEG or text; 4 MB each)")


class AnswerForm(FlaskForm):
    answer = RadioField("Your answer", choices=[SelectChoice(k, v) for k, v in ANSWERS.items()],
                        validators=[InputRequired(message="Choose one of the answers.")])
    indemnity = BooleanField("I confirm I have contacted the complainant and I indemnify the "
                             "privacy service against claims arising from the use of the domain")
    text = TextAreaField("Details (how you contacted them, or why you dispute)", validators=[
        Length(max=4000, message="Keep it under 4,000 characters."), plain_text])


class CloseForm(FlaskForm):
    outcome = RadioField("Close the case", choices=[SelectChoice(k, v) for k, v in OUTCOMES.items()],
                         validators=[InputRequired(message="Choose how to close the case.")])
    note = TextAreaField("Note for the customer", validators=[
        DataRequired(message="Write a note for the customer saying why."),
        Length(max=2000, message="Keep it under 2,000 characters."), plain_text])


class IdentityForm(FlaskForm):
    name = text("Service name", 120, required=True)
    organization = text("Organisation", 120, required=True)
    street = text("Street", 200, required=True)
    city = text("City", 120, required=True)
    state = text("State or province", 120)
    postcode = text("Postal code", 20, required=True)
    country = SelectField("Country", choices=COUNTRY_CHOICES, validate_choice=False,
                          validators=[DataRequired(message="Country is required."), iso_country])
    phone = text("Phone", 32, required=True, extra=[e164_phone])
    web_form = text("Web form address (empty: this panel's contact form; {domain} is replaced "
                    "by the domain name)", 255)

    def validate_web_form(self, field: object) -> None:
        from wtforms.validators import ValidationError

        value = (self.web_form.data or "").strip()
        if value and not value.startswith("https://") and not value.startswith("http://"):
            raise ValidationError("Give a full web address starting with https://.")


class DomainSearchForm(FlaskForm):
    """Staff go to a domain's page by its name. Sent by POST, as the customer search is, so
    what was looked for stays out of URLs, access logs and browser history."""

    domain = StringField("Go to a domain")
