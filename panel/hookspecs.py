"""Every hook the panel calls. A plugin implements these with ``@hookimpl`` in plugin.py.

WHMCS names, for orientation: ``_config`` -> panel_plugin_info; ``_output``/``_clientarea``
-> panel_blueprints + panel_nav_items; ClientAdd/ClientEdit/ClientLogin -> panel_account_created,
panel_account_updated, panel_user_login; DailyCronJob -> panel_jobs; EmailPreSend ->
panel_email_pre_send. The core implements some of these itself (panel/core_hooks.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from email.message import EmailMessage

    import click
    from flask import Blueprint

    from panel.accounts.models import Account
    from panel.audit import AuditEvent
    from panel.auth.models import User
    from panel.billing.models import Service
    from panel.domains.models import Domain
    from panel.jobs import Job
    from panel.mail.models import OutboxMessage
    from panel.metrics import Reading
    from panel.navigation import Banner, NavItem

PROJECT = "panel"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(firstresult=True)
def panel_plugin_info() -> dict[str, Any]:
    """Name, version and one-line description shown in the admin plugin list."""


@hookspec
def panel_blueprints() -> list[Blueprint]:
    """Blueprints to register. Routes answer 404 while the plugin is deactivated."""


@hookspec
def panel_nav_items(area: str, user: User) -> list[NavItem]:
    """Links for the navigation of ``area`` ("client", "reseller" or "admin") as ``user`` sees it.
    Each names its group (``NavItem.group``: one of ``panel.navigation.GROUPS[area]``, or a
    new one, shown after those); the menu shows the groups as short headed lists."""


@hookspec
def panel_cli_commands() -> list[click.Command]:
    """Click commands to add to the ``panel`` command line."""


@hookspec
def panel_migration_dirs() -> list[str]:
    """Folders of Alembic revisions (each plugin its own branch) for `panel db upgrade`."""


@hookspec
def panel_jobs() -> list[Job]:
    """Jobs for `panel cron`, each with how often it is due (WHMCS's DailyCronJob and more)."""


@hookspec
def panel_metrics() -> list[Reading]:
    """Gauges for `/metrics`, read from the database at scrape time (a queue's length, how
    overdue its oldest item is, when a job last succeeded). Names start ``panel_``; labels
    take a few fixed values, never an id or anything about a person."""


@hookspec
def panel_account_created(account: Account, actor: User | None) -> None:
    """A subscriber account was created (by sign-up, a reseller, staff or `panel demo`)."""


@hookspec
def panel_account_updated(account: Account, actor: User | None, fields: list[str]) -> None:
    """Account or domain-contact fields changed. ``fields`` names them; never their values."""


@hookspec
def panel_user_login(user: User, method: str) -> None:
    """A user signed in (``method``: "password", ...)."""


@hookspec
def panel_login_failed(user: User | None, method: str, reason: str) -> None:
    """A sign-in attempt failed. ``user`` is None when the address matched no account (the
    address typed is not passed on); ``reason``: "wrong_password", "suspended", "wrong_code"."""


@hookspec
def panel_account_export(account: Account) -> dict[str, Iterable[dict[str, Any]]]:
    """The subscriber asked for a copy of their data (P06): return this plugin's categories,
    each a name (e.g. "sign_ins") and its rows as flat dicts of plain values. Rows are
    written as they are produced, so return generators over paged queries, never lists of
    every row. A category named like the core's or another plugin's replaces it."""


@hookspec
def panel_email_pre_send(message: OutboxMessage, headers: dict[str, str]) -> str | None:
    """Called at delivery time. Return a reason to suppress the message, or add to ``headers``."""


@hookspec
def panel_email_footer(message: OutboxMessage) -> str | None:
    """Called at delivery time, after panel_email_pre_send let the message go: a line to add
    at the foot of the body (e.g. the link to the email preference centre), or None."""


@hookspec
def panel_email_inbound(message: EmailMessage) -> str | None:
    """`panel mail inbound` read a message sent to the panel (e.g. a mailto unsubscribe). Return
    a one-line outcome starting "done:" or "ignored:" when it was meant for you, else None."""


@hookspec
def panel_audit_event(event: AuditEvent) -> None:
    """Something privacy-relevant happened: a staff action, a view of customer data, a consent
    change... The privacy plugin appends it to the tamper-evident trail."""


@hookspec(firstresult=True)
def panel_account_access(viewer: User, account: Account, purpose: str) -> Any:
    """Before staff open ``account``'s data. Return a response (e.g. a redirect to the access
    session form) to stop them, or None to let them in. Resellers and subscribers are scoped
    by panel.tenancy before this is asked."""


@hookspec
def panel_banners(user: User) -> list[Banner]:
    """Notices shown at the top of every page for ``user`` (e.g. "acting as a customer")."""


@hookspec
def panel_page_parts(place: str) -> list[str]:
    """Templates to include on every page at ``place``: "top" (below the header, above the
    content) or "foot" (in the footer), e.g. a cookie-consent banner; or "customer" (a
    customer's page in the staff and reseller areas, ``account`` in context) and "customer-end"
    (the end of that page: dangerous actions, set apart). Each is rendered
    with the page's context, so the theme never names a plugin's template."""


@hookspec
def panel_erasure_blockers(account: Account) -> list[str]:
    """Reasons the account may not be erased now (e.g. a legal hold), in words for staff and
    the customer; an empty list lets erasure go ahead."""


@hookspec
def panel_account_erasure(account: Account, actor: User | None) -> None:
    """The account is being erased (P09): delete or anonymise this plugin's personal data for
    it, inside the caller's transaction. Billing records are the core's and stay."""


@hookspec
def panel_registrar_set_privacy(domain: Domain, enabled: bool) -> None:
    """Apply WHOIS privacy for ``domain`` at its registrar (WHMCS's IDProtectToggle) before the
    panel stores it. Raise (``panel.domains.registrar.RegistrarError`` with a message for the
    customer) to refuse: nothing is stored and WHOIS/RDAP keep publishing the old state. The
    core implements it for the panel's own registry."""


@hookspec
def panel_service_cancel(service: Service, actor: User | None) -> None:
    """A cancellation of ``service`` takes effect now (the customer asked for now, or the end
    of the paid period came in `panel cron`; ``actor`` is None then): a provisioning plugin
    terminates it at the server, inside the caller's transaction. Raise
    ``panel.billing.cancellation.ProvisioningError`` (with a message for the customer) to refuse:
    the service stays active, and cron tries again on its next run. The core implements it for
    the panel's own registry, which only marks the service cancelled."""


@hookspec
def panel_domain_sections(domain: Domain, viewer: User) -> list[str]:
    """Extra sections (HTML, already escaped: return ``Markup``) for the domain page
    ``viewer`` is looking at, e.g. the WHOIS privacy switch and the domain's history."""


@hookspec
def panel_reseller_customer_columns(reseller: User, account_ids: list[Any]) -> dict[str, dict[Any, str]]:
    """Extra columns for a reseller's customer list: ``{title: {account id: text}}``. Answer
    with one query per column for all ``account_ids``, never one query per customer."""


@hookspec
def panel_reseller_customer_sections(reseller: User, account: Account) -> list[str]:
    """Extra sections (``Markup``) for the page where a reseller manages one of its own
    customers, e.g. the customer's open data requests and removal requests to the host."""


@hookspec
def panel_demo_data(people: dict[str, User], say: Callable[[str], None]) -> None:
    """`panel demo`: add the plugin's own demo history for the demo people (by email), so its
    pages show something. Must be idempotent: a second `panel demo` adds nothing. ``say``
    reports progress."""
