"""The subscriber's request to cancel a service, and withdrawing it."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectChoice
from wtforms.validators import DataRequired, InputRequired

from panel.billing.cancellation import WHEN_CHOICES


class CancelServiceForm(FlaskForm):
    when = RadioField("When should the service end?", choices=[SelectChoice(k, v) for k, v in WHEN_CHOICES],
                      validators=[InputRequired("Choose when the service should end.")])
    understood = BooleanField(
        "I understand that the site, mailboxes and files of this service stop working then.",
        validators=[DataRequired("Tick the box to confirm.")])


class KeepServiceForm(FlaskForm):
    """Only the CSRF token: the button withdraws a pending cancellation."""
