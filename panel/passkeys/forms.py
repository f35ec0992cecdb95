"""Passkey forms. The browser's answer travels in a hidden field of an ordinary form, so the
CSRF token, the messages and the redirects are the panel's usual ones."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length

from panel.validation import plain_text


class AnswerForm(FlaskForm):
    """Signing in with a passkey: the answer is checked by the service, not here, so that an
    empty, broken or oversized one gets the service's one clear message."""

    credential = HiddenField()


class AddPasskeyForm(AnswerForm):
    name = StringField("Name of this passkey", validators=[
        DataRequired(message="Give the passkey a name, such as the device it is on."),
        Length(max=64, message="Use at most 64 characters."), plain_text],
        filters=[lambda v: v.strip() if isinstance(v, str) else v])


class RemovePasskeyForm(FlaskForm):
    passkey = HiddenField(validators=[DataRequired()])
