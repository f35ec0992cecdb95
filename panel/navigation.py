"""Navigation entries, contributed by the core and by plugins through panel_nav_items."""

from __future__ import annotations

from dataclasses import dataclass

#: The groups of each area's menu, in the order they are shown. "" holds the links that stand
#: on their own at the top (Overview, Customers). A plugin may name a group of its own: it is
#: shown after these, in the order first named.
GROUPS: dict[str, tuple[str, ...]] = {
    "client": ("", "Services", "Privacy", "Account"),
    "reseller": ("", "Privacy", "Account"),
    "admin": ("", "Support", "Privacy", "Administration", "Account"),
}


@dataclass(frozen=True)
class NavItem:
    """A link in an area's menu. ``group`` names the heading it sits under (see GROUPS), so
    fourteen links read as four short lists, and a plugin's pages join the core's groups."""

    label: str
    endpoint: str
    order: int = 100
    group: str = ""


@dataclass(frozen=True)
class Banner:
    text: str
    action_endpoint: str | None = None  # a POST button with this label, when set
    action_label: str = ""
