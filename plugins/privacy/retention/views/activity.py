"""The subscriber's activity (P21) and visits pages, and closing the account (P09)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_user, logout_user

from panel.accounts.erasure import blockers
from panel.auth.access import role_required
from panel.auth.models import SUBSCRIBER, User
from panel.auth.passwords import verify as check_password
from panel.domains.models import Domain
from panel.extensions import db
from panel.tenancy import own_account, scoped
from plugins.privacy.retention.forms import CloseForm, SignOutOthersForm
from plugins.privacy.retention.services import activity, closure, visitor_logs
from plugins.privacy.retention.services.svg_chart import bars

bp = Blueprint("privacy_activity", __name__, url_prefix="/client/privacy/activity",
               template_folder="../templates")


@bp.before_request
@role_required(SUBSCRIBER)
def _subscribers_only() -> None:
    return None


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return,attr-defined]


@bp.route("")
def index() -> Any:
    account = own_account(current_user)
    return render_template("privacy/retention/activity_index.html", page=activity.history(account),
                           form=SignOutOthersForm())


@bp.route("/sign-out-others", methods=["POST"])
def sign_out_others() -> Any:
    form = SignOutOthersForm()
    if not form.validate_on_submit():
        flash("This form expired: try again.")
        return redirect(url_for("privacy_activity.index"))
    user = _user()
    activity.sign_out_others(user)
    db.session.commit()
    login_user(user)  # this browser carries the new token; every other one is signed out
    flash("Every other session has been signed out.")
    return redirect(url_for("privacy_activity.index"))


@bp.route("/visits")
def visits() -> Any:
    domains = list(db.session.execute(scoped(current_user, Domain).order_by(Domain.name))
                   .scalars())
    series = visitor_logs.daily([d.id for d in domains])
    charts = [{"domain": d, "rows": series[d.id],
               "chart": bars([(day.isoformat(), req) for day, req, _ in series[d.id]],
                             f"Requests per day to {d.name}"),
               "visitors": bars([(day.isoformat(), v) for day, _, v in series[d.id]],
                                f"Distinct visitor networks per day on {d.name}")}
              for d in domains]
    return render_template("privacy/retention/activity_visits.html", charts=charts)


@bp.route("/close", methods=["GET", "POST"])
def close() -> Any:
    account = own_account(current_user)
    form = CloseForm()
    status = 200
    if form.validate_on_submit():
        user = _user()
        if not check_password(user.password_hash, form.password.data):
            form.password.errors = ["That password is not right."]
            status = 400
        else:
            try:
                when = closure.close(account, user)
            except closure.ClosureError as exc:
                if not blockers(account):  # blockers are listed below, each with its link
                    flash(str(exc))
                status = 400
            else:
                db.session.commit()
                logout_user()
                flash(f"Your account is closed. Your personal data will be erased on "
                      f"{when:%d %B %Y}; until then, support can reopen it.")
                return redirect(url_for("auth.login"))
    elif form.is_submitted():
        status = 400
    return render_template("privacy/retention/activity_close.html", form=form,
                           days=current_app.config["RETENTION_CLOSED_ACCOUNT_DAYS"],
                           blocked=blockers(account)), status
