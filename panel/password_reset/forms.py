"""The "Forgot password?" form, the new-password form of a reset link, an admin's reset."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from panel.auth.passwords import MAX_LENGTH, MIN_LENGTH


class ForgotForm(FlaskForm):
    email = EmailField("Email", validators=[
        DataRequired(message="Enter the email address you sign in with."),
        Length(max=254, message="That is not an email address.")])


class ResetForm(FlaskForm):
    new = PasswordField("New password", validators=[
        DataRequired(), Length(min=MIN_LENGTH, max=MAX_LENGTH,
                               message=f"Use between {MIN_LENGTH} and {MAX_LENGTH} characters.")])
    confirm = PasswordField("Repeat the new password", validators=[
        DataRequired(), EqualTo("new", message="The two new passwords differ.")])
    # Shown, and required, only for an account with two-step sign-in (the view decides).
    code = StringField("Code from your authenticator app", validators=[
        Optional(), Length(max=32, message="That is not a code.")])


class TeamResetForm(FlaskForm):
    second_factor = BooleanField("Also turn off their two-step sign-in (they set it up again "
                                 "when they sign in)")
