"""Resellers as data controllers (P25) and their removal requests to the host (P26).

A reseller's customers file their requests in the panel as everyone does; those requests
belong in the reseller's queue (``queue``), with the same due dates and answers as the
house queue (services.requests does the work). When a reseller needs the host to remove a
customer's data, it files a RemovalRequest: due 30 business days later, in the staff queue,
reminded by `panel cron` five and one business days before it is due.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from flask import abort
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from panel import audit
from panel.accounts.erasure import ErasureRefused, blockers, erase
from panel.accounts.models import CLOSED, Account
from panel.audit import AuditEvent
from panel.auth.models import ADMIN, RESELLER, User
from panel.db_types import today, utcnow
from panel.extensions import db
from panel.mail.outbox import queue as queue_mail
from panel.metrics import Reading
from panel.paging import Page, keyset
from panel.reseller.customers import reseller_active
from panel.tenancy import get_or_404, parse_id, scoped
from panel.urls import external_url
from plugins.privacy.center.models import FULFILLED, DataRequest
from plugins.privacy.center.models import OPEN as REQUEST_OPEN
from plugins.privacy.center.services import approval
from plugins.privacy.email.services import preferences as email_prefs
from plugins.privacy.reseller.models import (
    COMPLETED,
    DUE_BUSINESS_DAYS,
    OPEN,
    REFUSED,
    REMINDER_DAYS,
    RemovalRequest,
)
from plugins.privacy.reseller.services import business_days
from plugins.privacy.retention.services import closure


class RemovalError(ValueError):
    """A removal request that cannot be filed or decided; the message is for the person."""


# --- the reseller's queue of its customers' requests -----------------------------------------


def _own(reseller: User) -> Any:
    """The reseller's customers' requests, through the one tenancy scope."""
    return scoped(reseller, DataRequest)


def queue(reseller: User) -> Page:
    """One keyset page of the reseller's own customers' open requests, oldest due date first
    (due_on, received_at, id: the id breaks ties), from the request's after/before/per."""
    return keyset(_own(reseller).where(DataRequest.status.in_(REQUEST_OPEN)),
                  [DataRequest.due_on, DataRequest.received_at, DataRequest.id], descending=False)


def answered(reseller: User, limit: int = 50) -> list[DataRequest]:
    return list(db.session.execute(_own(reseller).where(DataRequest.status.not_in(REQUEST_OPEN))
                                   .order_by(DataRequest.decided_at.desc()).limit(limit))
                .scalars())


def own_request(reseller: User, request_id: object) -> DataRequest:
    """One of the reseller's customers' requests; anything else answers 404."""
    found = db.session.execute(_own(reseller).where(DataRequest.id == parse_id(request_id))
                               ).scalar_one_or_none()
    if found is None:
        abort(404)
    return found


def open_counts(account_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Open data requests per account, in one query."""
    rows = db.session.execute(
        select(DataRequest.account_id, func.count()).where(
            DataRequest.account_id.in_(account_ids), DataRequest.status.in_(REQUEST_OPEN))
        .group_by(DataRequest.account_id)).all()
    return {account_id: n for account_id, n in rows}


# --- removal requests (P26) ------------------------------------------------------------------


def _event(action: str, r: RemovalRequest, actor: User | None, result: str = "ok") -> AuditEvent:
    return AuditEvent(action, actor=actor, account_id=r.account_id,
                      object=f"removal request {r.id}", result=result)


def _tell_staff(subject: str, body: str) -> None:
    """The host's admins get removal notices and reminders (transactional, host's name)."""
    admins = db.session.execute(select(User).where(User.role == ADMIN,
                                                   User.active.is_(True))).scalars()
    for admin in admins:
        if admin.email:
            queue_mail(to=admin.email, subject=subject, body=body)


def _tell_reseller(reseller: User, subject: str, body: str) -> None:
    if reseller.email and reseller.active:
        queue_mail(to=reseller.email, subject=subject, body=body)


def file_removal(reseller: User, account_id: object, note: str = "",
                 data_request: DataRequest | None = None) -> RemovalRequest:
    """Ask the host to remove one of the reseller's customers' data. 404 for anyone else's."""
    account = get_or_404(reseller, Account, account_id)
    if reseller.role != RESELLER or account.reseller_id != reseller.id:
        abort(404)
    if closure.is_erased(account):  # closed but not yet erased is still worth removing now
        raise RemovalError("This customer's data has already been erased.")
    if db.session.execute(select(RemovalRequest.id).where(
            RemovalRequest.account_id == account.id, RemovalRequest.status == OPEN)).first():
        raise RemovalError("A removal request for this customer is already open.")
    received = utcnow()
    r = RemovalRequest(id=uuid.uuid4(), account_id=account.id, reseller_id=reseller.id,
                       data_request_id=data_request.id if data_request else None,
                       note=note.strip() or None, status=OPEN, requested_at=received,
                       due_on=business_days.add(received.date(), DUE_BUSINESS_DAYS),
                       reminders=[])
    db.session.add(r)
    db.session.flush()
    audit.record(_event("removal.request", r, reseller))
    _tell_staff(f"Removal request from {reseller.label}, due {r.due_on:%d %B %Y}",
                f"{reseller.label} asks us to remove the data of client #{account.number}.\n"
                f"Due by {r.due_on:%d %B %Y} ({DUE_BUSINESS_DAYS} business days).\n"
                f"{external_url('privacy_removals.detail', removal_id=r.id)}")
    db.session.commit()
    return r


def removals_for(reseller: User) -> Page:
    """The reseller's removal requests to the host, newest first: a keyset page of its own
    (``removals_after``...) beside the request queue on the same screen."""
    return keyset(select(RemovalRequest).where(RemovalRequest.reseller_id == reseller.id),
                  [RemovalRequest.requested_at, RemovalRequest.id], prefix="removals_")


def removals_of(account: Account) -> list[RemovalRequest]:
    return list(db.session.execute(
        select(RemovalRequest).where(RemovalRequest.account_id == account.id)
        .order_by(RemovalRequest.requested_at.desc())).scalars())


def staff_queue() -> Page:
    """Open removal requests, soonest due first, paged so that none is ever left off."""
    return keyset(select(RemovalRequest).options(selectinload(RemovalRequest.reseller))
                  .where(RemovalRequest.status == OPEN),
                  [RemovalRequest.due_on, RemovalRequest.requested_at, RemovalRequest.id],
                  descending=False)


def staff_closed() -> Page:
    """Completed and refused removal requests, newest first, on their own cursor
    (``closed_after``...) below the open queue."""
    return keyset(select(RemovalRequest).options(selectinload(RemovalRequest.reseller))
                  .where(RemovalRequest.status != OPEN),
                  [RemovalRequest.requested_at, RemovalRequest.id], prefix="closed_")


def get_removal(removal_id: object) -> RemovalRequest:
    found = db.session.get(RemovalRequest, parse_id(removal_id))
    if found is None:
        abort(404)
    return found


def days_left(r: RemovalRequest) -> int:
    return business_days.between(today(), r.due_on)


def _open(r: RemovalRequest) -> None:
    if r.status != OPEN:
        raise RemovalError(f"This removal request is already {r.status}.")


SUBJECT = "removal"  # what an erasure approval of a removal request is for


def pending_completion(r: RemovalRequest) -> approval.ErasureApproval | None:
    return approval.pending(SUBJECT, r.id)


def ask_completion(r: RemovalRequest, staff: User) -> None:
    """Staff member A asks to remove the data; it is removed when another approves (four
    eyes, as for every erasure the desk carries out)."""
    _open(r)
    account = db.session.get(Account, r.account_id)
    if account is None:
        raise RemovalError("The account no longer exists.")
    reasons = [] if closure.is_erased(account) else blockers(account)
    if reasons:
        raise RemovalError("Erasure is not possible yet: " + "; ".join(reasons) + ".")
    try:
        approval.ask(staff, account.id, SUBJECT, r.id)
    except approval.ApprovalError as exc:
        raise RemovalError(str(exc)) from None
    db.session.commit()


def reject_completion(r: RemovalRequest, staff: User, reason: str) -> None:
    """Nothing is removed; the removal request stays open, to ask again or refuse."""
    _open(r)
    found = pending_completion(r)
    if found is None:
        raise RemovalError("No removal is waiting for approval.")
    try:
        approval.reject(found, staff, reason)
    except approval.ApprovalError as exc:
        raise RemovalError(str(exc)) from None
    db.session.commit()


def complete(r: RemovalRequest, staff: User) -> None:
    """A second staff member approves: the account is erased as for an erasure request."""
    _open(r)
    account = db.session.get(Account, r.account_id)
    if account is None:
        raise RemovalError("The account no longer exists.")
    found = pending_completion(r)
    if found is None:
        raise RemovalError("Ask to remove the data first; another staff member then approves.")
    try:
        approval.approve(found, staff)
        if not closure.is_erased(account):  # a closed account waits out its grace period
            erase(account, staff)
    except approval.ApprovalError as exc:
        raise RemovalError(str(exc)) from None
    except ErasureRefused as exc:
        db.session.rollback()
        raise RemovalError(str(exc)) from None
    r.status, r.completed_at, r.completed_by = COMPLETED, utcnow(), staff.id
    if r.data_request_id is not None:
        linked = db.session.get(DataRequest, r.data_request_id)
        if linked is not None and linked.status in REQUEST_OPEN:
            linked.status, linked.decided_at, linked.decided_by = FULFILLED, utcnow(), staff.id
    audit.record(_event("removal.complete", r, staff))
    reseller = db.session.get(User, r.reseller_id)
    if reseller is not None:
        _tell_reseller(reseller, "Removal request completed",
                       f"We have removed the data of client #{account.number}, as you asked. "
                       "Invoices are kept for their legal retention period.")
    db.session.commit()


def refuse(r: RemovalRequest, staff: User, reason: str) -> None:
    _open(r)
    if not reason.strip():
        raise RemovalError("Give the reason; the reseller will read it.")
    waiting = pending_completion(r)
    if waiting is not None:  # a refused removal has nothing left to approve
        try:
            approval.reject(waiting, staff, reason)
        except approval.ApprovalError as exc:
            raise RemovalError(str(exc)) from None
    r.status, r.completed_at, r.completed_by = REFUSED, utcnow(), staff.id
    r.outcome = reason.strip()[:1000]
    audit.record(_event("removal.refuse", r, staff))
    reseller = db.session.get(User, r.reseller_id)
    if reseller is not None:
        _tell_reseller(reseller, "About your removal request",
                       f"We could not complete your removal request: {r.outcome}")
    db.session.commit()


def send_reminders() -> str:
    """Job: remind the host's admins 5 and 1 business days before a removal is due, once each."""
    sent = 0
    now = today()
    for r in db.session.execute(select(RemovalRequest).where(RemovalRequest.status == OPEN)
                                ).scalars():
        left = business_days.between(now, r.due_on)
        due = [d for d in REMINDER_DAYS if left <= d and d not in (r.reminders or [])]
        if not due:
            continue
        account = db.session.get(Account, r.account_id)
        word = "overdue" if left < 0 else f"due in {left} business day{'s' if left != 1 else ''}"
        _tell_staff(f"Reminder: removal request {word}",
                    f"The removal request for client #{account.number if account else '?'} "
                    f"from {r.reseller.label} is {word} (due {r.due_on:%d %B %Y}).\n"
                    f"{external_url('privacy_removals.detail', removal_id=r.id)}")
        r.reminders = sorted({*(r.reminders or []), *due})
        sent += 1
    db.session.commit()
    return f"sent {sent} removal reminders"


# --- resellers' standing and marketing (P27) --------------------------------------------------


def marketing_allowed(account: Account) -> bool:
    """Whether the reseller's own marketing may reach this customer now (P27)."""
    if account.reseller_id is None or not reseller_active(account.reseller_id):
        return False
    return email_prefs.allowed(account, email_prefs.reseller_category(account.reseller_id))


def marketing_states(reseller: User, account_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The reseller-marketing consent of many customers in a few queries (dashboard column):
    "yes" only where the customer wants it, may be sent marketing and is not closed."""
    key = email_prefs.reseller_category(reseller.id)
    if email_prefs.category(key) is None or not reseller_active(reseller.id):
        return dict.fromkeys(account_ids, "stopped")
    wanted = email_prefs.eligible(key, account_ids)
    closed = set(db.session.execute(select(Account.id).where(
        Account.id.in_(account_ids), Account.status == CLOSED)).scalars())
    return {aid: "yes" if aid in wanted and aid not in closed else "no" for aid in account_ids}


def suspended_reseller_reason(category: str) -> str | None:
    """For the pre-send hook: why mail of a reseller's own category may not go now."""
    prefix = "reseller."
    if not category.startswith(prefix):
        return None
    if reseller_active(category[len(prefix):]):
        return None
    return "the reseller's account is suspended: its own marketing stops"


def due_readings() -> list[Reading]:
    """For /metrics: open removal requests due within 7 days, and overdue ones (P26)."""
    day = today()
    is_open = RemovalRequest.status == OPEN
    soon = db.session.execute(select(func.count()).select_from(RemovalRequest).where(
        is_open, RemovalRequest.due_on >= day, RemovalRequest.due_on <= day + timedelta(days=7))
    ).scalar_one()
    late = db.session.execute(select(func.count()).select_from(RemovalRequest).where(
        is_open, RemovalRequest.due_on < day)).scalar_one()
    labels = {"queue": "removals"}
    return [Reading("panel_data_requests_due_within_7_days", "Open data requests due within "
                    "the next 7 days.", soon, labels),
            Reading("panel_data_requests_overdue", "Open data requests past their due date.",
                    late, labels)]
