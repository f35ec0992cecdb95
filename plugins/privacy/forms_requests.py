"""Forms for data requests."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, PasswordField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from panel.validation import plain_text
from plugins.privacy.models_requests import KINDS, PURPOSES, VERIFY_METHODS


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
