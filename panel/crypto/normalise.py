"""Normal forms for blind indexes: equal inputs must give equal index values."""

from __future__ import annotations

import contextlib

import idna
import phonenumbers


def email(value: str) -> str:
    """Trimmed, lower-cased, with the domain in IDNA (punycode) form."""
    value = value.strip().lower()
    local, at, domain = value.rpartition("@")
    if not at:
        return value
    with contextlib.suppress(idna.IDNAError):  # not a valid IDN: index it as typed
        domain = idna.encode(domain, uts46=True).decode("ascii")
    return f"{local}@{domain}"


def phone(value: str) -> str:
    """E.164 where the number parses, otherwise its digits with a leading + kept."""
    value = value.strip()
    try:
        parsed = phonenumbers.parse(value, None)
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        digits = "".join(ch for ch in value if ch.isdigit())
        return ("+" if value.startswith("+") else "") + digits
