"""Forms of the reseller's privacy pages: removal requests to the host."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, TextAreaField
from wtforms.validators import Length

from panel.validation import plain_text
from plugins.privacy.center.models import FORMATS


class FulfilForm(FlaskForm):
    format = SelectField("Format of the copy", choices=[SelectChoice(k, v) for k, v in FORMATS.items()],
                         default="zip")


class RemovalForm(FlaskForm):
    note = TextAreaField("What should the host remove, and why? (optional)", validators=[
        Length(max=1000, message="Keep it under 1,000 characters."), plain_text])
