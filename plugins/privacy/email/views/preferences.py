"""The email preference centre (P12-P14): signed in at /client/email-preferences, and for
staff inside an access session at /admin/privacy/email/<account_id> (a reason is required)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from panel import audit
from panel.accounts.models import Account
from panel.audit import AuditEvent
from panel.auth.access import role_required
from panel.auth.models import ADMIN, STAFF, SUBSCRIBER
from panel.extensions import db
from panel.hooks import hook
from panel.paging import keyset
from panel.tenancy import get_or_404, own_account
from plugins.privacy.access.services.act_as import acting_staff
from plugins.privacy.email.forms import PreferencesForm, StaffPreferencesForm
from plugins.privacy.email.models import METHODS, ConsentEvent, PartnerDisclosure
from plugins.privacy.email.services import preferences as email_prefs
from plugins.privacy.email.services import unsubscribe

client_bp = Blueprint("privacy_email", __name__, url_prefix="/client/email-preferences",
                      template_folder="../templates")
staff_bp = Blueprint("privacy_email_staff", __name__, url_prefix="/admin/privacy/email",
                     template_folder="../templates")


def apply_form(account: Account, form: FlaskForm, method: str, **staff: Any) -> str | None:
    """Set every switch from the submitted checkboxes; an error message, or None when saved."""
    chosen = request.form.getlist("category")
    known = {c.key for c in email_prefs.categories_for(account)}
    if any(key not in known for key in chosen):
        return "One of the choices is not an email category of this account."
    try:
        email_prefs.change(account, {key: key in chosen for key in known}, method, **staff)
    except ValueError as exc:
        db.session.rollback()
        return str(exc)
    db.session.commit()
    return None


def centre_context(account: Account) -> dict[str, Any]:
    now = email_prefs.current(account)
    chosen = set(request.form.getlist("category")) if request.method == "POST" else None
    groups: dict[str, list[dict[str, Any]]] = {}
    for cat in email_prefs.categories_for(account):
        on = (cat.key in chosen) if chosen is not None else now[cat.key]
        groups.setdefault(cat.group, []).append({"key": cat.key, "label": cat.label,
                                                 "notice": cat.notice, "on": on})
    disclosures = db.session.execute(
        select(PartnerDisclosure).where(PartnerDisclosure.account_id == account.id)
        .order_by(PartnerDisclosure.at.desc())).scalars().all()
    return {"account": account, "groups": groups,
            "transactional_reason": email_prefs.TRANSACTIONAL_REASON,
            "history": keyset(email_prefs.history_query(account),
                              [ConsentEvent.at, ConsentEvent.id]), "methods": METHODS,
            "label_of": email_prefs.label_of, "notice_text": email_prefs.notice_text,
            "disclosures": disclosures, "mode": email_prefs.mode()}


# --- the subscriber, signed in ----------------------------------------------------------------


@client_bp.before_request
@role_required(SUBSCRIBER)
def _subscribers_only() -> None:
    return None


def _page(account: Account, form: FlaskForm, status: int = 200) -> Any:
    return render_template("privacy/email/prefs.html", form=form, tokened=False,
                           action=url_for("privacy_email.index"),
                           all_action=url_for("privacy_email.unsubscribe_all"),
                           revoke_action=url_for("privacy_email.revoke_links"),
                           **centre_context(account)), status


@client_bp.route("", methods=["GET", "POST"])
def index() -> Any:
    account = own_account(current_user)
    form = PreferencesForm()
    if request.method == "POST":
        if form.validate_on_submit():
            error = apply_form(account, form, _method(), **_actor())
            if error is None:
                flash("Your email preferences were saved.")
                return redirect(url_for(".index"))
            form.form_errors.append(error)
        return _page(account, form, 400)
    return _page(account, form)


def _method() -> str:
    return "staff" if acting_staff() is not None else "preference-centre"


def _actor() -> dict[str, Any]:
    """Who the trail names: the subscriber, or staff acting as them (with why)."""
    staff = acting_staff()
    if staff is not None:
        return {"actor": staff, "reason": "acting as the customer in an access session"}
    return {"actor": current_user._get_current_object()}


@client_bp.route("/all", methods=["POST"])
def unsubscribe_all() -> Any:
    account = own_account(current_user)
    if PreferencesForm().validate_on_submit():
        email_prefs.unsubscribe_all(account, _method(), **_actor())
        db.session.commit()
        flash("You are unsubscribed from all marketing email.")
    return redirect(url_for(".index"))


@client_bp.route("/revoke-links", methods=["POST"])
def revoke_links() -> Any:
    """Links in mail sent so far stop working (e.g. an email was forwarded)."""
    account = own_account(current_user)
    if PreferencesForm().validate_on_submit():
        unsubscribe.revoke_all(account)
        audit.record(AuditEvent("email_links.revoke", actor=current_user, account_id=account.id,
                                object="links in email sent so far"))
        db.session.commit()
        flash("The links in emails sent so far no longer work. New emails carry new links.")
    return redirect(url_for(".index"))


# --- staff, inside an access session ------------------------------------------------------------


@staff_bp.before_request
@role_required(STAFF, ADMIN)
def _staff_only() -> None:
    return None


@staff_bp.route("/<account_id>", methods=["GET", "POST"])
def account_page(account_id: str) -> Any:
    account = get_or_404(current_user, Account, account_id)
    gate = hook().panel_account_access(viewer=current_user, account=account, purpose="view")
    if gate is not None:
        return gate
    if account.status == "closed":
        abort(404)
    form = StaffPreferencesForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            error = apply_form(account, form, "staff", actor=current_user,
                               reason=form.reason.data, ticket=form.ticket.data or None)
            if error is None:
                flash("The customer's email preferences were saved, with your reason.")
                return redirect(url_for(".account_page", account_id=account.id))
            form.form_errors.append(error)
        status = 400
    audit.record(AuditEvent("email_preferences.view", actor=current_user, account_id=account.id,
                            object="email preferences and consent history"))
    db.session.commit()
    return render_template("privacy/email/prefs.html", form=form, tokened=False, staff=True,
                           action=url_for(".account_page", account_id=account.id),
                           all_action=None, **centre_context(account)), status
