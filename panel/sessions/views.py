"""Signed-in devices: every live session of the user's, each of which can be ended."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from panel import audit
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.auth.services import sign_out_everywhere
from panel.extensions import db
from panel.sessions import services as sessions

bp = Blueprint("sessions", __name__, url_prefix="/account/security/devices")


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return,attr-defined]


@bp.app_template_global()
def signed_in_devices() -> list[dict[str, Any]]:
    """For ``security/_devices.html``, wherever it is included: the signed-in user's sessions."""
    if not current_user.is_authenticated:
        return []
    here = sessions.current()
    return [{"id": row.id, "browser": row.browser, "ip": row.ip, "created_at": row.created_at,
             "last_seen_at": row.last_seen_at, "current": here is not None and row.id == here.id}
            for row in sessions.for_user(_user())]


@bp.route("")
@login_required
def devices() -> Any:
    return render_template("sessions/devices.html")


@bp.route("/<uuid:device_id>/end", methods=["POST"])
@login_required
def end(device_id: uuid.UUID) -> Any:
    user, here = _user(), sessions.current()
    row = sessions.end_one(user, device_id)
    if row is None:
        abort(404)  # someone else's, or already over: never say which
    audit.record(AuditEvent("session.end", actor=user, account_id=user.account_id,
                            object=f"session in {row.browser}"))
    db.session.commit()
    if here is not None and row.id == here.id:
        logout_user()
        session.clear()
        flash("You have signed out of this browser.")
        return redirect(url_for("auth.login"))
    flash(f"{row.browser} has been signed out.")
    return redirect(url_for("sessions.devices"))


@bp.route("/end-others", methods=["POST"])
@login_required
def end_others() -> Any:
    user = _user()
    sign_out_everywhere(user, keep=sessions.current())
    audit.record(AuditEvent("sessions.revoke", actor=user, account_id=user.account_id,
                            object="every other session"))
    db.session.commit()
    login_user(user)  # this browser carries the new token and keeps its session
    flash("Every other browser and device has been signed out.")
    return redirect(url_for("sessions.devices"))
