"""Navigation entries, contributed by the core and by plugins through panel_nav_items."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    order: int = 100
