"""The privacy service's published identity, under /admin/whois/ (admins only)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from panel import audit
from panel.audit import AuditEvent
from panel.auth.access import role_required
from panel.auth.models import ADMIN
from panel.extensions import db
from plugins.privacy.whois.forms import IdentityForm
from plugins.privacy.whois.models import DEFAULT_IDENTITY
from plugins.privacy.whois.services import lookup as whois_data

bp = Blueprint("privacy_whois_admin", __name__, url_prefix="/admin/whois",
               template_folder="../templates")


@bp.before_request
@role_required(ADMIN)
def _admins_only() -> None:
    return None


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> Any:
    if current_user.role != ADMIN:
        abort(404)
    current = asdict(whois_data.identity())
    form = IdentityForm(data=current)
    status = 200
    if form.validate_on_submit():
        values = {k: (getattr(form, k).data or "").strip() for k in DEFAULT_IDENTITY}
        changed = whois_data.save_identity(values)
        if changed:
            audit.record(AuditEvent("whois.settings", actor=current_user,
                                    object="WHOIS privacy service identity", fields=changed))
        db.session.commit()
        flash("Saved; WHOIS and RDAP show the new details now." if changed else "Nothing changed.")
        return redirect(url_for(".settings"))
    if form.errors:
        status = 400
    return render_template("privacy/whois/settings.html", form=form,
                           example=whois_data.identity().contact_url("example.test")), status
