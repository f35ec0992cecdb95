"""The privacy plugin's one integration surface: only @hookimpl functions live here.

Everything the plugin does is in its feature packages (access, center, email, whois,
retention, reseller), which build on ``processing``; this module wires them to the panel.
Importing it loads every feature's tables and its ``records`` (what it holds about a
subscriber, registered with the privacy center for My data, the export and erasure).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import g, redirect, url_for

from panel.auth.models import STAFF_ROLES
from panel.hookspecs import hookimpl
from panel.jobs import Job
from panel.navigation import Banner, NavItem
from plugins.privacy.access.cli import audit_group
from plugins.privacy.access.services import act_as, credentials, sessions, trail
from plugins.privacy.access.services import demo as access_demo
from plugins.privacy.access.services import help as staff_help
from plugins.privacy.access.services import records as _access_records  # noqa: F401 - registers
from plugins.privacy.access.views import admin as access_admin
from plugins.privacy.access.views import client as access_client
from plugins.privacy.access.views import link as access_link
from plugins.privacy.access.views import staff as access_staff
from plugins.privacy.center.services import demo as center_demo
from plugins.privacy.center.services import erasure, export
from plugins.privacy.center.services import records as _center_records  # noqa: F401 - registers
from plugins.privacy.center.services import requests as center_requests_service
from plugins.privacy.center.views import data as center_data
from plugins.privacy.center.views import hub as center_hub
from plugins.privacy.center.views import policy as center_policy
from plugins.privacy.center.views import requests as center_requests
from plugins.privacy.email.services import demo as email_demo
from plugins.privacy.email.services import mailto, preferences
from plugins.privacy.email.services import records as _email_records  # noqa: F401 - registers
from plugins.privacy.email.views import campaigns as email_campaigns
from plugins.privacy.email.views import preferences as email_preferences
from plugins.privacy.email.views import unsubscribe as email_unsubscribe
from plugins.privacy.processing.services import purpose_allowed
from plugins.privacy.reseller import views as reseller_views
from plugins.privacy.reseller.services import requests as reseller_requests
from plugins.privacy.retention.cli import logs_group, retention_group
from plugins.privacy.retention.services import activity, schedule, signins
from plugins.privacy.retention.services import demo as retention_demo
from plugins.privacy.retention.services import records as _retention_records  # noqa: F401
from plugins.privacy.retention.views import activity as retention_activity
from plugins.privacy.retention.views import cookies as retention_cookies
from plugins.privacy.retention.views import schedule as retention_schedule
from plugins.privacy.whois.cli import whois_group
from plugins.privacy.whois.services import disclosure, relay
from plugins.privacy.whois.services import records as _whois_records  # noqa: F401 - registers
from plugins.privacy.whois.views import admin as whois_admin
from plugins.privacy.whois.views import cases as whois_cases
from plugins.privacy.whois.views import domains as whois_domains
from plugins.privacy.whois.views import public as whois_public

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from email.message import EmailMessage

    import click
    from flask import Blueprint

    from panel.accounts.models import Account
    from panel.audit import AuditEvent
    from panel.auth.models import User
    from panel.mail.models import OutboxMessage
    from panel.metrics import Reading

HERE = Path(__file__).resolve().parent


@hookimpl
def panel_plugin_info() -> dict[str, Any]:
    return {"name": "privacy", "title": "Privacy", "version": "0.1.0",
            "description": "Lets customers see and control what happens to their personal data."}


@hookimpl
def panel_blueprints() -> list[Blueprint]:
    return [access_client.bp, access_staff.bp, access_link.bp, access_admin.bp,
            center_requests.mine_bp, center_requests.staff_bp,
            center_policy.public_bp, center_policy.client_bp, center_policy.admin_bp,
            center_data.bp, center_hub.bp,
            reseller_views.reseller_bp, reseller_views.removals_bp,
            email_unsubscribe.bp, email_preferences.client_bp, email_preferences.staff_bp,
            email_campaigns.staff_bp, email_campaigns.reseller_bp, email_campaigns.partners_bp,
            whois_public.rdap_bp, whois_public.relay_bp, whois_domains.client_bp,
            whois_domains.reseller_bp, whois_domains.staff_bp, whois_cases.bp, whois_admin.bp,
            retention_activity.bp, retention_cookies.bp, retention_schedule.bp]


@hookimpl
def panel_migration_dirs() -> list[str]:
    return [str(HERE / "migrations" / "versions")]


@hookimpl
def panel_nav_items(area: str, user: User) -> list[NavItem]:
    if area == "client":
        return [NavItem("Privacy hub", "privacy_hub.index", 45, "Privacy"),
                NavItem("My data", "privacy_data.index", 50, "Privacy"),
                NavItem("Requests", "privacy_requests.mine", 55, "Privacy"),
                NavItem("Staff access", "privacy_client.staff_access", 60, "Privacy"),
                NavItem("Support credentials", "privacy_client.credentials_page", 65, "Privacy"),
                NavItem("Email preferences", "privacy_email.index", 70, "Privacy"),
                NavItem("Change history", "privacy_client.history", 75, "Privacy"),
                NavItem("Email address", "privacy_policy_client.email", 20, "Account"),
                NavItem("Sign-in activity", "privacy_activity.index", 97, "Account")]
    if area == "admin":
        items = [NavItem("Access sessions", "privacy_staff.index", 10, "Support"),
                 NavItem("Complaints", "privacy_complaints.index", 35, "Support"),
                 NavItem("Data requests", "privacy_request_queue.queue", 20, "Privacy"),
                 NavItem("Removal requests", "privacy_removals.staff_queue", 25, "Privacy"),
                 NavItem("Campaigns", "privacy_campaigns.index", 30, "Privacy")]
        if user.role == "admin":
            items += [NavItem("Audit trail", "privacy_admin.index", 70, "Privacy"),
                      NavItem("Privacy policy", "privacy_policy_admin.admin_index", 75, "Privacy"),
                      NavItem("Partner file", "privacy_partners.share", 76, "Privacy"),
                      NavItem("WHOIS privacy", "privacy_whois_admin.settings", 77, "Privacy"),
                      NavItem("Retention", "privacy_retention.index", 78, "Privacy")]
        return items
    if area == "reseller":
        return [NavItem("Data requests", "privacy_reseller.queue", 20, "Privacy"),
                NavItem("Campaigns", "privacy_reseller_campaigns.index", 30, "Privacy")]
    return []


@hookimpl
def panel_account_access(viewer: User, account: Account, purpose: str) -> Any:
    """Staff see an account's data only inside a live access session (P16)."""
    if viewer.role not in STAFF_ROLES:
        return None
    live = sessions.live_session(viewer, account)
    if live is None:
        return redirect(url_for("privacy_staff.new", account_id=account.id))
    g.privacy_access_session = live
    return None


@hookimpl
def panel_jobs() -> list[Job]:
    return [Job("privacy.expire_access", timedelta(minutes=1), sessions.expire_due),
            Job("privacy.expire_credentials", timedelta(minutes=10), credentials.purge_expired),
            Job(trail.VERIFY_JOB, timedelta(days=1), trail.verify_job),
            Job("privacy.export_produce", timedelta(minutes=1), export.produce_queued),
            # identity documents, billing, exports, sign-ins, logs, closed accounts...: one
            # schedule with a rule per category (retention/services/schedule.py)
            Job("privacy.retention", timedelta(hours=1), schedule.job),
            Job("privacy.removal_reminders", timedelta(hours=6), reseller_requests.send_reminders),
            Job("privacy.complaint_deadlines", timedelta(minutes=15), disclosure.expire_due),
            # support's sign-in help, once the customer's 24 hours to cancel it are over
            Job("privacy.staff_help", timedelta(minutes=1), staff_help.apply_due)]


@hookimpl
def panel_metrics() -> list[Reading]:
    """Data requests coming due and overdue, the trail's last verification, the last purge."""
    return [*center_requests_service.due_readings(), *reseller_requests.due_readings(),
            *trail.verify_readings(), *schedule.run_readings()]


@hookimpl
def panel_audit_event(event: AuditEvent) -> None:
    trail.append(event)
    activity.from_audit(event)  # security actions also go into the subscriber's activity log


@hookimpl
def panel_cli_commands() -> list[click.Command]:
    return [audit_group, whois_group, logs_group, retention_group]


@hookimpl
def panel_erasure_blockers(account: Account) -> list[str]:
    """Held data is kept (issue 8): no erasure path, whoever asks, goes past a legal hold."""
    return ["a legal hold applies to this account"] if schedule.is_held(account.id) else []


@hookimpl
def panel_account_erasure(account: Account, actor: User | None) -> None:
    """Erase what this plugin holds for the account: each feature's registered step. The
    trail stays as evidence."""
    erasure.erase(account)


@hookimpl
def panel_banners(user: User) -> list[Banner]:
    live = g.get("privacy_access_session")
    notices = []
    if live is not None and not purpose_allowed(live.account_id, "marketing"):
        notices.append(Banner("Processing of this account is restricted or objected to: no "
                              "marketing or analytics. Service and billing continue."))
    staff = act_as.acting_staff()
    if staff is None:
        return notices
    return notices + [Banner(f"{staff.label}, you are acting as this customer inside a recorded access "
                   "session. Everything you do is logged with both your names.",
                   "privacy_access_link.stop_acting", "Stop acting as the customer")]


@hookimpl
def panel_page_parts(place: str) -> list[str]:
    """The cookie banner on every page and the link to cookie settings in every footer (P23);
    support's sign-in help on the staff customer page."""
    return retention_cookies.PAGE_PARTS.get(place, []) + access_staff.PAGE_PARTS.get(place, [])


@hookimpl
def panel_user_login(user: User, method: str) -> None:
    """Each sign-in goes into the history the subscriber can read (P21)."""
    signins.record(user, method)
    activity.check_device(user)  # a new browser or country: a transactional notice


@hookimpl
def panel_login_failed(user: User | None, method: str, reason: str) -> None:
    """Failed attempts are in the sign-in history too (P21); unknown addresses are not kept."""
    activity.login_failed(user, method, reason)


@hookimpl
def panel_account_export(account: Account) -> dict[str, Iterable[dict[str, Any]]]:
    """Every category the features registered, the core's tables included, as generators (P06)."""
    return export.registered(account)


@hookimpl
def panel_email_pre_send(message: OutboxMessage, headers: dict[str, str]) -> str | None:
    """Preference, restriction and objection checked at delivery (P13); unsubscribe headers."""
    return preferences.pre_send(message, headers)


@hookimpl
def panel_email_footer(message: OutboxMessage) -> str | None:
    """A link to the preference centre, without signing in, in every email (P14)."""
    return preferences.footer(message)


@hookimpl
def panel_email_inbound(message: EmailMessage) -> str | None:
    """mailto unsubscribe requests (RFC 2369), read by `panel mail inbound`."""
    return mailto.handle(message)


@hookimpl
def panel_reseller_customer_columns(reseller: User, account_ids: list[Any]) -> dict[str, dict[Any, str]]:
    """Open data requests and the reseller-marketing consent of each customer (P25, P27)."""
    counts = reseller_requests.open_counts(account_ids)
    return {"Open requests": {aid: str(counts.get(aid, 0)) for aid in account_ids},
            "Your marketing": reseller_requests.marketing_states(reseller, account_ids)}


@hookimpl
def panel_reseller_customer_sections(reseller: User, account: Account) -> list[str]:
    return [reseller_views.customer_section(account)]


@hookimpl(specname="panel_email_pre_send")
def whois_relay_pre_send(message: OutboxMessage, headers: dict[str, str]) -> str | None:
    """A relay message is dropped if the registrant switched the relay off meanwhile (P19)."""
    return relay.suppress_reason(message, headers)


@hookimpl
def panel_domain_sections(domain: Any, viewer: User) -> list[Any]:
    """WHOIS privacy, the contact relay, complaints and the domain's history (P19, P20)."""
    return whois_domains.domain_panel(domain, viewer)


@hookimpl(specname="panel_email_pre_send")
def reseller_marketing_pre_send(message: OutboxMessage, headers: dict[str, str]) -> str | None:
    """A suspended reseller's own marketing stops; its customers keep everything else (P27)."""
    return reseller_requests.suspended_reseller_reason(message.category)


@hookimpl
def panel_demo_data(people: dict[str, User], say: Callable[[str], None]) -> None:
    """`panel demo`: a policy, requests, staff sessions, consent changes, sign-ins and visits."""
    for feature in (center_demo, access_demo, email_demo, retention_demo):
        feature.seed(people, say)
