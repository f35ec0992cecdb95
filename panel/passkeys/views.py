"""Passkey pages: the list (add, remove) at /account/security/passkeys, and signing in with
one, on its own from the sign-in page or as the second step after the password.

Each ceremony is two POSTs of the same form (CSRF token included): ``…/options`` answers the
options as JSON, static/passkeys.js asks the browser for the passkey and puts its answer in
the form's hidden ``credential`` field, then sends the form. Without JavaScript the form
still goes, empty, and the panel says what is missing; the list and removal need none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required

from panel.auth.forms import CodeForm, LoginForm
from panel.auth.models import User
from panel.auth.signin import finish_sign_in, pending_second_step
from panel.bodies import body_limit
from panel.extensions import db, limiter
from panel.hooks import hook
from panel.passkeys import services
from panel.passkeys.forms import AddPasskeyForm, AnswerForm, RemovePasskeyForm
from panel.passkeys.models import Passkey

bp = Blueprint("passkeys", __name__)

#: The form, its CSRF token and the answer: far below the panel's 1 MiB default.
BODY_LIMIT = 32 * 1024
TIMED_OUT = "Sign in again: the second step timed out."


def _failed(response: Any) -> bool:
    return response.status_code not in (200, 302)


@dataclass
class PasskeyPanel:
    """What the passkey section of a page shows (templates/security/_passkeys.html)."""

    passkeys: list[Passkey]
    add_form: AddPasskeyForm
    usable: bool
    error: str | None = None
    removed: list[str] = field(default_factory=list)


def _panel(user: User, form: AddPasskeyForm | None = None, error: str | None = None) -> PasskeyPanel:
    return PasskeyPanel(passkeys=services.passkeys_of(user), add_form=form or AddPasskeyForm(),
                        usable=services.relying_party().usable, error=error)


@bp.app_template_global("passkey_panel")
def passkey_panel() -> PasskeyPanel | None:
    """For the Security page: its passkey section renders from this."""
    if not current_user.is_authenticated:
        return None
    return _panel(current_user._get_current_object())  # type: ignore[attr-defined]


@bp.app_template_global("passkey_second_step_offered")
def passkey_second_step_offered() -> bool:
    """The code step offers a passkey instead when the person signing in has one."""
    pending = pending_second_step()
    return pending is not None and services.has_passkeys(pending[0])


def _me() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined]


@bp.route("/account/security/passkeys", methods=["GET"])
@login_required
def page() -> Any:
    return render_template("passkeys/page.html", passkeys_panel=_panel(_me()))


@bp.route("/account/security/passkeys/options", methods=["POST"])
@body_limit(BODY_LIMIT)
@login_required
def register_options() -> Any:
    if not services.relying_party().usable:
        return jsonify(error=UNUSABLE), 409
    return current_app.response_class(services.registration_options(_me()),
                                      mimetype="application/json")


UNUSABLE = ("Passkeys need the panel to be reached by its host name, not an IP address. "
            "Ask the operator to set PANEL_BASE_URL to the panel's address.")


@bp.route("/account/security/passkeys", methods=["POST"])
@body_limit(BODY_LIMIT)
@login_required
def add() -> Any:
    user, form = _me(), AddPasskeyForm()
    if not form.validate_on_submit():
        return render_template("passkeys/page.html", passkeys_panel=_panel(user, form)), 400
    try:
        services.finish_registration(user, form.credential.data, form.name.data)
    except services.PasskeyError as exc:
        db.session.rollback()
        return render_template("passkeys/page.html",
                               passkeys_panel=_panel(user, form, str(exc))), 400
    flash(f"Passkey “{form.name.data}” added. You can now sign in with it.")
    return redirect(_back())


@bp.route("/account/security/passkeys/remove", methods=["POST"])
@login_required
def remove() -> Any:
    form = RemovePasskeyForm()
    if not form.validate_on_submit():
        abort(400)
    key = services.remove(_me(), form.passkey.data)
    if key is None:
        abort(404)  # not one of yours: as if it did not exist
    flash(f"Passkey “{key.name}” removed. It can no longer sign in to this panel.")
    return redirect(_back())


def _back() -> str:
    """Back to the Security page when the form was sent from there, else to this page."""
    referrer = request.referrer or ""
    if ("/account/security/passkeys" not in referrer and "/account/security" in referrer
            and "security.index" in current_app.view_functions):
        return url_for("security.index")
    return url_for("passkeys.page")


# --- signing in ---------------------------------------------------------------------------


@bp.route("/login/passkey/options", methods=["POST"])
@body_limit(BODY_LIMIT)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"])
def sign_in_options() -> Any:
    """Options for signing in: for the person who passed the password if there is one (the
    second step), else for any passkey (on its own)."""
    if not services.relying_party().usable:
        return jsonify(error=UNUSABLE), 409
    second = request.form.get("step") == "second"
    pending = pending_second_step() if second else None
    if second and pending is None:
        return jsonify(error=TIMED_OUT), 409
    return current_app.response_class(
        services.authentication_options(pending[0] if pending else None),
        mimetype="application/json")


@bp.route("/login/passkey", methods=["POST"])
@body_limit(BODY_LIMIT)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"],
               deduct_when=_failed)
def sign_in() -> Any:
    """A passkey on its own: it names the account and proves it (with the person verified)."""
    if current_user.is_authenticated:
        return redirect(url_for("public.index"))
    form = AnswerForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        user = services.finish_authentication(form.credential.data, None)
    except services.PasskeyError as exc:
        return _refused(exc, "passkey", "auth/login.html", LoginForm())
    session.clear()  # rotate: nothing from before sign-in survives
    return finish_sign_in(user, "passkey", None)


@bp.route("/login/verify/passkey", methods=["POST"])
@body_limit(BODY_LIMIT)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"],
               deduct_when=_failed)
def second_step() -> Any:
    """The second step with a passkey instead of a code from the app."""
    pending = pending_second_step()
    if pending is None:
        flash(TIMED_OUT)
        return redirect(url_for("auth.login"))
    user, target = pending
    form = AnswerForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.finish_authentication(form.credential.data, user)
    except services.PasskeyError as exc:
        return _refused(exc, "password+passkey", "auth/verify.html", CodeForm())
    session.clear()
    return finish_sign_in(user, "password+passkey", target)


def _refused(exc: services.PasskeyError, method: str, template: str, form: Any) -> Any:
    db.session.rollback()
    if exc.user is not None:  # only a proof for a known account is a failed sign-in of its
        hook().panel_login_failed(user=exc.user, method=method, reason=exc.reason)
        db.session.commit()
    status = 403 if exc.reason == "suspended" else 400
    return render_template(template, form=form, passkey_error=str(exc)), status
