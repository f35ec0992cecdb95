"""The privacy plugin's one integration surface: only @hookimpl functions live here."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from panel.hookspecs import hookimpl
from panel.jobs import Job
from panel.navigation import Banner, NavItem
from plugins.privacy import (
    models,  # noqa: F401 - registers the plugin's tables
    models_retention,  # noqa: F401 - retention, activity, consent tables
    models_whois,  # noqa: F401 - WHOIS privacy, relay, complaints
)

if TYPE_CHECKING:
    from collections.abc import Iterable
    from email.message import EmailMessage

    import click
    from flask import Blueprint

    from panel.accounts.models import Account
    from panel.audit import AuditEvent
    from panel.auth.models import User
    from panel.mail.models import OutboxMessage

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
            data_views.bp, *_reseller_blueprints(), *_email_blueprints(), *_whois_blueprints(),
            *_retention_blueprints()]


def _retention_blueprints() -> list[Blueprint]:
    from plugins.privacy.views import activity, cookies
    from plugins.privacy.views import retention as retention_views

    return [activity.bp, cookies.bp, retention_views.bp]


def _email_blueprints() -> list[Blueprint]:
    from plugins.privacy.views import campaigns, email_prefs, unsubscribe

    return [unsubscribe.bp, email_prefs.client_bp, email_prefs.staff_bp, campaigns.staff_bp,
            campaigns.reseller_bp, campaigns.partners_bp]


def _whois_blueprints() -> list[Blueprint]:
    from plugins.privacy.views import whois, whois_admin, whois_cases, whois_domains

    return [whois.rdap_bp, whois.relay_bp, whois_domains.client_bp, whois_domains.reseller_bp,
            whois_domains.staff_bp, whois_cases.bp, whois_admin.bp]


def _reseller_blueprints() -> list[Blueprint]:
    from plugins.privacy.views import reseller

    return [reseller.reseller_bp, reseller.removals_bp]


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
                NavItem("Email address", "privacy_policy_client.email", 95),
                NavItem("Email preferences", "privacy_email.index", 96),
                NavItem("Sign-in activity", "privacy_activity.index", 97)]
    if area == "admin":
        items = [NavItem("Access sessions", "privacy_staff.index", 10),
                 NavItem("Data requests", "privacy_request_queue.queue", 20),
                 NavItem("Removal requests", "privacy_removals.staff_queue", 25),
                 NavItem("Campaigns", "privacy_campaigns.index", 30),
                 NavItem("Complaints", "privacy_complaints.index", 35)]
        if user.role == "admin":
            items.append(NavItem("Audit trail", "privacy_admin.index", 70))
            items.append(NavItem("Privacy policy", "privacy_policy_admin.admin_index", 75))
            items.append(NavItem("Retention", "privacy_retention.index", 78))
            items.append(NavItem("Partner file", "privacy_partners.share", 76))
            items.append(NavItem("WHOIS privacy", "privacy_whois_admin.settings", 77))
        return items
    if area == "reseller":
        return [NavItem("Data requests", "privacy_reseller.queue", 20),
                NavItem("Campaigns", "privacy_reseller_campaigns.index", 30)]
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
    from plugins.privacy.services import access, credentials, export, retention
    from plugins.privacy.views.admin import VERIFY_JOB, verify_job

    return [Job("privacy.expire_access", timedelta(minutes=1), access.expire_due),
            Job("privacy.expire_credentials", timedelta(minutes=10), credentials.purge_expired),
            Job(VERIFY_JOB, timedelta(days=1), verify_job),
            Job("privacy.export_produce", timedelta(minutes=1), export.produce_queued),
            # identity documents, billing, exports, sign-ins, logs, closed accounts...: one
            # schedule with a rule per category (services/retention.py)
            Job("privacy.retention", timedelta(hours=1), retention.job),
            Job("privacy.removal_reminders", timedelta(hours=6), _removal_reminders),
            *_whois_jobs()]


def _whois_jobs() -> list[Job]:
    from plugins.privacy.services import disclosure

    return [Job("privacy.complaint_deadlines", timedelta(minutes=15), disclosure.expire_due)]


@hookimpl
def panel_audit_event(event: AuditEvent) -> None:
    from plugins.privacy.services import activity, trail

    trail.append(event)
    activity.from_audit(event)  # security actions also go into the subscriber's activity log


@hookimpl
def panel_cli_commands() -> list[click.Command]:
    from plugins.privacy.cli import audit_group
    from plugins.privacy.cli_retention import logs_group, retention_group
    from plugins.privacy.cli_whois import whois_group

    return [audit_group, whois_group, logs_group, retention_group]


@hookimpl
def panel_erasure_blockers(account: Account) -> list[str]:
    """Held data is kept (issue 8): no erasure path, whoever asks, goes past a legal hold."""
    from plugins.privacy.services import retention

    return ["a legal hold applies to this account"] if retention.is_held(account.id) else []


@hookimpl
def panel_account_erasure(account: Account, actor: User | None) -> None:
    """Erase what this plugin holds for the account; the trail stays as evidence."""
    from plugins.privacy.services import erasure

    erasure.erase_plugin_data(account)
    from plugins.privacy.services import export, signins

    signins.erase(account)
    export.erase(account)
    from plugins.privacy.services import email_prefs

    email_prefs.erase(account)  # marketing stops, links die; consent evidence is kept (P13)
    from plugins.privacy.services import whois_export

    whois_export.erase(account)  # relay messages, complaint cases and their files, disclosures
    from plugins.privacy.services import activity

    activity.erase(account)  # failed sign-ins, security actions, known browsers
    if account.closed_at is None:  # the account's life ends: evidence is kept 6 years from now
        from panel.db_types import utcnow

        account.closed_at = utcnow()


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
    from plugins.privacy.services import activity, signins

    signins.record(user, method)
    activity.check_device(user)  # a new browser or country: a transactional notice


@hookimpl
def panel_login_failed(user: User | None, method: str, reason: str) -> None:
    """Failed attempts are in the sign-in history too (P21); unknown addresses are not kept."""
    from plugins.privacy.services import activity

    activity.login_failed(user, method, reason)


@hookimpl
def panel_account_export(account: Account) -> dict[str, Iterable[dict[str, Any]]]:
    """This plugin's own tables for the subscriber's copy of their data (P06), as generators."""
    from plugins.privacy.services import activity, export, signins

    return {"sign_ins": signins.export_rows(account),
            "account_activity": activity.export_rows(account),
            "support_credentials": export.credential_rows(account),
            "staff_access": export.access_rows(account),
            "privacy_trail": export.trail_rows(account),
            **_email_export(account),
            **_whois_export(account)}


def _whois_export(account: Account) -> dict[str, Iterable[dict[str, Any]]]:
    from plugins.privacy.services import whois_export

    return whois_export.categories(account)


def _email_export(account: Account) -> dict[str, Iterable[dict[str, Any]]]:
    from plugins.privacy.services import email_prefs

    return {"email_preferences": email_prefs.preference_rows(account),
            "consent_history": email_prefs.export_rows(account),
            "partner_disclosures": email_prefs.disclosure_rows(account)}


@hookimpl
def panel_email_pre_send(message: OutboxMessage, headers: dict[str, str]) -> str | None:
    """Preference, restriction and objection checked at delivery (P13); unsubscribe headers."""
    from plugins.privacy.services import email_prefs

    return email_prefs.pre_send(message, headers)


@hookimpl
def panel_email_footer(message: OutboxMessage) -> str | None:
    """A link to the preference centre, without signing in, in every email (P14)."""
    from plugins.privacy.services import email_prefs

    return email_prefs.footer(message)


@hookimpl
def panel_email_inbound(message: EmailMessage) -> str | None:
    """mailto unsubscribe requests (RFC 2369), read by `panel mail inbound`."""
    from plugins.privacy.services import mailto

    return mailto.handle(message)


def _removal_reminders() -> str:
    from plugins.privacy.services.reseller_requests import send_reminders

    return send_reminders()


@hookimpl
def panel_reseller_customer_columns(reseller: User, account_ids: list[Any]) -> dict[str, dict[Any, str]]:
    """Open data requests and the reseller-marketing consent of each customer (P25, P27)."""
    from plugins.privacy.services import reseller_requests

    counts = reseller_requests.open_counts(account_ids)
    return {"Open requests": {aid: str(counts.get(aid, 0)) for aid in account_ids},
            "Your marketing": reseller_requests.marketing_states(reseller, account_ids)}


@hookimpl
def panel_reseller_customer_sections(reseller: User, account: Account) -> list[str]:
    from plugins.privacy.views.reseller import customer_section

    return [customer_section(account)]


@hookimpl(specname="panel_email_pre_send")
def whois_relay_pre_send(message: OutboxMessage, headers: dict[str, str]) -> str | None:
    """A relay message is dropped if the registrant switched the relay off meanwhile (P19)."""
    from plugins.privacy.services import relay

    return relay.suppress_reason(message, headers)


@hookimpl
def panel_domain_sections(domain: Any, viewer: User) -> list[Any]:
    """WHOIS privacy, the contact relay, complaints and the domain's history (P19, P20)."""
    from plugins.privacy.views.whois_domains import domain_panel

    return domain_panel(domain, viewer)


@hookimpl(specname="panel_email_pre_send")
def reseller_marketing_pre_send(message: OutboxMessage, headers: dict[str, str]) -> str | None:
    """A suspended reseller's own marketing stops; its customers keep everything else (P27)."""
    from plugins.privacy.services.reseller_requests import suspended_reseller_reason

    return suspended_reseller_reason(message.category)
