"""Forms of the My data page: asking for an export, and confirming who downloads it."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from plugins.privacy.models_export import FORMATS


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
