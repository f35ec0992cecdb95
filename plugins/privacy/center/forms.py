"""Forms of the privacy center: exports, the policy and sign-up, the email address, requests."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Field,
    Form,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from panel.auth.passwords import MAX_LENGTH, MIN_LENGTH
from panel.validation import e164_phone, plain_text, text
from plugins.privacy.center.models import FORMATS, KINDS, VERIFY_METHODS
from plugins.privacy.center.services.policy import MAX_BODY_CHARS, MAX_SUMMARY_CHARS
from plugins.privacy.center.services.signup import MINIMUM_AGE, UNDER_AGE
from plugins.privacy.email.services import preferences as email_prefs
from plugins.privacy.processing.models import PURPOSES


class ExportRequestForm(FlaskForm):
    format = SelectField("Format", choices=[SelectChoice(k, v) for k, v in FORMATS.items()],
                         validators=[DataRequired(message="Choose a format.")])


class DownloadForm(FlaskForm):
    """The password again (and a code where two-factor sign-in is on): a session left open
    on a shared computer must not be enough to take away everything we hold."""
    password = PasswordField("Your password", validators=[
        DataRequired(message="Enter your password."), Length(max=1024)])
    code = StringField("Code from your authenticator app (or a recovery code)", validators=[
        Optional(), Length(max=32, message="A code has at most 32 characters.")],
        filters=[lambda v: v.strip() if isinstance(v, str) else v])


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _email_field(label: str) -> EmailField:
    return EmailField(label, filters=[_strip], validators=[
        DataRequired(message="Enter an email address."),
        Length(max=254, message="An email address has at most 254 characters."), plain_text,
        Email(message="Enter a valid email address, like name@example.com.",
              check_deliverability=False)])


def multiline_text(form: Form, field: Field) -> None:
    """Like plain_text, but line breaks and tabs are part of a text block."""
    value = field.data or ""
    stripped = value.replace("\r", "").replace("\n", "").replace("\t", "")
    probe = type("Probe", (), {"data": stripped, "name": field.name})()
    plain_text(form, probe)  # type: ignore[arg-type]


def _no_surrounding_spaces(form: Form, field: Field) -> None:
    """Passwords are kept exactly as typed; a stray space is almost always a mistake."""
    if field.data and field.data != field.data.strip():
        raise ValidationError("Remove the spaces at the start or end of the password.")


class SignupForm(FlaskForm):
    first_name = text("First name", 100, required=True)
    last_name = text("Last name", 100, required=True)
    email = _email_field("Email")
    phone = text("Contact phone number", 32, required=True, extra=[e164_phone],
                 description="International form, for example +44 20 7946 0958.")
    password = PasswordField("Password", validators=[
        DataRequired(message="Choose a password."),
        Length(min=MIN_LENGTH, max=MAX_LENGTH,
               message=f"Use between {MIN_LENGTH} and {MAX_LENGTH} characters."),
        _no_surrounding_spaces])
    confirm = PasswordField("Repeat the password", validators=[
        DataRequired(message="Type the password again."),
        EqualTo("password", message="The two passwords differ.")])
    old_enough = BooleanField(f"I am {MINIMUM_AGE} or older", validators=[
        DataRequired(message=UNDER_AGE)])
    # Optional marketing consent (P12, P13): each box is one category, labelled with the exact
    # notice whose hash is recorded as evidence; unknown values fail validation.
    marketing = SelectMultipleField("Email I would like (optional)", choices=[],
                                    widget=ListWidget(prefix_label=False),
                                    option_widget=CheckboxInput(), validate_choice=True)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        offered = [c for c in email_prefs.HOUSE if c.marketing]
        self.marketing.choices = [(c.key, c.notice) for c in offered]
        if not self.is_submitted():  # opt-out mode: the boxes start ticked
            self.marketing.data = [c.key for c in offered if email_prefs.default_for(c)]


class PublishForm(FlaskForm):
    body = TextAreaField("Policy text (Markdown)", validators=[
        DataRequired(message="The policy text is empty."),
        Length(max=MAX_BODY_CHARS, message=f"At most {MAX_BODY_CHARS:,} characters."), multiline_text])
    summary = TextAreaField("What changed, in a sentence or two", filters=[_strip], validators=[
        DataRequired(message="Say what changed."),
        Length(max=MAX_SUMMARY_CHARS, message=f"At most {MAX_SUMMARY_CHARS} characters."),
        multiline_text])
    material = BooleanField("Significant change: email every subscriber in advance and ask "
                            "each to accept it when it takes effect")
    effective_on = DateField("Takes effect on", validators=[Optional()],
                             description="Leave empty for today, or 30 days ahead for a "
                                         "significant change.")


class AcceptForm(FlaskForm):
    """The button is the acceptance; the version number makes sure it is of the text shown."""
    version = HiddenField()


class EmailChangeForm(FlaskForm):
    email = _email_field("New email address")
    password = PasswordField("Your current password", validators=[
        DataRequired(message="Enter your current password."),
        Length(max=MAX_LENGTH, message="That is not your current password.")])


class ConfirmForm(FlaskForm):
    """Only the CSRF token: confirming changes state, so it is a POST, never the GET a mail
    scanner might fetch."""


def _choices(items: dict[str, str], prompt: str) -> list[SelectChoice]:
    return [SelectChoice("", prompt), *(SelectChoice(k, v) for k, v in items.items())]


class RequestForm(FlaskForm):
    kind = SelectField("What are you asking for?", choices=_choices(KINDS, "Choose…"),
                       validators=[DataRequired(message="Choose what you are asking for.")])
    purpose = SelectField("If you object: to what?", choices=_choices(PURPOSES, "—"),
                          validate_choice=False)
    details = TextAreaField("Details", validators=[
        Length(max=2000, message="Keep it under 2,000 characters."), plain_text])
    confirm_erasure = BooleanField("I understand that erasure cannot be undone: my profile, "
                                   "domain contacts, saved cards and sign-in will be deleted")
    password = PasswordField("Your password, to confirm it is you",
                             validators=[DataRequired(message="Enter your password."),
                                         Length(max=1024)])


class StaffRequestForm(FlaskForm):
    kind = SelectField("Request", choices=_choices(KINDS, "Choose…"),
                       validators=[DataRequired(message="Choose the kind of request.")])
    purpose = SelectField("Objection to", choices=_choices(PURPOSES, "—"), validate_choice=False)
    channel = SelectField("Received by", choices=[SelectChoice("email", "Email"),
                                                  SelectChoice("phone", "Phone"),
                                                  SelectChoice("post", "Post")])
    details = TextAreaField("What they asked", validators=[
        Length(max=2000, message="Keep it under 2,000 characters."), plain_text])


class VerifyForm(FlaskForm):
    method = SelectField("How was the requester's identity checked?",
                         choices=_choices(VERIFY_METHODS, "Choose…"),
                         validators=[DataRequired(message="Choose how identity was checked.")])


class DocumentForm(FlaskForm):
    document = FileField("Identity document (PDF, PNG or JPEG, up to 5 MB)")


class RefuseForm(FlaskForm):
    reason = TextAreaField("Reason (the customer reads this)", validators=[
        DataRequired(message="Give the reason; the customer will read it."),
        Length(max=1000, message="Keep it under 1,000 characters."), plain_text])


class RejectErasureForm(FlaskForm):
    """A second staff member says no to an erasure; the reason stays with the approval."""
    reject_reason = TextAreaField("Why not (for the staff who asked)", validators=[
        DataRequired(message="Say why the erasure is rejected."),
        Length(max=1000, message="Keep it under 1,000 characters."), plain_text])
