"""The privacy plugin's one integration surface: only @hookimpl functions live here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from panel.hookspecs import hookimpl
from panel.navigation import NavItem
from plugins.privacy import models  # noqa: F401 - registers the plugin's tables

if TYPE_CHECKING:
    import click
    from flask import Blueprint

    from panel.audit import AuditEvent
    from panel.auth.models import User

HERE = Path(__file__).resolve().parent


@hookimpl
def panel_plugin_info() -> dict[str, Any]:
    return {"name": "privacy", "title": "Privacy", "version": "0.1.0",
            "description": "Lets customers see and control what happens to their personal data."}


@hookimpl
def panel_blueprints() -> list[Blueprint]:
    from plugins.privacy.views.client import bp

    return [bp]


@hookimpl
def panel_migration_dirs() -> list[str]:
    return [str(HERE / "migrations" / "versions")]


@hookimpl
def panel_nav_items(area: str, user: User) -> list[NavItem]:
    if area == "client":
        return [NavItem("Change history", "privacy_client.history", 60)]
    return []


@hookimpl
def panel_audit_event(event: AuditEvent) -> None:
    from plugins.privacy.services import trail

    trail.append(event)


@hookimpl
def panel_cli_commands() -> list[click.Command]:
    from plugins.privacy.cli import audit_group

    return [audit_group]
