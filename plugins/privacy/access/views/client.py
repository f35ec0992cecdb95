"""The privacy pages of the subscriber panel, under /client/privacy/."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from panel import audit
from panel.accounts.models import Account
from panel.audit import AuditEvent
from panel.auth.access import role_required
from panel.auth.models import SUBSCRIBER
from panel.db_types import utcnow
from panel.extensions import db
from panel.paging import keyset
from panel.tenancy import own_account, parse_id
from plugins.privacy.access.forms import AccessSettingsForm, CredentialForm
from plugins.privacy.access.models import AccessSession, AuditEntry, SupportCredential
from plugins.privacy.access.services import act_as, credentials
from plugins.privacy.access.services import help as staff_help
from plugins.privacy.access.services import history as change_history
from plugins.privacy.access.services import sessions as access
from plugins.privacy.access.services.history import access_trail, provider_trail
from plugins.privacy.access.views import attempt

bp = Blueprint("privacy_client", __name__, url_prefix="/client/privacy",
               template_folder="../templates")


@bp.before_request
@role_required(SUBSCRIBER)
def _subscribers_only() -> None:
    return None


@bp.route("/history")
def history() -> Any:
    account = _account()
    page = keyset(change_history.changes(account), [AuditEntry.seq])
    return render_template("privacy/access/history.html", page=page)


def _own_session(session_id: str) -> AccessSession:
    account = _account()
    s = db.session.get(AccessSession, parse_id(session_id))
    if s is None or s.account_id != account.id:
        abort(404)
    return s


def _account() -> Account:
    return own_account(current_user)


@bp.route("/access", methods=["GET", "POST"])
def staff_access() -> Any:
    """Every staff session on this account: who, when, why, what they saw, and the decision."""
    account = _account()
    current = access.settings(account)
    form = AccessSettingsForm(obj=current)
    if form.validate_on_submit():
        current.require_approval = form.require_approval.data
        current.notify_access = form.notify_access.data
        db.session.merge(current)
        audit.record(AuditEvent("access.settings", actor=current_user, account_id=account.id,
                                object="staff access settings",
                                fields=["require_approval", "notify_access"]))
        db.session.commit()
        flash("Your staff access settings are saved.")
        return redirect(url_for(".staff_access"))
    sessions = keyset(select(AccessSession).where(AccessSession.account_id == account.id),
                      [AccessSession.requested_at, AccessSession.id])
    trail = access_trail(account, [s.id for s in sessions.rows])
    provider_query = provider_trail(account)  # its own cursor names: two lists on one page
    provider = (None if provider_query is None
                else keyset(provider_query, [AuditEntry.seq], prefix="provider_"))
    acting = act_as.acting_staff() is not None  # the cancel link is the customer's alone
    helps = [(staff_help.sentence(r), None if acting or r.status != "pending"
              else url_for("privacy_access_link.cancel_help", token=staff_help.token(r)))
             for r in staff_help.for_account(account.id)]
    return render_template("privacy/access/staff_access.html", form=form, sessions=sessions,
                           trail=trail, now=utcnow(), provider=provider,
                           helps=helps)


@bp.route("/access/<session_id>/decide", methods=["POST"])
def decide(session_id: str) -> Any:
    s = _own_session(session_id)
    approve = request.form.get("decision") == "approve"
    return attempt(lambda: access.decide(s, current_user, approve=approve),
                   "Access approved." if approve else "Access denied.", ".staff_access")


@bp.route("/access/<session_id>/revoke", methods=["POST"])
def revoke(session_id: str) -> Any:
    s = _own_session(session_id)
    return attempt(lambda: access.revoke(s, current_user),
                   "Access revoked: the session has ended.", ".staff_access")


@bp.route("/credentials", methods=["GET", "POST"])
def credentials_page() -> Any:
    """Hand support a credential (P18), best a fresh one made for them, deleted on expiry."""
    account = _account()
    form = CredentialForm()
    status = 200
    if form.validate_on_submit():
        credentials.add(account, current_user, kind=form.kind.data, label=form.label.data,
                        host=form.host.data or "", username=form.username.data or "",
                        secret=form.secret.data, days=form.days.data)
        flash("Saved. Support can see it only inside a recorded access session.")
        return redirect(url_for(".credentials_page"))
    if request.method == "POST":
        status = 400
    return render_template("privacy/access/credentials.html", form=form,
                           items=credentials.current(account)), status


@bp.route("/credentials/<credential_id>/delete", methods=["POST"])
def delete_credential(credential_id: str) -> Any:
    account = _account()
    cred = db.session.get(SupportCredential, parse_id(credential_id))
    if cred is None or cred.account_id != account.id:
        abort(404)
    credentials.remove(cred, current_user)
    flash("Credential deleted.")
    return redirect(url_for(".credentials_page"))
