"""Navigation entries, contributed by the core and by plugins through panel_nav_items."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    order: int = 100


@dataclass(frozen=True)
class Banner:
    text: str
    action_endpoint: str | None = None  # a POST button with this label, when set
    action_label: str = ""
