"""Approving staff access from the signed link in an email, without signing in."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from panel import audit
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.extensions import db
from panel.hooks import host
from plugins.privacy.access.services import act_as
from plugins.privacy.access.services import sessions as access

bp = Blueprint("privacy_access_link", __name__, url_prefix="/access",
               template_folder="../templates")


@bp.route("/approve/<token>", methods=["GET", "POST"])
def approve_link(token: str) -> Any:
    try:
        s = access.session_from_token(token)
    except access.AccessError as exc:
        audit.record(AuditEvent("access.approval_link", object="approval link",
                                result="refused: bad or expired link"[:32]))
        db.session.commit()
        return render_template("error.html", code=404, title="Link not valid",
                               message=str(exc)), 404
    staff = db.session.get(User, s.staff_id)
    if request.method == "POST":  # CSRF-protected like every form
        owner = s and db.session.execute(
            db.select(User).where(User.account_id == s.account_id)).scalar_one_or_none()
        try:
            if owner is None:
                raise access.AccessError("This account can no longer approve requests.")
            access.decide(s, owner, approve=request.form.get("decision") == "approve")
        except access.AccessError as exc:
            return render_template("privacy/access/approve_link.html", s=s, staff=staff, error=str(exc)), 409
        return render_template("privacy/access/approve_link.html", s=s, staff=staff, done=True)
    return render_template("privacy/access/approve_link.html", s=s, staff=staff)


@bp.route("/act-as/stop", methods=["POST"])
def stop_acting() -> Any:
    return act_as.stop()


@bp.before_app_request
def _while_acting_as_a_customer() -> Any:
    if not host().is_active("privacy"):
        return None
    return act_as.before_request()
