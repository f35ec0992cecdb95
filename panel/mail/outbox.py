"""Queueing and delivering mail (filled in by the mail outbox work)."""

from __future__ import annotations


def deliver_due() -> str | None:
    return None
