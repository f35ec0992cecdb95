"""Business days (P26): Monday to Friday, skipping the public holidays in PUBLIC_HOLIDAYS.

The setting is checked when the app starts (panel.config.iso_dates), so a wrong entry stops
the panel with a message naming the setting instead of silently shifting deadlines.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from flask import current_app, has_app_context

from panel.config import iso_dates


def holidays(config: dict[str, Any] | None = None) -> frozenset[date]:
    """The configured public holidays (raises ConfigError, naming the setting, when wrong)."""
    if config is None:
        config = current_app.config if has_app_context() else {}
    return frozenset(iso_dates(config, "PUBLIC_HOLIDAYS"))


def add(start: date, days: int, off: Iterable[date] | None = None) -> date:
    """The date ``days`` business days after ``start`` (``start`` itself does not count)."""
    skip = frozenset(off) if off is not None else holidays()
    day, left = start, days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in skip:
            left -= 1
    return day


def between(start: date, end: date, off: Iterable[date] | None = None) -> int:
    """Business days after ``start`` up to and including ``end`` (negative when ``end`` is
    earlier): how many working days are left until a deadline."""
    skip = frozenset(off) if off is not None else holidays()
    sign, lo, hi = (1, start, end) if end >= start else (-1, end, start)
    count, day = 0, lo
    while day < hi:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in skip:
            count += 1
    return sign * count
