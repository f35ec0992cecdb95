"""Data requests: the subscriber files and follows them; staff verify and answer them."""

from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from panel import audit, confirm
from panel.accounts import masking
from panel.accounts.erasure import blockers
from panel.accounts.models import Account
from panel.audit import AuditEvent
from panel.auth.access import role_required
from panel.auth.models import ADMIN, STAFF, SUBSCRIBER, User
from panel.auth.passwords import verify as check_password
from panel.bodies import FORM_ALLOWANCE, body_limit
from panel.db_types import today
from panel.extensions import db
from panel.hooks import hook
from panel.paging import keyset
from panel.reseller.customers import reseller_active
from panel.tenancy import get_or_404, parse_id, scoped
from plugins.privacy.access.services import sessions as access
from plugins.privacy.center.forms import (
    DocumentForm,
    RefuseForm,
    RejectErasureForm,
    RequestForm,
    StaffRequestForm,
    VerifyForm,
)
from plugins.privacy.center.models import DataRequest, IdentityDocument
from plugins.privacy.center.services import approval
from plugins.privacy.center.services import requests as service

mine_bp = Blueprint("privacy_requests", __name__, url_prefix="/client/privacy/requests",
                    template_folder="../templates")
staff_bp = Blueprint("privacy_request_queue", __name__, url_prefix="/admin/privacy/requests",
                     template_folder="../templates")


@mine_bp.before_request
@role_required(SUBSCRIBER)
def _subscribers_only() -> None:
    return None


@staff_bp.before_request
@role_required(STAFF, ADMIN)
def _staff_only() -> None:
    return None


@mine_bp.route("/", methods=["GET", "POST"])
def mine() -> Any:
    account = db.session.execute(scoped(current_user, Account)).scalar_one_or_none()
    if account is None:
        abort(404)
    form = RequestForm()
    status = 200
    if form.validate_on_submit():
        if not check_password(current_user.password_hash, form.password.data):
            form.password.errors = ["That is not your password."]
        elif form.kind.data == "erasure" and not form.confirm_erasure.data:
            form.confirm_erasure.errors = ["Tick the box to confirm you want your data erased."]
        else:
            try:
                service.file(account, current_user, kind=form.kind.data,
                             details=form.details.data or "", purpose=form.purpose.data or None,
                             verified_by="panel-password")
            except service.RequestError as exc:
                form.kind.errors = [str(exc)]
            else:
                flash("Request received. We will answer within one month; you will get an "
                      "email at each step.")
                return redirect(url_for(".mine"))
        status = 400
    elif request.method == "POST":
        status = 400

    return render_template("privacy/center/requests_mine.html", form=form,
                           page=keyset(service.of_account(account),
                                       [DataRequest.received_at, DataRequest.id]),
                           blockers=blockers(account)), status


def _request(request_id: str) -> DataRequest:
    r = db.session.get(DataRequest, parse_id(request_id))
    if r is None:
        abort(404)
    get_or_404(current_user, Account, r.account_id)  # staff scope; house queue only below
    account = db.session.get(Account, r.account_id)
    if account is None or (account.reseller_id is not None  # a reseller's, in its own queue
                           and reseller_active(account.reseller_id)):  # unless suspended
        abort(404)
    return r


def _gate(account: Account) -> Any:
    """Every desk action on an account needs a live access session, through the one check
    every staff account action uses (panel_account_access, P16): a redirect to the access
    session form stops it before anything is written."""
    return hook().panel_account_access(viewer=current_user, account=account, purpose="request")


@staff_bp.route("/")
def queue() -> Any:
    page = keyset(service.house_queue_query(),
                  [DataRequest.due_on, DataRequest.received_at, DataRequest.id], descending=False)
    return render_template("privacy/center/requests_queue.html", page=page,
                           urgency=service.urgency, today=today(),
                           waiting=approval.pending_among(service.SUBJECT,
                                                          [r.id for r in page.rows]))


@staff_bp.route("/<request_id>")
def detail(request_id: str) -> Any:
    r = _request(request_id)
    account = db.session.get(Account, r.account_id)
    live = access.live_session(current_user, account)
    docs = db.session.execute(db.select(IdentityDocument).where(
        IdentityDocument.request_id == r.id)).scalars().all()
    asked = approval.latest(service.SUBJECT, r.id) if r.kind == "erasure" else None
    people = {u.id: u for u in db.session.execute(db.select(User).where(
        User.id.in_([asked.asked_by, asked.decided_by]))).scalars()} if asked else {}
    return render_template(
        "privacy/center/requests_detail.html", r=r, account=account, live=live, docs=docs,
        label=masking.email(account.user.email if account.user else None),
        verify_form=VerifyForm(), document_form=DocumentForm(), refuse_form=RefuseForm(),
        reject_form=RejectErasureForm(), urgency=service.urgency(r), asked=asked, people=people)


def _act(request_id: str, action: Any, danger: Any = None) -> Any:
    """``danger(r, account)`` gives (title, what happens, button) for an action that needs a
    confirming second POST; the first one only shows that page."""
    r = _request(request_id)
    account = db.session.get(Account, r.account_id)
    gate = _gate(account)
    if gate is not None:
        return gate
    if danger is not None and not confirm.confirmed():
        title, consequence, button = danger(r, account)
        return confirm.ask(title, consequence, button, url_for(".detail", request_id=r.id))
    try:
        action(r)
    except service.RequestError as exc:
        db.session.rollback()
        flash(str(exc))
    return redirect(url_for(".detail", request_id=r.id))


@staff_bp.route("/<request_id>/verify", methods=["POST"])
def verify(request_id: str) -> Any:
    form = VerifyForm()
    return _act(request_id, lambda r: service.verify(r, current_user, form.method.data or ""))


@staff_bp.route("/<request_id>/fulfil", methods=["POST"])
def fulfil(request_id: str) -> Any:
    def run(r: DataRequest) -> None:
        if service.fulfil(r, current_user):
            flash("Request fulfilled.")
        else:
            flash("Erasure asked for: it is carried out when another staff member approves it.")
    return _act(request_id, run)


@staff_bp.route("/<request_id>/approve", methods=["POST"])
def approve(request_id: str) -> Any:
    """The second pair of eyes: another staff member, in their own access session."""
    return _act(request_id, lambda r: (service.approve_erasure(r, current_user),
                                       flash("Erasure approved and carried out.")),
                lambda r, a: (f"Erase client #{a.number} now?",
                              "The customer's profile, sign-in, domain contacts, saved cards and "
                              "privacy data are erased at once and cannot be brought back. "
                              "Invoices stay for their legal retention. The customer is told.",
                              "Erase the data now"))


@staff_bp.route("/<request_id>/reject", methods=["POST"])
def reject(request_id: str) -> Any:
    form = RejectErasureForm()
    reason = form.reject_reason.data or "" if form.validate() else ""
    return _act(request_id, lambda r: (service.reject_erasure(r, current_user, reason),
                                       flash("Erasure rejected; the request is still open.")))


@staff_bp.route("/<request_id>/refuse", methods=["POST"])
def refuse(request_id: str) -> Any:
    form = RefuseForm()
    reason = form.reason.data or "" if form.validate() else ""
    return _act(request_id, lambda r: service.refuse(r, current_user, reason),
                (lambda r, a: (f"Refuse this {r.kind} request?",
                               f"The request of client #{a.number} is closed as refused, and "
                               f"the customer is emailed this reason: “{reason}”. It cannot be "
                               "reopened; the customer would have to ask again.",
                               "Refuse the request")) if reason else None)


@staff_bp.route("/<request_id>/document", methods=["POST"])
@body_limit(service.DOCUMENT_MAX_BYTES + FORM_ALLOWANCE)
def upload(request_id: str) -> Any:
    upload_file = request.files.get("document")
    data = upload_file.read(service.DOCUMENT_MAX_BYTES + 1) if upload_file else b""
    return _act(request_id, lambda r: service.attach_document(
        r, current_user, upload_file.filename if upload_file else "",
        upload_file.mimetype if upload_file else "", data))


@staff_bp.route("/<request_id>/document/<doc_id>")
def document(request_id: str, doc_id: str) -> Any:
    """Only inside a live access session on that account (P07): seen, recorded, soon gone."""
    r = _request(request_id)
    account = db.session.get(Account, r.account_id)
    gate = _gate(account)
    if gate is not None:
        return gate
    doc = db.session.get(IdentityDocument, parse_id(doc_id))
    if doc is None or doc.request_id != r.id:
        abort(404)
    audit.record(AuditEvent("identity_document.view", actor=current_user, account_id=account.id,
                            object=f"identity document for request {r.id}"))  # + the session
    db.session.commit()
    return Response(base64.b64decode(doc.content or ""), mimetype=doc.content_type,
                    headers={"Content-Disposition": "attachment; filename=identity-document",
                             "Cache-Control": "no-store"})


@staff_bp.route("/new/<account_id>", methods=["GET", "POST"])
def log_request(account_id: str) -> Any:
    """A request that came by email, phone or post: logged unverified (P07)."""
    account = get_or_404(current_user, Account, account_id)
    gate = _gate(account)
    if gate is not None:
        return gate
    form = StaffRequestForm()
    status = 200
    if form.validate_on_submit():
        try:
            r = service.file(account, current_user, kind=form.kind.data,
                             details=form.details.data or "", purpose=form.purpose.data or None,
                             channel=form.channel.data)
        except service.RequestError as exc:
            form.kind.errors = [str(exc)]
            status = 400
        else:
            return redirect(url_for(".detail", request_id=r.id))
    elif request.method == "POST":
        status = 400
    return render_template("privacy/center/requests_new.html", form=form, account=account,
                           label=masking.email(account.user.email if account.user else None)), status


@staff_bp.route("/child/<account_id>", methods=["POST"])
def mark_child(account_id: str) -> Any:
    """An account found to belong to a child under 13 is removed (P11): start its erasure."""
    account = get_or_404(current_user, Account, account_id)
    gate = _gate(account)
    if gate is not None:
        return gate
    if not confirm.confirmed():
        return confirm.ask(
            f"Mark client #{account.number} as a child's account?",
            "An account that belongs to a child under 13 is removed: this files an erasure "
            "request for the whole account, verified by the email on file. A second staff "
            "member's approval then erases it.",
            "Yes, it belongs to a child under 13", url_for("admin.customer", account_id=account.id))
    try:
        r = service.file(account, current_user, kind="erasure", channel="staff",
                         details="The account belongs to a child under 13 (P11).",
                         verified_by="email-on-file")
    except service.RequestError as exc:
        flash(str(exc))
        return redirect(url_for("admin.customer", account_id=account.id))
    return redirect(url_for(".detail", request_id=r.id))

