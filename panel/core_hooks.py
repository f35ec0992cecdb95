"""The core implements its own hooks, so core and plugins extend the panel the same way."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from flask import Blueprint

from panel import paths
from panel.admin.views import bp as admin
from panel.auth.views import bp as auth
from panel.client.views import bp as client
from panel.commands import core_commands
from panel.domains.registrar import own_registry_set_privacy
from panel.hookspecs import hookimpl
from panel.jobs import Job
from panel.keys.cli import reencrypt_job
from panel.mail.outbox import deliver_due
from panel.mail.views import bp as mail
from panel.navigation import NavItem
from panel.passkeys import services as passkeys_services
from panel.passkeys.views import bp as passkeys
from panel.public import bp as public
from panel.reseller.views import bp as reseller
from panel.reseller.views import branding_bp, invite_bp

if TYPE_CHECKING:
    import click

    from panel.accounts.models import Account
    from panel.auth.models import User
    from panel.domains.models import Domain


@hookimpl
def panel_blueprints() -> list[Blueprint]:
    return [public, auth, client, reseller, admin, mail, branding_bp, invite_bp, passkeys]


@hookimpl
def panel_migration_dirs() -> list[str]:
    return [str(paths.MIGRATIONS / "versions")]


@hookimpl
def panel_cli_commands() -> list[click.Command]:
    return core_commands()


@hookimpl
def panel_jobs() -> list[Job]:
    return [Job("mail.send", timedelta(minutes=1), deliver_due),
            Job("crypto.reencrypt", timedelta(minutes=5), reencrypt_job)]


@hookimpl
def panel_nav_items(area: str, user: User) -> list[NavItem]:
    if area == "client":
        return [NavItem("Overview", "client.dashboard", 0), NavItem("Profile", "client.profile", 10),
                NavItem("Domains", "client.domains", 20), NavItem("Services", "client.services", 30),
                NavItem("Billing", "client.invoices", 40)]
    if area == "reseller":
        return [NavItem("Customers", "reseller.dashboard", 0),
                NavItem("Branding", "reseller.brand_settings", 80)]
    if area == "admin":
        items = [NavItem("Customers", "admin.dashboard", 0)]
        if user.role == "admin":
            items += [NavItem("Plugins", "admin.plugins", 80), NavItem("Mail", "admin_mail.index", 90)]
        return items
    return []


@hookimpl
def panel_registrar_set_privacy(domain: Domain, enabled: bool) -> None:
    """The panel's own registry publishes what is stored; it only refuses frozen domains."""
    own_registry_set_privacy(domain, enabled)


@hookimpl
def panel_account_erasure(account: Account, actor: User | None) -> None:
    """An erased account's passkeys cannot sign in to its tombstone."""
    passkeys_services.erase_account(account.id)
