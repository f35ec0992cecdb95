"""Field validators shared by every contact form: clear messages, nothing silently changed."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
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


# Postal-code shapes for the countries whose format is fixed and well known; elsewhere any
# short code is accepted. (A full table would be a library's job; none is kept well enough.)
POSTCODE_SHAPES: dict[str, tuple[str, str]] = {
    "US": (r"\d{5}(-\d{4})?", "12345 or 12345-6789"),
    "GB": (r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}", "SW1A 1AA"),
    "DE": (r"\d{5}", "10115"),
    "FR": (r"\d{5}", "75001"),
    "IT": (r"\d{5}", "00184"),
    "ES": (r"\d{5}", "28001"),
    "NL": (r"\d{4} ?[A-Z]{2}", "1012 AB"),
    "BE": (r"\d{4}", "1000"),
    "AT": (r"\d{4}", "1010"),
    "CH": (r"\d{4}", "8001"),
    "PL": (r"\d{2}-\d{3}", "00-950"),
    "SE": (r"\d{3} ?\d{2}", "111 22"),
    "CA": (r"[A-Z]\d[A-Z] ?\d[A-Z]\d", "K1A 0B1"),
    "AU": (r"\d{4}", "2000"),
    "JP": (r"\d{3}-?\d{4}", "100-0001"),
    "IN": (r"\d{6}", "110001"),
    "BR": (r"\d{5}-?\d{3}", "01310-100"),
    "NG": (r"\d{6}", "100001"),
}


def postcode_for_country(country_field: str) -> Callable[[Form, Field], None]:
    """Check the postal code against the shape used in the country chosen on the same form."""

    def check(form: Form, field: Field) -> None:
        value = (field.data or "").strip().upper()
        country = (getattr(form, country_field).data or "").strip().upper()
        if not value or country not in POSTCODE_SHAPES:
            return
        pattern, example = POSTCODE_SHAPES[country]
        if not re.fullmatch(pattern, value):
            raise ValidationError(f"This does not look like a postal code for {country} "
                                  f"(for example {example}).")

    return check
