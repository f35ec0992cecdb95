"""Forms of retention: closing an account, legal holds, the schedule, cookie choices."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, PasswordField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange

from plugins.privacy.retention.services import cookie_consent

REASON = [DataRequired(message="Give the reason."),
          Length(max=2000, message="At most 2,000 characters.")]


class SignOutOthersForm(FlaskForm):
    pass


class CloseForm(FlaskForm):
    password = PasswordField("Your password", validators=[
        DataRequired(message="Enter your password."), Length(max=1024)])
    understood = BooleanField("I understand my personal data will be erased after the grace "
                              "period and this cannot be undone after that.",
                              validators=[DataRequired(message="Tick the box to confirm.")])


class HoldForm(FlaskForm):
    number = IntegerField("Client number", validators=[
        DataRequired(message="Enter the client number."),
        NumberRange(min=1, max=2**31 - 1, message="Enter a client number.")])
    reason = TextAreaField("Reason (case, authority, reference)", validators=REASON)


class ReleaseForm(FlaskForm):
    hold_id = HiddenField(validators=[DataRequired()])
    release_reason = TextAreaField("Why the hold ends", validators=REASON)


class ClosureForm(FlaskForm):
    action = HiddenField(validators=[DataRequired()])


class ConsentForm(FlaskForm):
    choice = HiddenField(validators=[DataRequired(message="Choose an option."),
                                     AnyOf(cookie_consent.CHOICES, message="Choose an option.")])
    analytics = BooleanField("Analytics: the panel's own page-view counter")
    targeting = BooleanField("Targeting")
    next = HiddenField()
