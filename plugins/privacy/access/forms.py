"""Forms of the privacy plugin."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from panel.validation import plain_text
from plugins.privacy.access.models import CREDENTIAL_KINDS, HELP_FOR_STAFF, REASONS
from plugins.privacy.access.services.credentials import DEFAULT_DAYS, MAX_DAYS
from plugins.privacy.access.services.sessions import DEFAULT_MINUTES, MAX_MINUTES


class AccessRequestForm(FlaskForm):
    reason = SelectField("Reason", choices=[SelectChoice("", "Choose a reason"),
                                  *(SelectChoice(k, v) for k, v in REASONS.items())],
                         validators=[DataRequired(message="Choose a reason.")])
    ticket = StringField("Ticket or case reference", validators=[
        Optional(), Length(max=64, message="A ticket reference has at most 64 characters."),
        plain_text], filters=[lambda v: v.strip() if isinstance(v, str) else v])
    note = TextAreaField("Note", validators=[
        DataRequired(message="Say what you need to do."),
        Length(max=1000, message="Keep the note under 1,000 characters."), plain_text])
    minutes = IntegerField("Duration in minutes", default=DEFAULT_MINUTES, validators=[
        DataRequired(message="Give a duration."),
        NumberRange(min=5, max=MAX_MINUTES, message=f"Between 5 and {MAX_MINUTES} minutes.")])
    break_glass = BooleanField("Break glass: open without the customer's approval "
                               "(admins, legal or abuse only; the customer is told)")


class AccessSettingsForm(FlaskForm):
    require_approval = BooleanField("Require my approval before staff can open my account")
    notify_access = BooleanField("Email me when staff open my account")


class CredentialForm(FlaskForm):
    kind = SelectField("Kind", choices=[SelectChoice(k, v) for k, v in CREDENTIAL_KINDS.items()])
    label = StringField("Label", validators=[
        DataRequired(message="Give it a name you will recognise."),
        Length(max=80, message="At most 80 characters."), plain_text])
    host = StringField("Host", validators=[
        Optional(), Length(max=253, message="At most 253 characters."), plain_text])
    username = StringField("Username", validators=[
        Optional(), Length(max=128, message="At most 128 characters."), plain_text])
    secret = PasswordField("Password or key", validators=[
        DataRequired(message="The secret is required."),
        Length(max=8192, message="At most 8,192 characters.")])
    days = IntegerField("Delete it after (days)", default=DEFAULT_DAYS, validators=[
        DataRequired(message="Say when to delete it."),
        NumberRange(min=1, max=MAX_DAYS, message=f"Between 1 and {MAX_DAYS} days.")])


class StaffHelpForm(FlaskForm):
    kind = RadioField("What to do", choices=[SelectChoice(k, v) for k, v in HELP_FOR_STAFF.items()],
                       validators=[DataRequired(message="Choose what to do.")])


def _stripped(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class TrailFilterForm(FlaskForm):
    """The admin trail's filter: a GET form, so a filtered view is a link that can be shared
    (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    actor = StringField("Who (name or role)", validators=[
        Optional(), Length(max=120, message="A name has at most 120 characters."), plain_text],
        filters=[_stripped])
    account = IntegerField("Client id", validators=[
        Optional(), NumberRange(min=1, max=2**31 - 1, message="A client id is a whole number, "
                                "as shown on the customer's page.")])
    action = SelectField("What", choices=[SelectChoice("", "Anything")], validators=[Optional()])
    since = DateField("From (UTC)", validators=[Optional()])
    until = DateField("To (UTC)", validators=[Optional()])

    def validate_until(self, field: DateField) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("The end date is before the start date.")
