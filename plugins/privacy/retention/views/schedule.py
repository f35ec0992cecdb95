"""The retention schedule for admins (/admin/privacy/retention), and closing an account by staff.

Admins see each category with its rule and legal basis, what is due now, what was purged on
each date (chart and table), what is held, and the panel's own page-view counts. Legal holds
are placed and released here with a reason; both go on the trail.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from panel import confirm
from panel.accounts.models import Account
from panel.auth.access import role_required
from panel.auth.models import ADMIN, STAFF
from panel.extensions import db
from panel.hooks import hook
from panel.tenancy import get_or_404, parse_id
from plugins.privacy.retention.forms import ClosureForm, HoldForm, ReleaseForm
from plugins.privacy.retention.models import LegalHold
from plugins.privacy.retention.services import closure, cookie_consent
from plugins.privacy.retention.services import schedule as retention
from plugins.privacy.retention.services.svg_chart import bars

bp = Blueprint("privacy_retention", __name__, url_prefix="/admin/privacy",
               template_folder="../templates")

@bp.before_request
@role_required(STAFF, ADMIN)
def _staff_only() -> None:
    return None


def _admin() -> None:
    if current_user.role != ADMIN:
        abort(404)


def _page(hold_form: HoldForm, status: int = 200) -> Any:
    history = retention.history()
    chart = bars([(day.isoformat(), sum(c.values())) for day, c in history],
                 "Rows purged per day, all categories")
    holds = retention.active_holds()
    numbers = dict(db.session.execute(select(Account.id, Account.number).where(
        Account.id.in_([h.account_id for h in holds]))).all()) if holds else {}
    return render_template("privacy/retention/index.html", schedule=retention.due(),
                           history=history, chart=chart, runs=retention.recent_runs(),
                           holds=holds, numbers=numbers, hold_form=hold_form,
                           release_form=ReleaseForm(), page_views=cookie_consent.page_views()
                           ), status


@bp.route("/retention")
def index() -> Any:
    _admin()
    return _page(HoldForm())


@bp.route("/retention/holds", methods=["POST"])
def place_hold() -> Any:
    _admin()
    form = HoldForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    account = db.session.execute(select(Account).where(
        Account.number == form.number.data)).scalar_one_or_none()
    if account is None:
        form.number.errors = ["No account has that client number."]
        return _page(form, 400)
    try:
        _, note = retention.place_hold(account, current_user, form.reason.data)
    except retention.HoldError as exc:
        form.number.errors = [str(exc)]
        return _page(form, 400)
    db.session.commit()
    flash(note or f"Legal hold placed on account {account.number}: its data is kept until "
          "you release the hold.")
    return redirect(url_for("privacy_retention.index"))


@bp.route("/retention/holds/release", methods=["POST"])
def release_hold() -> Any:
    _admin()
    form = ReleaseForm()
    if not form.validate_on_submit():
        flash("Give the reason for releasing the hold; nothing was changed.")
        return _page(HoldForm(), 400)
    hold = db.session.get(LegalHold, parse_id(form.hold_id.data))
    if hold is None:
        abort(404)
    try:
        retention.release_hold(hold, current_user, form.release_reason.data)
    except retention.HoldError as exc:
        flash(str(exc))
        return _page(HoldForm(), 400)
    db.session.commit()
    flash("The legal hold is released: the schedule applies again from the next run.")
    return redirect(url_for("privacy_retention.index"))


@bp.route("/accounts/<account_id>/closure", methods=["GET", "POST"])
def account_closure(account_id: str) -> Any:
    """Staff close (or reopen, in the grace period) an account, inside an access session."""
    account = get_or_404(current_user, Account, account_id)
    gate = hook().panel_account_access(viewer=current_user, account=account, purpose="close")
    if gate is not None:
        return gate
    form = ClosureForm()
    status = 200
    if form.validate_on_submit():
        if form.action.data == "close" and not confirm.confirmed():
            days = current_app.config["RETENTION_CLOSED_ACCOUNT_DAYS"]
            return confirm.ask(
                f"Close client #{account.number}?",
                "The customer is signed out everywhere and cannot sign in, and is emailed. "
                f"{days} days later their personal data is erased; until then the account can "
                "be reopened.", "Close the account",
                url_for("privacy_retention.account_closure", account_id=account.id))
        try:
            if form.action.data == "close":
                when = closure.close(account, current_user, by_staff=True)
                flash(f"Account {account.number} closed; its personal data will be erased on "
                      f"{when:%d %B %Y}.")
            elif form.action.data == "reopen":
                closure.reopen(account, current_user)
                flash(f"Account {account.number} reopened.")
            else:
                abort(400)
        except closure.ClosureError as exc:
            flash(str(exc))
            db.session.rollback()
            status = 400
        else:
            db.session.commit()
            return redirect(url_for("privacy_retention.account_closure", account_id=account.id))
    elif request.method == "POST":
        status = 400
    return render_template("privacy/retention/closure.html", account=account, form=form,
                           erase_on=closure.erase_on(account), erased=closure.is_erased(account),
                           held=retention.is_held(account.id)), status
