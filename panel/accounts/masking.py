"""Just enough of a value to pick the right customer, and no more."""

from __future__ import annotations


def email(value: str | None) -> str:
    if not value or "@" not in value:
        return "—"
    local, _, domain = value.rpartition("@")
    return f"{local[:1]}{'•' * 3}@{domain}"
