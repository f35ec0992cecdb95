"""Just enough of a value to pick the right customer, and no more.

Staff choose a customer before an access session lets them read the data, so lists show a
masked email and name. The first and last character of the local part (and of each name)
tell ``c•••1@demo.test`` from ``c•••2@demo.test`` without showing the address.
"""

from __future__ import annotations

DOTS = "•••"


def _word(word: str) -> str:
    """First and last character around a fixed run of dots; the length is not revealed."""
    if len(word) <= 1:
        return f"{word}{DOTS}"
    return f"{word[0]}{DOTS}{word[-1]}"


def email(value: str | None) -> str:
    if not value or "@" not in value:
        return "—"
    local, _, domain = value.rpartition("@")
    return f"{_word(local)}@{domain}"


def name(value: str | None) -> str:
    """Each word of a person's name masked the same way as an email's local part."""
    words = (value or "").split()
    return " ".join(_word(w) for w in words) if words else "—"
