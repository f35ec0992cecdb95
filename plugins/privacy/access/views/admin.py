"""The trail in the admin area: does it verify, and what happened lately."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from sqlalchemy import select

from panel.auth.access import role_required
from panel.auth.models import ADMIN
from panel.extensions import db
from panel.jobs_models import JobRun
from plugins.privacy.access.models import AuditEntry
from plugins.privacy.access.services import trail
from plugins.privacy.access.services.trail import VERIFY_JOB

bp = Blueprint("privacy_admin", __name__, url_prefix="/admin/audit",
               template_folder="../templates")


@bp.before_request
@role_required(ADMIN)
def _admins_only() -> None:
    return None


@bp.route("/", methods=["GET", "POST"])
def index() -> Any:
    verdict = trail.verify() if request.method == "POST" else None
    last = db.session.get(JobRun, VERIFY_JOB)
    entries = db.session.execute(
        select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(100)).scalars().all()
    return render_template("privacy/access/admin_audit.html", verdict=verdict, last=last,
                           entries=entries, head=trail.head())
