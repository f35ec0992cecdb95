"""Support staff and admins under /admin/: customers, plugins."""

from __future__ import annotations

import unicodedata
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import false, select

from panel import audit, confirm, hooks
from panel.accounts.forms import CustomerSearchForm
from panel.accounts.models import Account
from panel.accounts.views import customer_page, customer_rows
from panel.audit import AuditEvent
from panel.auth.access import role_required
from panel.auth.models import ADMIN, STAFF, User
from panel.billing import cancellation
from panel.domains.models import Domain
from panel.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@role_required(STAFF, ADMIN)
def _staff_only() -> None:
    return None


def _search_clause(term: str) -> Any:
    """Exact lookups only: client number, domain name, or email/phone through blind indexes."""
    term = term.strip()[:254]
    if any(unicodedata.category(ch) == "Cc" for ch in term):
        return false()  # no stored value contains control characters
    if term.isascii() and term.isdigit():
        return Account.number == int(term) if len(term) <= 9 else false()
    if "@" in term:
        return Account.id.in_(select(User.account_id).where(User.email.matches(term)))
    if term.startswith("+"):
        return Account.phone.matches(term)
    return Account.id.in_(select(Domain.account_id).where(Domain.name == term.lower()))


@bp.route("/", methods=["GET", "POST"])
def dashboard() -> Any:
    """The search term comes by POST (CustomerSearchForm says why); a ?q= is ignored. So the
    pages of a search are POSTs too, carrying the term and the cursor in the form."""
    form = CustomerSearchForm()
    term = (form.q.data or "") if form.validate_on_submit() else ""
    if term.strip():
        page = customer_rows(_search_clause(term), args={
            k: request.form[k] for k in ("after", "before", "per") if k in request.form})
    else:
        page = customer_rows()
    return render_template("admin/dashboard.html", page=page, form=form, q=term,
                           cancellations=cancellation.pending_count(current_user))


@bp.route("/cancellations")
def cancellations() -> Any:
    """Every customer's cancellation requests: product and client id, no personal data."""
    return render_template("cancellations.html", customer_endpoint="admin.customer",
                           page=cancellation.requests(current_user))


@bp.route("/customers/<account_id>", methods=["GET", "POST"])
def customer(account_id: str) -> Any:
    return customer_page("admin/customer.html", account_id, "admin.customer")


@bp.route("/plugins", methods=["GET", "POST"])
def plugins() -> Any:
    if current_user.role != ADMIN:
        abort(404)
    host = hooks.host()
    if request.method == "POST":
        name = request.form.get("name", "")
        if name not in host.modules:
            abort(404)
        action = request.form.get("action")
        if action not in ("activate", "deactivate"):
            abort(400)
        active = action == "activate"
        if not active and not confirm.confirmed():
            title = host.info(name).get("title") or name
            return confirm.ask(
                f"Deactivate the {title} plugin?",
                f"Every page of the {title} plugin will answer “not found” for everyone, and "
                "none of its hooks will run (its checks, notices and jobs stop) until an admin "
                "activates it again. Its data stays in the database.",
                f"Deactivate {title}", url_for(".plugins"))
        event = AuditEvent(f"plugin.{'activate' if active else 'deactivate'}", actor=current_user,
                           object=f"plugin {name}")
        if not active:
            audit.record(event)  # while the trail still listens; commits with the change
        host.set_active(name, active)
        if active:
            audit.record(event)
            db.session.commit()
        flash(f"Plugin {name} {'activated' if active else 'deactivated'}.")
        return redirect(url_for(".plugins"))
    rows = [{"name": n, "info": host.info(n), "active": host.is_active(n)} for n in host.modules]
    return render_template("admin/plugins.html", plugins=rows)
