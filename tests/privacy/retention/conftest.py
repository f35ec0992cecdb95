"""A clock for the retention schedule: ``clock(days=31)`` moves its idea of now forward."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from panel.db_types import utcnow


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[..., datetime]:
    offset = [timedelta()]

    def now() -> datetime:
        return utcnow() + offset[0]

    for module in ("schedule", "closure", "visitor_logs"):
        monkeypatch.setattr(f"plugins.privacy.retention.services.{module}.utcnow", now)

    def advance(**delta: float) -> datetime:
        offset[0] += timedelta(**delta)
        return now()

    return advance
