"""Complaint cases for support staff, under /admin/complaints/ (P20). Every page that shows a
case's personal data needs a live access session on the customer's account."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from panel import audit
from panel.accounts.models import Account
from panel.audit import AuditEvent
from panel.auth.access import role_required
from panel.auth.models import ADMIN, STAFF
from panel.bodies import body_limit
from panel.extensions import db
from panel.hooks import hook
from panel.tenancy import parse_id
from plugins.privacy.whois.forms import CloseForm, DocumentForm, DomainSearchForm
from plugins.privacy.whois.models import LIVE, CaseDocument, ComplaintCase
from plugins.privacy.whois.services import disclosure
from plugins.privacy.whois.services import lookup as whois_data
from plugins.privacy.whois.services.disclosure import CaseError
from plugins.privacy.whois.views.domains import UPLOADS_LIMIT, uploads

bp = Blueprint("privacy_complaints", __name__, url_prefix="/admin/complaints",
               template_folder="../templates")


@bp.before_request
@role_required(STAFF, ADMIN)
def _staff_only() -> None:
    return None


@bp.route("/", methods=["GET", "POST"])
def index() -> Any:
    """Open cases first; domain names and dates only, no complainant or customer data. A
    domain name typed in the search box (POSTed, so it is in no URL) leads to that domain's
    staff page."""
    form = DomainSearchForm()
    term = (form.domain.data or "").strip() if form.validate_on_submit() else ""
    if term:
        try:
            found = whois_data.find(whois_data.normalise_name(term))
        except whois_data.BadName:
            found = None
        if found is not None:
            return redirect(url_for("privacy_whois_staff.domain_page", domain_id=found.id))
        flash(f"No domain named {term[:253]!r} is registered here.")
    rows = db.session.execute(select(ComplaintCase).order_by(
        ComplaintCase.status.in_(LIVE).desc(), ComplaintCase.due_at).limit(200)).scalars().all()
    return render_template("privacy/whois/cases.html", cases=rows, form=form)


def _case(case_id: str) -> tuple[ComplaintCase | None, Any]:
    found = db.session.get(ComplaintCase, parse_id(case_id))
    if found is None:
        abort(404)
    account = db.session.get(Account, found.account_id)
    gate = hook().panel_account_access(viewer=current_user, account=account, purpose="complaint")
    return (None, gate) if gate is not None else (found, None)


def _page(found: ComplaintCase, close_form: CloseForm, doc_form: DocumentForm,
          status: int = 200) -> Any:
    return render_template("privacy/whois/case_staff.html", case=found, form=close_form,
                           doc_form=doc_form, documents=disclosure.documents(found),
                           events=disclosure.events(found), labels=disclosure.EVENT_LABELS), status


@bp.route("/<case_id>", methods=["GET", "POST"])
def detail(case_id: str) -> Any:
    found, gate = _case(case_id)
    if found is None:
        return gate
    form = CloseForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                disclosure.close(found, current_user, form.outcome.data, form.note.data)
            except CaseError as exc:
                form.outcome.errors = [str(exc)]
                return _page(found, form, DocumentForm(formdata=None), 400)
            flash(f"Case closed: {found.status_label}.")
            return redirect(url_for(".detail", case_id=found.id))
        return _page(found, form, DocumentForm(formdata=None), 400)
    audit.record(AuditEvent("complaint.view", actor=current_user, account_id=found.account_id,
                            object=f"domain {found.domain_name} complaint {found.id}"))
    db.session.commit()
    return _page(found, form, DocumentForm(formdata=None))


@bp.post("/<case_id>/documents")
@body_limit(UPLOADS_LIMIT)
def add_documents(case_id: str) -> Any:
    found, gate = _case(case_id)
    if found is None:
        return gate
    form = DocumentForm()
    if not form.validate_on_submit():
        return _page(found, CloseForm(formdata=None), form, 400)
    try:
        disclosure.add_documents(found, current_user, uploads(request.files.getlist("documents")))
    except CaseError as exc:
        form.documents.errors = [str(exc)]
        return _page(found, CloseForm(formdata=None), form, 400)
    flash("Documents added to the case.")
    return redirect(url_for(".detail", case_id=found.id))


@bp.get("/<case_id>/documents/<doc_id>")
def document(case_id: str, doc_id: str) -> Any:
    """A complaint document, decrypted as it is sent; each opening goes on the trail."""
    found, gate = _case(case_id)
    if found is None:
        return gate
    doc = db.session.get(CaseDocument, parse_id(doc_id))
    if doc is None or doc.case_id != found.id:
        abort(404)
    audit.record(AuditEvent("complaint.document_view", actor=current_user,
                            account_id=found.account_id,
                            object=f"domain {found.domain_name} complaint {found.id} document"))
    db.session.commit()
    ext = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}.get(
        doc.content_type, "txt")
    return Response(disclosure.document_bytes(doc), mimetype=doc.content_type, headers={
        "Content-Disposition": f"attachment; filename=complaint-document.{ext}",
        "Cache-Control": "no-store"})
