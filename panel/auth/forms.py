"""Sign-in and password forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from panel.auth.passwords import MAX_LENGTH, MIN_LENGTH


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)])


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
    new = PasswordField("New password", validators=[
        DataRequired(), Length(min=MIN_LENGTH, max=MAX_LENGTH,
                               message=f"Use between {MIN_LENGTH} and {MAX_LENGTH} characters.")])
    confirm = PasswordField("Repeat the new password", validators=[
        DataRequired(), EqualTo("new", message="The two new passwords differ.")])


class CodeForm(FlaskForm):
    # The sign-in step mentions recovery codes only to someone who has some (auth.verify).
    code = StringField("Code from your authenticator app", validators=[
        DataRequired(message="Enter the code."), Length(max=32, message="That is not a code.")])
