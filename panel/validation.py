"""Field validators shared by every contact form: clear messages, nothing silently changed."""

from __future__ import annotations

import unicodedata
from typing import Any

import phonenumbers
import pycountry
from flask import g, has_request_context
from wtforms import Field, Form, SelectChoice, StringField
from wtforms.validators import Length, Optional, ValidationError


def _countries() -> list[tuple[str, str]]:
    return sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda c: c[1])


COUNTRIES = _countries()
COUNTRY_CODES = frozenset(code for code, _ in COUNTRIES)
COUNTRY_CHOICES = [SelectChoice("", "—"), *(SelectChoice(code, name) for code, name in COUNTRIES)]


def plain_text(form: Form, field: Field) -> None:
    """Refuse control characters and invalid Unicode: they break mail, WHOIS and exports."""
    value = field.data or ""
    if has_request_context() and field.name in g.get("undecodable_fields", ()):
        raise ValidationError("This contains characters that are not valid text.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("This contains characters that are not valid text.") from None
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValidationError("This contains control characters; remove them.")
    if "\ufffd" in value:  # what undecodable bytes became on the way in
        raise ValidationError("This contains characters that are not valid text.")


def e164_phone(form: Form, field: Field) -> None:
    """Accept an international number (+ and country code) and store it in E.164."""
    value = (field.data or "").strip()
    if not value:
        return
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            "Enter the number in international form, starting with + and the country code, "
            "for example +44 20 7946 0958.") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("This is not a valid phone number for its country code.")
    field.data = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def iso_country(form: Form, field: Field) -> None:
    value = (field.data or "").strip().upper()
    if not value:
        return
    if value not in COUNTRY_CODES:
        raise ValidationError("Choose a country from the list (a two-letter ISO 3166 code).")
    field.data = value


def text(label: str, max_length: int = 100, required: bool = False, **kw: Any) -> StringField:
    from wtforms.validators import DataRequired

    first = DataRequired(message=f"{label} is required.") if required else Optional()
    return StringField(label, validators=[
        first, Length(max=max_length, message=f"{label} can be at most {max_length} characters."),
        plain_text, *kw.pop("extra", [])], filters=[lambda v: v.strip() if isinstance(v, str) else v],
        **kw)
