"""Forms of the Security page. Each sensitive change asks for the password again: a browser
left signed in must not be enough to weaken the account."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from panel.auth.passwords import MAX_LENGTH

CODE_LABEL = "Code from your authenticator app"
CODE_OR_RECOVERY_LABEL = "Code from your authenticator app, or a recovery code"


class RegenerateCodesForm(FlaskForm):
    password = PasswordField("Your password", validators=[
        DataRequired(message="Enter your password."), Length(max=MAX_LENGTH)])


class TurnOffForm(FlaskForm):
    password = PasswordField("Your password", validators=[
        DataRequired(message="Enter your password."), Length(max=MAX_LENGTH)])
    code = StringField(CODE_LABEL, validators=[
        DataRequired(message="Enter the code."), Length(max=32, message="That is not a code.")])


class CodesForm(FlaskForm):
    """The codes just shown, posted back for a download or a print view (only the ones still
    unused are given back)."""

    codes = HiddenField(validators=[DataRequired(), Length(max=400)])
