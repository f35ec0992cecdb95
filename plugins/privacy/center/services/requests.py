"""Data requests (P07, P08, P09): filed, verified, answered within one calendar month.

Requests from a reseller's customers belong to that reseller's queue (their controller);
the house queue shows the house's own customers.
"""

from __future__ import annotations

import base64
import calendar
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, select

from panel import audit
from panel.accounts.erasure import ErasureRefused, blockers, erase
from panel.accounts.models import Account
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.db_types import today, utcnow
from panel.extensions import db
from panel.mail.outbox import queue
from panel.metrics import Reading
from panel.reseller.branding import mail_branding
from panel.urls import external_url
from plugins.privacy.center.models import (
    FULFILLED,
    KINDS,
    OPEN,
    RECEIVED,
    REFUSED,
    VERIFIED,
    VERIFY_METHODS,
    DataRequest,
    IdentityDocument,
)
from plugins.privacy.center.services import approval, export
from plugins.privacy.processing.models import PURPOSES
from plugins.privacy.processing.services import limit

DOCUMENT_TYPES = {"application/pdf", "image/png", "image/jpeg"}
DOCUMENT_MAX_BYTES = 5 * 1024 * 1024
DOCUMENT_DAYS = 30
BILLING_YEARS = 7
SUBJECT = "request"  # what an erasure approval of a data request is for


class RequestError(ValueError):
    """A request that cannot be filed or decided; the message is for the person who tried."""


def add_month(day: date) -> date:
    """One calendar month later, clamped to the month's end (31 Jan -> 28/29 Feb)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def of_account(account: Account) -> Select[tuple[DataRequest]]:
    """The account's requests, for a keyset-paged list on (received_at, id)."""
    return select(DataRequest).where(DataRequest.account_id == account.id)


def for_account(account: Account) -> list[DataRequest]:
    return list(db.session.execute(of_account(account)
                                   .order_by(DataRequest.received_at.desc())).scalars())


def _event(action: str, r: DataRequest, actor: User | None, result: str = "ok") -> AuditEvent:
    return AuditEvent(action, actor=actor, account_id=r.account_id, object=f"{r.kind} request {r.id}",
                      result=result)


def _tell(account: Account, r: DataRequest, subject: str, lines: list[str]) -> None:
    user = account.user
    if user is None or not user.email or not user.active:
        return
    body = "\n".join([*lines, "", f"Your requests: {external_url('privacy_requests.mine')}"])
    headers: dict[str, str] = {}
    if account.reseller_id is not None:  # the reseller is the controller: its name, its footer

        headers, footer = mail_branding(account.reseller_id)
        body += footer
    queue(to=user.email, subject=subject, body=body, account_id=account.id, headers=headers)


def file(account: Account, actor: User | None, *, kind: str, details: str = "",
         purpose: str | None = None, channel: str = "panel", verified_by: str | None = None
         ) -> DataRequest:
    """File a request. From the panel, the password entered again verifies the requester."""
    if kind not in KINDS:
        raise RequestError("Choose what you are asking for.")
    if kind == "objection" and purpose not in PURPOSES:
        raise RequestError("Choose what you object to.")
    if kind == "rectification" and not details.strip():
        raise RequestError("Say which data is wrong and what it should be.")
    if kind == "erasure" and db.session.execute(select(DataRequest.id).where(
            DataRequest.account_id == account.id, DataRequest.kind == "erasure",
            DataRequest.status.in_(OPEN))).first():
        raise RequestError("An erasure request is already open for this account.")
    received = utcnow()
    r = DataRequest(account_id=account.id, kind=kind, purpose=purpose if kind == "objection" else None,
                    details=details.strip() or None, channel=channel,
                    status=VERIFIED if verified_by else RECEIVED, verification=verified_by,
                    received_at=received, due_on=add_month(received.date()))
    db.session.add(r)
    db.session.flush()
    audit.record(_event("request.file", r, actor))
    _tell(account, r, "We received your request",
          [f"We received your request: {r.label}.", f"We will answer by {r.due_on:%d %B %Y}."])
    db.session.commit()
    return r


def _open(r: DataRequest) -> None:
    if r.status not in OPEN:
        raise RequestError(f"This request is already {r.status}.")


def verify(r: DataRequest, staff: User, method: str) -> None:
    """Identity checked: any identity document has done its job and is deleted (P07)."""
    _open(r)
    if method not in VERIFY_METHODS:
        raise RequestError("Choose how the requester's identity was checked.")
    r.status, r.verification = VERIFIED, method
    docs = db.session.execute(delete(IdentityDocument).where(IdentityDocument.request_id == r.id))
    audit.record(_event("request.verify", r, staff))
    if docs.rowcount:
        audit.record(_event("identity_document.delete", r, staff))
    db.session.commit()


def attach_document(r: DataRequest, staff: User, filename: str, content_type: str,
                    data: bytes) -> IdentityDocument:
    _open(r)
    if content_type not in DOCUMENT_TYPES:
        raise RequestError("Upload a PDF, PNG or JPEG file.")
    if not data or len(data) > DOCUMENT_MAX_BYTES:
        raise RequestError("The file must be between 1 byte and 5 MB.")
    doc = IdentityDocument(request_id=r.id, filename=filename[:200] or "document",
                           content_type=content_type, content=base64.b64encode(data).decode(),
                           size=len(data), delete_by=utcnow() + timedelta(days=DOCUMENT_DAYS))
    db.session.add(doc)
    audit.record(_event("identity_document.add", r, staff))
    db.session.commit()
    return doc


def fulfil(r: DataRequest, staff: User | None, export_format: str = "zip") -> bool:
    """Do what was asked; True once done. An erasure is only asked for here (four eyes): it
    waits for a second staff member's approval (``approve_erasure``) and this returns False."""
    _open(r)
    if r.status != VERIFIED:
        raise RequestError("Verify the requester's identity first.")
    account = db.session.get(Account, r.account_id)
    assert account is not None
    if r.kind == "erasure":
        reasons = blockers(account)  # say so now, not after a colleague has looked at it
        if reasons:
            raise RequestError("Erasure is not possible yet: " + "; ".join(reasons) + ".")
        try:
            approval.ask(staff, account.id, SUBJECT, r.id)
        except approval.ApprovalError as exc:
            raise RequestError(str(exc)) from None
        db.session.commit()
        return False
    if r.kind in ("restriction", "objection"):
        limit(account.id, restrict=r.kind == "restriction",
              objection=r.purpose if r.kind == "objection" else None)
    elif r.kind == "export":  # a copy made for the customer, downloaded from My data (P06)
        try:
            export.request_export(account, staff or account.user, export_format)
        except export.ExportError as exc:
            raise RequestError(str(exc)) from None
    _done(r, staff)
    if r.kind == "export":
        _tell(account, r, "Your copy of your data is ready", [
            f"We have done what you asked: {r.label}.",
            f"Download it from My data (you will be asked for your password): "
            f"{external_url('privacy_data.index')}"])
    else:
        _tell(account, r, "Your request is done", [f"We have done what you asked: {r.label}."])
    db.session.commit()
    return True


def _done(r: DataRequest, staff: User | None) -> None:
    r.status, r.decided_at, r.decided_by = FULFILLED, utcnow(), staff.id if staff else None
    audit.record(_event("request.fulfil", r, staff))


def pending_erasure(r: DataRequest) -> approval.ErasureApproval | None:
    return approval.pending(SUBJECT, r.id) if r.kind == "erasure" else None


def approve_erasure(r: DataRequest, staff: User) -> None:
    """A second staff member approves: the erasure is carried out now, in one transaction.
    Refused (unpaid invoices...): nothing is done and the approval is still pending."""
    _open(r)
    found = pending_erasure(r)
    if found is None:
        raise RequestError("No erasure is waiting for approval on this request.")
    account = db.session.get(Account, r.account_id)
    assert account is not None
    user = account.user
    address = user.email if user else None
    try:
        approval.approve(found, staff)
        erase(account, staff)
    except approval.ApprovalError as exc:
        raise RequestError(str(exc)) from None
    except ErasureRefused as exc:
        db.session.rollback()
        raise RequestError(str(exc)) from None
    if address:  # the last message to the old address, queued before it is gone
        queue(to=address, subject="Your personal data has been erased",
              body="As you asked, we erased the personal data of your account. Invoices "
                   "are kept, as the law requires, for seven years from their date.",
              account_id=account.id)
    _done(r, staff)
    db.session.commit()


def reject_erasure(r: DataRequest, staff: User, reason: str) -> None:
    """The erasure is not carried out; the request stays open, to ask again or refuse."""
    _open(r)
    found = pending_erasure(r)
    if found is None:
        raise RequestError("No erasure is waiting for approval on this request.")
    try:
        approval.reject(found, staff, reason)
    except approval.ApprovalError as exc:
        raise RequestError(str(exc)) from None
    db.session.commit()


def refuse(r: DataRequest, staff: User, reason: str) -> None:
    _open(r)
    if not reason.strip():
        raise RequestError("Give the reason; the customer will read it.")
    waiting = pending_erasure(r)
    if waiting is not None:  # a refused request has no erasure left to approve
        try:
            approval.reject(waiting, staff, reason)
        except approval.ApprovalError as exc:
            raise RequestError(str(exc)) from None
    r.status, r.decided_at, r.decided_by = REFUSED, utcnow(), staff.id
    r.refusal_reason = reason.strip()
    account = db.session.get(Account, r.account_id)
    audit.record(_event("request.refuse", r, staff))
    if account is not None:
        _tell(account, r, "About your request", [f"We cannot do what you asked: {r.label}.",
                                                  f"Why: {r.refusal_reason}"])
    db.session.commit()


def house_queue_query() -> Select[tuple[DataRequest]]:
    """Open requests of the house's own customers, for a keyset-paged list read oldest due
    date first (due_on, received_at, id). A suspended reseller cannot answer its customers'
    requests, so the house does meanwhile."""
    suspended = select(User.id).where(User.role == "reseller", User.active.is_(False))
    return (select(DataRequest).join(Account, Account.id == DataRequest.account_id)
            .where(DataRequest.status.in_(OPEN),
                   Account.reseller_id.is_(None) | Account.reseller_id.in_(suspended)))


def house_queue() -> list[DataRequest]:
    return list(db.session.execute(
        house_queue_query().order_by(DataRequest.due_on, DataRequest.received_at)).scalars())


def urgency(r: DataRequest, on: date | None = None) -> str:
    days = (r.due_on - (on or today())).days
    return "overdue" if days < 0 else "due-soon" if days <= 7 else ""


def due_readings() -> list[Reading]:
    """For /metrics: open requests due within 7 days, and overdue ones (P07's one month)."""
    return _due_readings(DataRequest, DataRequest.status.in_(OPEN), "requests")


def _due_readings(model: Any, is_open: Any, queue_name: str) -> list[Reading]:
    day = today()
    soon = db.session.execute(select(func.count()).select_from(model).where(
        is_open, model.due_on >= day, model.due_on <= day + timedelta(days=7))).scalar_one()
    late = db.session.execute(select(func.count()).select_from(model).where(
        is_open, model.due_on < day)).scalar_one()
    labels = {"queue": queue_name}
    return [Reading("panel_data_requests_due_within_7_days", "Open data requests due within "
                    "the next 7 days.", soon, labels),
            Reading("panel_data_requests_overdue", "Open data requests past their due date.",
                    late, labels)]
