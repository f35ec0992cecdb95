"""The reseller's request queue (its customers' requests: it is their controller, P25) and
the removal requests resellers send to the host (P26): the reseller's side under
/reseller/privacy/, the host's side under /admin/privacy/removals/."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from markupsafe import Markup

from panel import audit, confirm
from panel.accounts import masking
from panel.accounts.models import Account
from panel.audit import AuditEvent
from panel.auth.access import role_required
from panel.auth.models import ADMIN, RESELLER, STAFF, User
from panel.db_types import today
from panel.extensions import db
from panel.hooks import hook
from panel.tenancy import scoped
from plugins.privacy.access.services import sessions as access
from plugins.privacy.center.forms import RefuseForm, RejectErasureForm, VerifyForm
from plugins.privacy.center.services import approval
from plugins.privacy.center.services import requests as service
from plugins.privacy.reseller.forms import FulfilForm, RemovalForm
from plugins.privacy.reseller.services import requests as resell
from plugins.privacy.retention.services import closure

reseller_bp = Blueprint("privacy_reseller", __name__, url_prefix="/reseller/privacy",
                        template_folder="templates")
removals_bp = Blueprint("privacy_removals", __name__, url_prefix="/admin/privacy/removals",
                        template_folder="templates")


@reseller_bp.before_request
@role_required(RESELLER)
def _resellers_only() -> None:
    return None


@removals_bp.before_request
@role_required(STAFF, ADMIN)
def _staff_only() -> None:
    return None


# --- the reseller's side ----------------------------------------------------------------------


@reseller_bp.route("/requests/")
def queue() -> Any:
    page = resell.queue(current_user)
    removals = resell.removals_for(current_user)
    ids = {r.account_id for r in page.rows} | {m.account_id for m in removals.rows}
    accounts = {a.id: a for a in db.session.execute(
        scoped(current_user, Account).where(Account.id.in_(ids))).scalars()} if ids else {}
    return render_template("privacy/reseller/queue.html", page=page, accounts=accounts,
                           answered=resell.answered(current_user),
                           removals=removals, urgency=service.urgency,
                           days_left=resell.days_left, today=today())


@reseller_bp.route("/requests/<request_id>")
def detail(request_id: str) -> Any:
    r = resell.own_request(current_user, request_id)
    account = db.session.get(Account, r.account_id)
    audit.record(AuditEvent("request.view", actor=current_user, account_id=r.account_id,
                            object=f"{r.kind} request {r.id}"))
    db.session.commit()
    return render_template("privacy/reseller/request.html", r=r, account=account,
                           verify_form=VerifyForm(), refuse_form=RefuseForm(),
                           fulfil_form=FulfilForm(), removal_form=RemovalForm(),
                           urgency=service.urgency(r))


def _act(request_id: str, action: Any, done: str, danger: Any = None) -> Any:
    r = resell.own_request(current_user, request_id)
    if danger is not None and not confirm.confirmed():
        return confirm.ask(*danger(r), url_for(".detail", request_id=r.id))
    try:
        action(r)
    except (service.RequestError, resell.RemovalError) as exc:
        db.session.rollback()
        flash(str(exc))
    else:
        flash(done)
    return redirect(url_for(".detail", request_id=r.id))


@reseller_bp.route("/requests/<request_id>/verify", methods=["POST"])
def verify(request_id: str) -> Any:
    form = VerifyForm()
    return _act(request_id, lambda r: service.verify(r, current_user, form.method.data or ""),
                "Identity marked as verified.")


@reseller_bp.route("/requests/<request_id>/fulfil", methods=["POST"])
def fulfil(request_id: str) -> Any:
    """Export, restrict, correct or note an objection, as the request asks. An erasure is
    never one person's act: the reseller asks the host (``escalate``), where a second staff
    member approves it, as for the house's own customers."""
    form = FulfilForm()
    fmt = form.format.data if form.validate() else "zip"

    def run(r: Any) -> None:
        if r.kind == "erasure":
            raise service.RequestError("An erasure needs a second person's approval: ask the "
                                       "host to remove the data.")
        service.fulfil(r, current_user, export_format=fmt)
    return _act(request_id, run, "Request fulfilled. The customer has been told by email.")


@reseller_bp.route("/requests/<request_id>/refuse", methods=["POST"])
def refuse(request_id: str) -> Any:
    form = RefuseForm()
    reason = form.reason.data or "" if form.validate() else ""
    return _act(request_id, lambda r: service.refuse(r, current_user, reason), "Request refused.",
                (lambda r: (f"Refuse this {r.kind} request?",
                            f"The request is closed as refused, and your customer is emailed "
                            f"this reason: “{reason}”. It cannot be reopened.",
                            "Refuse the request")) if reason else None)


@reseller_bp.route("/requests/<request_id>/removal", methods=["POST"])
def escalate(request_id: str) -> Any:
    """Answer an erasure request by asking the host to remove the data (30 business days)."""
    form = RemovalForm()
    note = form.note.data or "" if form.validate() else ""
    return _act(request_id, lambda r: resell.file_removal(current_user, r.account_id, note, r),
                "Removal request sent to the host.")


@reseller_bp.route("/customers/<account_id>/removal", methods=["POST"])
def ask_removal(account_id: str) -> Any:
    """Ask the host to remove one of your customers' data (P26)."""
    form = RemovalForm()
    if not form.validate():
        flash(" ".join(form.note.errors) or "The form expired; try again.")
        return redirect(url_for("reseller.customer", account_id=account_id))
    try:
        r = resell.file_removal(current_user, account_id, form.note.data or "")
    except resell.RemovalError as exc:
        db.session.rollback()
        flash(str(exc))
    else:
        flash(f"Removal request sent to the host. It is due by {r.due_on:%d %B %Y}.")
    return redirect(url_for("reseller.customer", account_id=account_id))


# --- the host's side --------------------------------------------------------------------------


@removals_bp.route("/")
def staff_queue() -> Any:
    return render_template("privacy/reseller/removals.html", page=resell.staff_queue(),
                           closed=resell.staff_closed(), days_left=resell.days_left)


@removals_bp.route("/<removal_id>", endpoint="detail")
def detail_staff(removal_id: str) -> Any:
    r = resell.get_removal(removal_id)
    account = db.session.get(Account, r.account_id)
    live = access.live_session(current_user, account) if account else None
    asked = approval.latest(resell.SUBJECT, r.id)
    people = {u.id: u for u in db.session.execute(db.select(User).where(
        User.id.in_([asked.asked_by, asked.decided_by]))).scalars()} if asked else {}
    return render_template("privacy/reseller/removal.html", r=r, account=account, live=live,
                           label=masking.email(account.user.email if account and account.user
                                               else None),
                           days_left=resell.days_left(r), refuse_form=RefuseForm(),
                           reject_form=RejectErasureForm(), asked=asked, people=people)


def _staff_act(removal_id: str, action: Any, done: str, danger: Any = None) -> Any:
    """Acting on a removal is acting on the account: a live access session first (P16)."""
    r = resell.get_removal(removal_id)
    account = db.session.get(Account, r.account_id)
    gate = hook().panel_account_access(viewer=current_user, account=account, purpose="request")
    if gate is not None:
        return gate
    if danger is not None and not confirm.confirmed():
        return confirm.ask(*danger(r, account), url_for(".detail", removal_id=r.id))
    try:
        action(r)
    except resell.RemovalError as exc:
        db.session.rollback()
        flash(str(exc))
    else:
        flash(done)
    return redirect(url_for(".detail", removal_id=r.id))


@removals_bp.route("/<removal_id>/ask", methods=["POST"])
def ask(removal_id: str) -> Any:
    return _staff_act(removal_id, lambda r: resell.ask_completion(r, current_user),
                      "Removal asked for: it is carried out when another staff member approves it.")


@removals_bp.route("/<removal_id>/approve", methods=["POST"])
def approve(removal_id: str) -> Any:
    return _staff_act(removal_id, lambda r: resell.complete(r, current_user),
                      "The customer's data was removed; the reseller has been told.",
                      lambda r, a: (f"Remove the data of client #{a.number} now?",
                                    "The customer's profile, sign-in, domain contacts and saved "
                                    "cards are erased at once and cannot be brought back. "
                                    "Invoices stay for their legal retention. The reseller "
                                    f"{r.reseller.label} is told the removal is complete.",
                                    "Remove the data now"))


@removals_bp.route("/<removal_id>/reject", methods=["POST"])
def reject(removal_id: str) -> Any:
    form = RejectErasureForm()
    reason = form.reject_reason.data or "" if form.validate() else ""
    return _staff_act(removal_id, lambda r: resell.reject_completion(r, current_user, reason),
                      "Removal rejected; the removal request is still open.")


@removals_bp.route("/<removal_id>/refuse", methods=["POST"])
def refuse_removal(removal_id: str) -> Any:
    form = RefuseForm()
    reason = form.reason.data or "" if form.validate() else ""
    return _staff_act(removal_id, lambda r: resell.refuse(r, current_user, reason),
                      "Removal request refused; the reseller has been told why.",
                      (lambda r, a: (f"Refuse the removal of client #{a.number}?",
                                     f"The removal request is closed as refused and the reseller "
                                     f"{r.reseller.label} is emailed this reason: “{reason}”.",
                                     "Refuse the removal")) if reason else None)


def customer_section(account: Account) -> Markup:
    """The part of the reseller's customer page this plugin adds (requests, removal, consent)."""
    html = render_template(
        "privacy/reseller/customer_section.html", account=account,
        requests=[r for r in service.for_account(account) if r.status in ("received", "verified")],
        removals=resell.removals_of(account), removal_form=RemovalForm(),
        marketing=resell.marketing_allowed(account),
        reseller_active=resell.reseller_active(account.reseller_id),
        erased=closure.is_erased(account))
    return Markup(html)  # noqa: S704 - the output of an autoescaping template
