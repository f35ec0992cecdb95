"""Builds the navigation for the area the current page belongs to."""

from __future__ import annotations

from flask import request, url_for
from flask_login import current_user

from panel.hooks import hook
from panel.navigation import GROUPS, Banner, NavItem

AREAS = {"client": "client", "reseller": "reseller", "admin": "admin", "admin_mail": "admin"}
HOME = {"subscriber": "client", "reseller": "reseller", "staff": "admin", "admin": "admin"}


def area() -> str | None:
    blueprint = (request.blueprint or "").split(".")[0]
    if blueprint in AREAS:
        return AREAS[blueprint]
    if current_user.is_authenticated:
        return HOME.get(current_user.role)
    return None


def banners() -> list[Banner]:
    if not current_user.is_authenticated:
        return []
    return [b for group in hook().panel_banners(user=current_user) for b in group]


def page_parts(place: str) -> list[str]:
    """The templates plugins add to every page at ``place`` (panel_page_parts)."""
    return [name for group in hook().panel_page_parts(place=place) for name in group or ()]


def menu() -> list[dict[str, object]]:
    """The signed-in person's menu as groups, each ``{"name", "links"}``; a link is
    ``{"label", "url", "current"}``. Known groups come in GROUPS' order, others after them."""
    if not current_user.is_authenticated:
        return []
    where = HOME.get(current_user.role) or ""
    items: list[NavItem] = [i for group in hook().panel_nav_items(area=where, user=current_user)
                            for i in group]
    names = list(GROUPS.get(where, ("",)))
    names += [i.group for i in items if i.group not in names]
    groups = []
    for name in dict.fromkeys(names):
        links = [{"label": i.label, "url": url_for(i.endpoint), "current": request.endpoint == i.endpoint}
                 for i in sorted(items, key=lambda i: i.order) if i.group == name]
        if links:
            groups.append({"name": name, "links": links})
    return groups
