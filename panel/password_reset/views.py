"""Pages: "Forgot password?", the reset link, and the admin's Team page for staff resets."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, logout_user

from panel.auth.access import role_required
from panel.auth.models import ADMIN, User
from panel.crypto import normalise
from panel.extensions import db, limiter
from panel.password_reset import services
from panel.password_reset.forms import ForgotForm, ResetForm, TeamResetForm
from panel.tenancy import parse_id

bp = Blueprint("password_reset", __name__)
admin_bp = Blueprint("password_reset_admin", __name__, url_prefix="/admin/team")

TOO_MANY = ("Too many reset requests from here or for this address. Wait an hour and try "
            "again; the link already sent still works.")


def _address_key() -> str:
    """Rate-limit key per address, hashed so the limiter's storage holds no addresses."""
    email = normalise.email(request.form.get("email", "")[:254])
    return "reset-address:" + hashlib.sha256(email.encode()).hexdigest()


def _too_many(_limit: Any) -> Any:
    return make_response(render_template("error.html", code=429, title="Too many attempts",
                                         message=TOO_MANY, link="Back to sign-in",
                                         target=url_for("auth.login")), 429)


def _failed(response: Any) -> bool:
    return response.status_code != 302


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_LIMIT_PER_IP"], methods=["POST"],
               on_breach=_too_many)
@limiter.limit(lambda: current_app.config["RESET_LIMIT_PER_ADDRESS"], methods=["POST"],
               key_func=_address_key, on_breach=_too_many)
def forgot() -> Any:
    """The same answer, after the same work, for every address (services.request)."""
    form = ForgotForm()
    if form.validate_on_submit():
        services.request(form.email.data)
        return render_template("password_reset/sent.html", email=form.email.data)
    status = 400 if request.method == "POST" else 200
    return render_template("password_reset/forgot.html", form=form), status


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"],
               deduct_when=_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=lambda: "reset-link:" + hashlib.sha256(
                   request.path.encode()).hexdigest(), deduct_when=_failed)
def reset(token: str) -> Any:
    """GET shows the form and changes nothing (mail scanners fetch links); POST sets the
    password, after the second step when the account has one."""
    try:
        link = services.check(token)
    except services.ResetError as exc:
        title = "Link not valid" if exc.status == 404 else "Link no longer valid"
        return render_template("password_reset/link_error.html", title=title,
                               message=str(exc)), exc.status
    form = ResetForm()
    if link.needs_code and link.user.recovery_hashes:
        form.code.label.text = "Code from your authenticator app (or a recovery code)"
    if form.validate_on_submit():
        if link.needs_code and not (form.code.data or "").strip():
            form.code.errors = ["Enter the code from your authenticator app."]
        else:
            try:
                services.complete(link, form.new.data, form.code.data)
            except services.WrongCode as exc:
                form.code.errors = [str(exc)]
            except services.ResetError as exc:
                return render_template("password_reset/link_error.html",
                                       title="Link no longer valid", message=str(exc)), exc.status
            else:
                logout_user()
                session.clear()
                flash("Your password is changed and every session was signed out. Sign in with "
                      "your new password.")
                return redirect(url_for("auth.login"))
    status = 400 if form.is_submitted() else 200
    return render_template("password_reset/reset.html", form=form, email=link.user.email,
                           needs_code=link.needs_code), status


# --- an admin resets a staff member's password ------------------------------------------------


@admin_bp.before_request
@role_required(ADMIN)
def _admins_only() -> None:
    return None


@admin_bp.route("/")
def team() -> Any:
    return render_template("password_reset/team.html", people=services.team(current_user),
                           form=TeamResetForm())


@admin_bp.route("/<user_id>/reset", methods=["POST"])
def team_reset(user_id: str) -> Any:
    person = db.session.get(User, parse_id(user_id))
    if person is None or not person.is_staff or person.id == current_user.id:
        abort(404)
    form = TeamResetForm()
    if not form.validate_on_submit():
        flash("The form expired; try again.")
        return redirect(url_for("password_reset_admin.team"))
    try:
        services.admin_send(current_user, person, second_factor=form.second_factor.data)
    except services.NotAllowed as exc:
        db.session.rollback()
        flash(str(exc))
    else:
        flash(f"A reset link was emailed to {person.label}; it works once, for one hour."
              + (" Their two-step sign-in is off until they set it up again."
                 if form.second_factor.data else ""))
    return redirect(url_for("password_reset_admin.team"))
