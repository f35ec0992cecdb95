"""The current consent: the one definition, asked by the preference service (``preference``)
and read as a column of a one-click link's lookup (``unsubscribe``), which the preference
service itself imports (mail headers), so the definition lives below both."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from plugins.privacy.email.models import ConsentEvent


def latest_query(account_id: Any, key: Any) -> Select[tuple[bool]]:
    """The account's current choice for one category: the ``granted`` of its latest consent
    event (no row: no choice yet, and ``preferences.default_for`` applies)."""
    return (select(ConsentEvent.granted)
            .where(ConsentEvent.account_id == account_id, ConsentEvent.category == key)
            .order_by(ConsentEvent.at.desc()).limit(1))
