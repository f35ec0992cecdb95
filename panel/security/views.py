"""`/account/security`: the password, two-step sign-in and its recovery codes, for every role.

Passkeys and signed-in devices have their own packages; the page includes their partials
(``security/_passkeys.html``, ``security/_devices.html``) where they are installed.
Enrolling an authenticator app stays at ``/account/2fa`` (``auth.totp_setup``), where the
sign-in gate sends a reseller, staff member or admin who has none yet.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from panel.auth import totp
from panel.auth.models import User
from panel.db_types import utcnow
from panel.extensions import db
from panel.security import services
from panel.security.forms import (
    CODE_LABEL,
    CODE_OR_RECOVERY_LABEL,
    CodesForm,
    RegenerateCodesForm,
    TurnOffForm,
)

bp = Blueprint("security", __name__, url_prefix="/account/security")


@bp.before_request
@login_required
def _signed_in() -> None:
    return None


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return,attr-defined]


def _status(form_posted: bool) -> int:
    return 400 if form_posted else 200


@bp.route("")
def index() -> Any:
    user = _user()
    return render_template("security/index.html", status=services.overview(user),
                           may_turn_off=services.may_turn_off(user),
                           regenerate=RegenerateCodesForm())


@bp.route("/recovery-codes", methods=["POST"])
def regenerate() -> Any:
    user = _user()
    form = RegenerateCodesForm()
    if not user.totp_secret:
        flash("Recovery codes come with two-step sign-in: set it up first.")
        return redirect(url_for("auth.totp_setup"))
    if form.validate_on_submit():
        codes = services.regenerate_recovery_codes(user, form.password.data)
        if codes is not None:
            db.session.commit()
            return render_template("security/recovery_codes.html", codes=codes)
        form.password.errors = [services.WRONG_PASSWORD]
    db.session.rollback()
    return render_template("security/index.html", status=services.overview(user),
                           may_turn_off=services.may_turn_off(user), regenerate=form), 400


def _posted_codes() -> list[str] | str:
    """The codes just shown, if the form is genuine and they are still unused; else why not."""
    form = CodesForm()
    if not form.validate_on_submit():
        return "This form expired: make new recovery codes below."
    codes = totp.unused_recovery_codes(_user(), form.codes.data.split()[:totp.RECOVERY_CODES])
    return codes or "Those recovery codes are no longer valid: make new ones below."


def _gone(why: str) -> Any:
    flash(why)
    return redirect(url_for("security.index"))


@bp.route("/recovery-codes.txt", methods=["POST"])
def download() -> Any:
    codes = _posted_codes()
    if isinstance(codes, str):
        return _gone(codes)
    user = _user()
    body = "\n".join([f"Recovery codes for {user.email} (hosting panel)",
                      f"Made on {utcnow():%d %B %Y}. Each code works once.", "", *codes, ""])
    return Response(body, mimetype="text/plain", headers={
        "Content-Disposition": 'attachment; filename="recovery-codes.txt"',
        "Cache-Control": "no-store"})


@bp.route("/recovery-codes/print", methods=["POST"])
def print_view() -> Any:
    codes = _posted_codes()
    if isinstance(codes, str):
        return _gone(codes)
    response = Response(render_template("security/recovery_codes_print.html", codes=codes,
                                        made_on=utcnow()))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/two-step/off", methods=["GET", "POST"])
def turn_off() -> Any:
    user = _user()
    if not user.totp_secret:
        flash("Two-step sign-in is already off.")
        return redirect(url_for("security.index"))
    form = TurnOffForm()
    form.code.label.text = CODE_OR_RECOVERY_LABEL if totp.recovery_codes_left(user) else CODE_LABEL
    allowed = services.may_turn_off(user)
    if not allowed:
        return render_template("security/turn_off.html", form=None,
                               refusal=services.REQUIRED), 403 if request.method == "POST" else 200
    if form.validate_on_submit():
        error = services.turn_off(user, form.password.data, form.code.data)
        if error is None:
            db.session.commit()
            flash("Two-step sign-in is off. Your account signs in with the password alone.")
            return redirect(url_for("security.index"))
        db.session.rollback()
        field = form.password if error == services.WRONG_PASSWORD else form.code
        field.errors = [error]
    return render_template("security/turn_off.html", form=form, refusal=None), \
        _status(request.method == "POST")
