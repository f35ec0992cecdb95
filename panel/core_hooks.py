"""The core implements its own hooks, so core and plugins extend the panel the same way."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from flask import Blueprint

from panel import metrics, paths
from panel.admin.views import bp as admin
from panel.auth.views import bp as auth
from panel.billing import cancellation
from panel.client.views import bp as client
from panel.commands import core_commands
from panel.domains.registrar import own_registry_set_privacy
from panel.hookspecs import hookimpl
from panel.jobs import Job
from panel.keys.cli import reencrypt_job
from panel.mail.outbox import deliver_due
from panel.mail.views import bp as mail
from panel.monitoring import bp as monitoring
from panel.navigation import NavItem
from panel.passkeys import services as passkeys_services
from panel.passkeys.views import bp as passkeys
from panel.password_reset.services import send_requested
from panel.password_reset.views import admin_bp as password_reset_admin
from panel.password_reset.views import bp as password_reset
from panel.public import bp as public
from panel.reseller import branding
from panel.reseller.views import bp as reseller
from panel.reseller.views import branding_bp, invite_bp
from panel.security.views import bp as security
from panel.sessions.services import purge_idle
from panel.sessions.views import bp as sessions

if TYPE_CHECKING:
    import click

    from panel.accounts.models import Account
    from panel.auth.models import User
    from panel.billing.models import Service
    from panel.domains.models import Domain
    from panel.mail.models import OutboxMessage


@hookimpl
def panel_blueprints() -> list[Blueprint]:
    return [public, auth, client, reseller, admin, mail, branding_bp, invite_bp, security,
            password_reset, password_reset_admin, sessions, passkeys, monitoring]


@hookimpl
def panel_migration_dirs() -> list[str]:
    return [str(paths.MIGRATIONS / "versions")]


@hookimpl
def panel_cli_commands() -> list[click.Command]:
    return core_commands()


@hookimpl
def panel_jobs() -> list[Job]:
    return [Job("password_reset.send", timedelta(minutes=1), send_requested),  # before mail.send
            Job("mail.send", timedelta(minutes=1), deliver_due),
            Job("crypto.reencrypt", timedelta(minutes=5), reencrypt_job),
            Job("billing.cancellations", timedelta(hours=1), cancellation.run_job),
            Job("sessions.purge", timedelta(hours=1), purge_idle)]


@hookimpl
def panel_email_pre_send(message: OutboxMessage, headers: dict[str, str]) -> str | None:
    """Mail to a reseller's customer goes out under the reseller's name (white label)."""
    branding.email_pre_send(message, headers)
    return None


@hookimpl
def panel_login_failed(user: User | None, method: str, reason: str) -> None:
    """Counted for /metrics: a rise is an attack or a broken sign-in page."""
    metrics.signin_failed(method, reason)


@hookimpl
def panel_nav_items(area: str, user: User) -> list[NavItem]:
    if area == "client":
        return [NavItem("Overview", "client.dashboard", 0),
                NavItem("Domains", "client.domains", 20, "Services"),
                NavItem("Hosting", "client.services", 30, "Services"),
                NavItem("Billing", "client.invoices", 40, "Services"),
                NavItem("Profile", "client.profile", 10, "Account"),
                NavItem("Security", "security.index", 95, "Account")]
    if area == "reseller":
        return [NavItem("Customers", "reseller.dashboard", 0),
                NavItem("Branding", "reseller.brand_settings", 80, "Account"),
                NavItem("Security", "security.index", 95, "Account")]
    if area == "admin":
        items = [NavItem("Customers", "admin.dashboard", 0)]
        if user.role == "admin":
            items += [NavItem("Plugins", "admin.plugins", 80, "Administration"),
                      NavItem("Mail", "admin_mail.index", 90, "Administration"),
                      # staff password resets
                      NavItem("Team", "password_reset_admin.team", 85, "Administration")]
        return [*items, NavItem("Security", "security.index", 95, "Account")]
    return []


@hookimpl
def panel_registrar_set_privacy(domain: Domain, enabled: bool) -> None:
    """The panel's own registry publishes what is stored; it only refuses frozen domains."""
    own_registry_set_privacy(domain, enabled)


@hookimpl
def panel_service_cancel(service: Service, actor: User | None) -> None:
    """The panel's own registry provisions nothing: it marks the service cancelled."""
    cancellation.own_registry_cancel(service)


@hookimpl
def panel_account_erasure(account: Account, actor: User | None) -> None:
    """An erased account's passkeys cannot sign in to its tombstone."""
    passkeys_services.erase_account(account.id)
