"""Access sessions for support staff, under /admin/access/."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from panel import audit, confirm
from panel.accounts import masking
from panel.accounts.models import Account
from panel.audit import AuditEvent
from panel.auth.access import role_required
from panel.auth.models import ADMIN, STAFF
from panel.extensions import db
from panel.hooks import hook
from panel.paging import keyset
from panel.tenancy import get_or_404, parse_id
from plugins.privacy.access.forms import AccessRequestForm, StaffHelpForm
from plugins.privacy.access.models import PENDING, AccessSession, SupportCredential
from plugins.privacy.access.services import act_as as act_as_service
from plugins.privacy.access.services import credentials
from plugins.privacy.access.services import help as staff_help
from plugins.privacy.access.services import sessions as access
from plugins.privacy.access.views import attempt

#: The sign-in help buttons and the dangerous actions, set apart from them, on the staff
#: customer page (panel_page_parts "customer"); the
#: open-session bar at the top of every page a staff member sees while a session is live.
PAGE_PARTS = {"customer": ["privacy/access/staff_help_part.html"],
              "customer-end": ["privacy/access/staff_danger_part.html"],
              "top": ["privacy/access/session_bar.html"]}

bp = Blueprint("privacy_staff", __name__, url_prefix="/admin/access",
               template_folder="../templates")


@bp.app_context_processor
def _session_bar() -> dict[str, Any]:
    """``open_access_sessions()`` for the bar: asked only when the bar is drawn, and only of
    staff, so other people's pages cost no query."""
    def open_sessions() -> list[dict[str, Any]]:
        if not (current_user.is_authenticated and current_user.role in (STAFF, ADMIN)):
            return []
        return access.open_sessions(current_user)
    return {"open_access_sessions": open_sessions}


@bp.before_request
@role_required(STAFF, ADMIN)
def _staff_only() -> None:
    return None


def _mine(session_id: str) -> AccessSession:
    s = db.session.get(AccessSession, parse_id(session_id))
    if s is None or (s.staff_id != current_user.id and current_user.role != ADMIN):
        abort(404)
    return s


@bp.route("/")
def index() -> Any:
    query = select(AccessSession).options(selectinload(AccessSession.account))
    if current_user.role != ADMIN:
        query = query.where(AccessSession.staff_id == current_user.id)
    return render_template("privacy/access/staff_sessions.html",
                           page=keyset(query, [AccessSession.requested_at, AccessSession.id]),
                           masked_name=masking.name)


@bp.route("/new/<account_id>", methods=["GET", "POST"])
def new(account_id: str) -> Any:
    account = get_or_404(current_user, Account, account_id)
    form = AccessRequestForm()
    label = masking.email(account.user.email if account.user else None)
    status = 200
    if form.validate_on_submit() and form.break_glass.data and not confirm.confirmed():
        try:  # refused at once if it could not be done anyway: nothing to confirm
            access.validate(current_user, form.reason.data, form.ticket.data or "",
                            form.minutes.data, True)
        except access.AccessError:
            pass
        else:
            return confirm.ask(
                f"Break glass on client #{account.number}?",
                "The account opens now without the customer's approval, even if they asked to "
                "approve every access. The customer is emailed that an administrator opened "
                f"their account for “{access.REASONS[form.reason.data]}”, and the session is "
                "marked break-glass on their record.", "Break glass and open the account",
                url_for(".new", account_id=account.id))
    if form.validate_on_submit():
        try:
            s = access.request_access(current_user, account, reason=form.reason.data,
                                      ticket=form.ticket.data or "", note=form.note.data,
                                      minutes=form.minutes.data, break_glass=form.break_glass.data)
        except access.AccessError as exc:
            form.reason.errors = [str(exc)]
            status = 400
            _refused(account, "rule")
        else:
            if s.status == PENDING:
                flash("The customer requires approval: they have been asked. "
                      "The request expires in 12 hours.")
                return redirect(url_for(".index"))
            flash(f"Access session open until {s.expires_at:%H:%M} UTC.")
            return redirect(url_for("admin.customer", account_id=account.id))
    elif request.method == "POST":
        status = 400
        _refused(account, "invalid form")
    return render_template("privacy/access/staff_new_session.html", form=form, account=account,
                           label=label), status


def _refused(account: Account, why: str) -> None:
    audit.record(AuditEvent("access.request", actor=current_user, account_id=account.id,
                            object="access session", result=f"refused: {why}"[:32]))
    db.session.commit()


@bp.route("/<session_id>/end", methods=["POST"])
def end(session_id: str) -> Any:
    s = _mine(session_id)
    return attempt(lambda: access.end(s, current_user), "Access session ended.", ".index")



@bp.route("/<session_id>/credentials", methods=["GET", "POST"])
def session_credentials(session_id: str) -> Any:
    """Credentials the customer left for support; each reveal is recorded (P18)."""
    s = _mine(session_id)
    if not s.is_live() or s.staff_id != current_user.id:
        flash("This access session has ended: open a new one to see credentials.")
        return redirect(url_for(".index"))
    account = db.session.get(Account, s.account_id)
    assert account is not None
    revealed: dict[str, str] = {}
    if request.method == "POST":
        cred = db.session.get(SupportCredential, parse_id(request.form.get("credential")))
        if cred is None or cred.account_id != account.id:
            abort(404)
        try:
            revealed[str(cred.id)] = credentials.reveal(cred, s, current_user)
        except PermissionError as exc:
            flash(str(exc))
            return redirect(url_for(".index"))
    return render_template("privacy/access/staff_credentials.html", s=s, items=credentials.current(account),
                           revealed=revealed)


@bp.route("/<session_id>/act-as", methods=["POST"])
def act_as(session_id: str) -> Any:
    s = _mine(session_id)
    if not act_as_service.start(s, current_user):
        flash("This access session is not live, or the account has no login.")
        return redirect(url_for(".index"))
    return redirect(url_for("client.dashboard"))


@bp.route("/help/<account_id>", methods=["GET", "POST"])
def sign_in_help(account_id: str) -> Any:
    """Reset the customer's second factor or have a reset link sent, after a cool-down the
    customer can cancel; only inside the viewer's live access session (the same check as the
    customer page: ``panel_account_access``)."""
    account = get_or_404(current_user, Account, account_id)
    gate = hook().panel_account_access(viewer=current_user, account=account, purpose="help")
    if gate is not None:
        if request.method == "POST":
            flash("Nothing was asked: sign-in help works only inside your own access session on "
                  "this account.")
        return gate
    form = StaffHelpForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            row = staff_help.ask(current_user, g.privacy_access_session, account, form.kind.data)
        except staff_help.HelpError as exc:
            error, status = str(exc), exc.status
        else:
            flash(f"Asked: “{row.staff_what}”. The customer has been emailed and can cancel it; "
                  f"otherwise it takes effect on {row.due_at:%Y-%m-%d %H:%M} UTC.")
            return redirect(url_for("admin.customer", account_id=account.id))
    elif request.method == "POST":
        error, status = "; ".join(e for errs in form.errors.values() for e in errs), 400
    return render_template("privacy/access/staff_help.html", account=account, form=form,
                           error=error, requests=staff_help.for_account(account.id),
                           label=masking.email(account.user.email if account.user else None)
                           ), status
