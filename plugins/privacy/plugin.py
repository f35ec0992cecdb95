"""The privacy plugin's one integration surface: only @hookimpl functions live here."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from panel.hookspecs import hookimpl
from panel.jobs import Job
from panel.navigation import Banner, NavItem
from plugins.privacy import models  # noqa: F401 - registers the plugin's tables

if TYPE_CHECKING:
    from collections.abc import Iterable

    import click
    from flask import Blueprint

    from panel.accounts.models import Account
    from panel.audit import AuditEvent
    from panel.auth.models import User

HERE = Path(__file__).resolve().parent


@hookimpl
def panel_plugin_info() -> dict[str, Any]:
    return {"name": "privacy", "title": "Privacy", "version": "0.1.0",
            "description": "Lets customers see and control what happens to their personal data."}


@hookimpl
def panel_blueprints() -> list[Blueprint]:
    from plugins.privacy.views import admin, client, link, requests, staff
    from plugins.privacy.views import data as data_views
    from plugins.privacy.views import policy as policy_views

    return [client.bp, staff.bp, link.bp, admin.bp, requests.mine_bp, requests.staff_bp,
            policy_views.public_bp, policy_views.client_bp, policy_views.admin_bp,
            data_views.bp]


@hookimpl
def panel_migration_dirs() -> list[str]:
    return [str(HERE / "migrations" / "versions")]


@hookimpl
def panel_nav_items(area: str, user: User) -> list[NavItem]:
    if area == "client":
        return [NavItem("My data", "privacy_data.index", 50),
                NavItem("Change history", "privacy_client.history", 60),
                NavItem("Staff access", "privacy_client.staff_access", 70),
                NavItem("Support credentials", "privacy_client.credentials_page", 80),
                NavItem("Requests", "privacy_requests.mine", 90),
                NavItem("Email address", "privacy_policy_client.email", 95)]
    if area == "admin":
        items = [NavItem("Access sessions", "privacy_staff.index", 10),
                 NavItem("Data requests", "privacy_request_queue.queue", 20)]
        if user.role == "admin":
            items.append(NavItem("Audit trail", "privacy_admin.index", 70))
            items.append(NavItem("Privacy policy", "privacy_policy_admin.admin_index", 75))
        return items
    return []


@hookimpl
def panel_account_access(viewer: User, account: Account, purpose: str) -> Any:
    """Staff see an account's data only inside a live access session (P16)."""
    from flask import g, redirect, url_for

    from panel.auth.models import STAFF_ROLES
    from plugins.privacy.services import access

    if viewer.role not in STAFF_ROLES:
        return None
    live = access.live_session(viewer, account)
    if live is None:
        return redirect(url_for("privacy_staff.new", account_id=account.id))
    g.privacy_access_session = live
    return None


@hookimpl
def panel_jobs() -> list[Job]:
    from plugins.privacy.services import access, credentials, export, requests, signins
    from plugins.privacy.views.admin import VERIFY_JOB, verify_job

    return [Job("privacy.expire_access", timedelta(minutes=1), access.expire_due),
            Job("privacy.expire_credentials", timedelta(minutes=10), credentials.purge_expired),
            Job(VERIFY_JOB, timedelta(days=1), verify_job),
            Job("privacy.identity_documents", timedelta(hours=1), requests.purge_documents),
            Job("privacy.billing_retention", timedelta(days=1), requests.purge_old_billing),
            Job("privacy.export_produce", timedelta(minutes=1), export.produce_queued),
            Job("privacy.export_expire", timedelta(hours=1), export.purge_expired),
            Job("privacy.signin_retention", timedelta(days=1), signins.purge_old)]


@hookimpl
def panel_audit_event(event: AuditEvent) -> None:
    from plugins.privacy.services import trail

    trail.append(event)


@hookimpl
def panel_cli_commands() -> list[click.Command]:
    from plugins.privacy.cli import audit_group

    return [audit_group]


@hookimpl
def panel_account_erasure(account: Account, actor: User | None) -> None:
    """Erase what this plugin holds for the account; the trail stays as evidence."""
    from plugins.privacy.services import erasure

    erasure.erase_plugin_data(account)
    from plugins.privacy.services import export, signins

    signins.erase(account)
    export.erase(account)


@hookimpl
def panel_banners(user: User) -> list[Banner]:
    from flask import g

    from plugins.privacy.services.act_as import acting_staff
    from plugins.privacy.services.requests import purpose_allowed

    live = g.get("privacy_access_session")
    notices = []
    if live is not None and not purpose_allowed(live.account_id, "marketing"):
        notices.append(Banner("Processing of this account is restricted or objected to: no "
                              "marketing or analytics. Service and billing continue."))
    staff = acting_staff()
    if staff is None:
        return notices
    return notices + [Banner(f"{staff.label}, you are acting as this customer inside a recorded access "
                   "session. Everything you do is logged with both your names.",
                   "privacy_access_link.stop_acting", "Stop acting as the customer")]


@hookimpl
def panel_user_login(user: User, method: str) -> None:
    """Each sign-in goes into the history the subscriber can read (P21)."""
    from plugins.privacy.services import signins

    signins.record(user, method)


@hookimpl
def panel_account_export(account: Account) -> dict[str, Iterable[dict[str, Any]]]:
    """This plugin's own tables for the subscriber's copy of their data (P06), as generators."""
    from plugins.privacy.services import export, signins

    return {"sign_ins": signins.export_rows(account),
            "support_credentials": export.credential_rows(account),
            "staff_access": export.access_rows(account),
            "privacy_trail": export.trail_rows(account)}
