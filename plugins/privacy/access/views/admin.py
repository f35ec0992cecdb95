"""The trail in the admin area: does it verify, what happened (filtered, paged), and a CSV
export of what the filter found."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from flask import Blueprint, Response, g, render_template, request
from flask_login import current_user
from sqlalchemy.orm import Session

from panel import audit
from panel.audit import AuditEvent
from panel.auth.access import role_required
from panel.auth.models import ADMIN
from panel.extensions import db
from panel.jobs_models import JobRun
from panel.paging import keyset
from panel.reseller.branding import brand_for
from plugins.privacy.access.forms import TrailFilterForm
from plugins.privacy.access.models import AuditEntry
from plugins.privacy.access.services import trail, trail_query, words
from plugins.privacy.access.services.trail import VERIFY_JOB

bp = Blueprint("privacy_admin", __name__, url_prefix="/admin/audit",
               template_folder="../templates")


@bp.app_template_global("trail_line")
def trail_line(entry: AuditEntry) -> words.Line:
    """A trail entry as a sentence for whoever is looking (templates: ``_trail.html``)."""
    viewer = current_user if current_user.is_authenticated else None
    if "trail_provider" not in g:  # once per request, not once per row
        brand = brand_for(viewer) if viewer is not None and viewer.role == "subscriber" else None
        g.trail_provider = brand.name if brand else None
    return words.describe(entry, viewer, g.trail_provider)


@bp.before_request
@role_required(ADMIN)
def _admins_only() -> None:
    return None


#: The trail filter's fields, the only query arguments it reads or passes on to the export.
FILTER_ARGS = ("actor", "account", "action", "since", "until")


def _filter() -> tuple[TrailFilterForm, Any, bool]:
    """The filter form from the query string, its query, and whether it was valid (an
    invalid filter shows nothing rather than everything)."""
    form = TrailFilterForm(request.args)
    form.action.choices = [("", "Anything"), *words.action_choices()]
    asked = any(request.args.get(k) for k in FILTER_ARGS)
    if asked and not form.validate():
        return form, None, False
    try:
        stmt = trail_query.filtered(form.actor.data, form.account.data, form.action.data,
                                    form.since.data, form.until.data)
    except trail_query.UnknownAccount as exc:
        form.account.errors = [str(exc)]
        return form, None, False
    return form, stmt, True


@bp.route("/", methods=["GET", "POST"])
def index() -> Any:
    verdict = trail.verify() if request.method == "POST" else None
    last = db.session.get(JobRun, VERIFY_JOB)
    form, stmt, ok = _filter()
    page = keyset(stmt, [AuditEntry.seq]) if ok else None
    return render_template("privacy/access/admin_audit.html", verdict=verdict, last=last,
                           form=form, page=page, head=trail.head(),
                           export_args={k: v for k, v in request.args.items()
                                        if k in FILTER_ARGS and v}), (200 if ok else 400)


@bp.route("/export.csv")
def export() -> Any:
    """The filtered rows, all of them, streamed; the export itself goes on the trail."""
    form, stmt, ok = _filter()
    if not ok:
        return render_template("privacy/access/admin_audit.html", verdict=None, last=None,
                               form=form, page=None, head=trail.head(), export_args={}), 400
    asked = {k: v for k, v in request.args.items() if k in FILTER_ARGS and v}
    audit.record(AuditEvent("audit.export", actor=current_user, object="audit trail as CSV",
                            fields=sorted(asked)))
    db.session.commit()
    engine = db.engine
    viewer = SimpleNamespace(id=current_user.id, role=current_user.role,
                             account_id=current_user.account_id)

    def rows() -> Iterator[str]:
        # its own session: the body is sent after the view (and its app context) has ended
        with Session(engine) as session:
            yield from trail_query.csv_lines(session, stmt, viewer)

    return Response(rows(), mimetype="text/csv", headers={
                        "Content-Disposition": "attachment; filename=audit-trail.csv",
                        "Cache-Control": "no-store"})
