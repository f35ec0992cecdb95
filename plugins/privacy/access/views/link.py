"""Approving staff access from the signed link in an email, without signing in."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user

from panel import audit
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.extensions import db
from panel.hooks import host
from plugins.privacy.access.services import act_as
from plugins.privacy.access.services import help as staff_help
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


@bp.route("/help/<token>", methods=["GET", "POST"])
def cancel_help(token: str) -> Any:
    """The cancel link in the email about support's sign-in help: GET shows the request and a
    button (link scanners change nothing), POST (CSRF-protected) cancels it."""
    try:
        row = staff_help.from_token(token)
        if not staff_help.may_cancel(row, current_user):
            raise staff_help.HelpError("This link is for the customer it was sent to: staff, "
                                       "resellers and other customers cannot cancel it for "
                                       "them.", 403)
    except staff_help.HelpError as exc:
        title = {403: "Not your link", 410: "Link expired"}.get(exc.status, "Link not valid")
        return render_template("error.html", code=exc.status, title=title, message=str(exc),
                               link="Sign in", target=url_for("auth.login")), exc.status
    page = {"row": row, "staff": staff_help.staff_label(row)}
    if request.method == "POST":
        try:
            staff_help.cancel(row, current_user)
        except staff_help.HelpError as exc:
            return render_template("privacy/access/help_link.html", **page,
                                   error=str(exc)), exc.status
        return render_template("privacy/access/help_link.html", **page, done=True)
    return render_template("privacy/access/help_link.html", **page,
                           settled=staff_help.settled(row))


@bp.route("/act-as/stop", methods=["POST"])
def stop_acting() -> Any:
    return act_as.stop()


@bp.before_app_request
def _while_acting_as_a_customer() -> Any:
    if not host().is_active("privacy"):
        return None
    return act_as.before_request()
