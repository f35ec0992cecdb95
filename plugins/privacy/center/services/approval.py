"""Four eyes on an erasure (P09): no one staff member erases an account on their own.

Staff member A asks; the erasure waits. Staff member B (anyone on staff but A; admins count)
approves, and the caller then carries it out in the same transaction, or rejects it with a
reason. Every step goes on the trail. Decisions are conditional UPDATEs (``WHERE status =
'pending'``), so two people deciding at once cannot both win.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from panel import audit
from panel.audit import AuditEvent
from panel.auth.models import STAFF_ROLES, User
from panel.db_types import utcnow
from panel.extensions import db
from plugins.privacy.center.models import (
    APPROVAL_SUBJECTS,
    APPROVED,
    PENDING,
    REJECTED,
    ErasureApproval,
)

MAX_REASON_CHARS = 1000


class ApprovalError(ValueError):
    """An approval that cannot be asked for or decided; the message is for the person who tried."""


def _event(action: str, a: ErasureApproval, actor: User, result: str = "ok") -> AuditEvent:
    return AuditEvent(action, actor=actor, account_id=a.account_id,
                      object=f"erasure approval for {a.subject} {a.subject_id}", result=result)


def _staff(user: User | None) -> User:
    if user is None or user.role not in STAFF_ROLES:
        raise ApprovalError("Only staff can ask for or decide on an erasure.")
    return user


def pending(subject: str, subject_id: uuid.UUID) -> ErasureApproval | None:
    return db.session.execute(select(ErasureApproval).where(
        ErasureApproval.open_key == subject_id, ErasureApproval.subject == subject)
    ).scalar_one_or_none()


def pending_among(subject: str, subject_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these subjects wait for approval, in one query (the queue marks them)."""
    if not subject_ids:
        return set()
    return set(db.session.execute(select(ErasureApproval.subject_id).where(
        ErasureApproval.subject == subject, ErasureApproval.open_key.in_(subject_ids))).scalars())


def latest(subject: str, subject_id: uuid.UUID) -> ErasureApproval | None:
    """The most recent approval, pending or decided: the desk shows it."""
    return db.session.execute(select(ErasureApproval).where(
        ErasureApproval.subject == subject, ErasureApproval.subject_id == subject_id)
        .order_by(ErasureApproval.asked_at.desc()).limit(1)).scalar_one_or_none()


def ask(staff: User | None, account_id: uuid.UUID, subject: str,
        subject_id: uuid.UUID) -> ErasureApproval:
    """Staff member A asks; nothing is erased yet. The caller commits."""
    asker = _staff(staff)
    assert subject in APPROVAL_SUBJECTS
    if pending(subject, subject_id) is not None:
        raise ApprovalError("This erasure is already waiting for a second staff member's approval.")
    row = ErasureApproval(id=uuid.uuid4(), account_id=account_id, subject=subject,
                          subject_id=subject_id, open_key=subject_id, status=PENDING,
                          asked_by=asker.id, asked_at=utcnow())
    db.session.add(row)
    try:
        db.session.flush()  # someone asked at the same moment: the unique open_key says so
    except IntegrityError:
        db.session.rollback()
        raise ApprovalError("This erasure is already waiting for a second staff member's "
                            "approval.") from None
    audit.record(_event("erasure.ask", row, asker))
    return row


def _decide(a: ErasureApproval, values: dict[str, object]) -> None:
    done = db.session.execute(
        update(ErasureApproval).where(ErasureApproval.id == a.id, ErasureApproval.status == PENDING)
        .values(open_key=None, decided_at=utcnow(), **values)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        db.session.rollback()
        db.session.refresh(a)
        raise ApprovalError(f"This erasure was already {a.status}; nothing was changed.")
    db.session.refresh(a)


def approve(a: ErasureApproval, staff: User | None) -> None:
    """Staff member B approves. The caller carries the erasure out and commits; if that fails
    it rolls back, and the approval is pending again."""
    approver = _staff(staff)
    if approver.id == a.asked_by:
        audit.record(_event("erasure.approve", a, approver, result="refused: own request"))
        db.session.commit()
        raise ApprovalError("You asked for this erasure: another staff member must approve it.")
    _decide(a, {"status": APPROVED, "decided_by": approver.id})
    audit.record(_event("erasure.approve", a, approver))


def reject(a: ErasureApproval, staff: User | None, reason: str) -> None:
    """Anyone on staff, the asker included (withdrawing), may reject, with a reason. The
    caller commits."""
    decider = _staff(staff)
    reason = (reason or "").strip()
    if not reason:
        raise ApprovalError("Say why the erasure is rejected.")
    _decide(a, {"status": REJECTED, "decided_by": decider.id})
    a.reason = reason[:MAX_REASON_CHARS]
    audit.record(_event("erasure.reject", a, decider))
