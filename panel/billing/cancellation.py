"""Cancelling a service, so that closing an account is never a dead end.

The customer asks for the end of the paid period (the service keeps running until then) or
for now. Staff and the owning reseller see the request. When it takes effect, now or in
`panel cron`, ``panel_service_cancel`` lets a provisioning plugin act (terminate the hosting
account, free the VPS...); the panel's own registry only marks the service cancelled.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from panel import audit
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.billing.models import SERVICE_ACTIVE, SERVICE_CANCELLED, Service
from panel.db_types import today, utcnow
from panel.extensions import db
from panel.hooks import hook
from panel.mail.outbox import queue
from panel.paging import Page, keyset
from panel.tenancy import scoped
from panel.urls import external_url

NOW, END_OF_PERIOD = "now", "end_of_period"
WHEN_CHOICES = [(END_OF_PERIOD, "At the end of the paid period"), (NOW, "Now")]

#: How long staff and resellers keep seeing a cancellation after it took effect.
RECENT = timedelta(days=30)


class CancelError(ValueError):
    """The service cannot be cancelled (or kept) now; the message says why, for the customer."""


class ProvisioningError(RuntimeError):
    """Raised by a ``panel_service_cancel`` implementation that could not act; the message is
    shown to the customer as it is, and the service stays as it was."""


def own_registry_cancel(service: Service) -> None:
    """What the panel does itself when a cancellation takes effect: mark the service."""
    service.status, service.cancelled_at = SERVICE_CANCELLED, utcnow()


def period_end(service: Service) -> date:
    """The last day already paid for: the next due date, or today when nothing is due."""
    due = service.next_due_on
    return due if due is not None and due > today() else today()


def request(service: Service, actor: User, when: str) -> Service:
    """Record the request and, for ``now`` (or a period already over), end the service.
    The caller commits; on CancelError nothing was changed."""
    if when not in (NOW, END_OF_PERIOD):
        raise CancelError("Choose when the service should end.")
    if service.status != SERVICE_ACTIVE:
        raise CancelError(f"This service is {service.status}: there is nothing to cancel.")
    if when == END_OF_PERIOD and service.cancel_pending:
        raise CancelError(f"This service already ends on {service.cancel_on:%d %B %Y}.")
    earlier = (service.cancel_requested_at, service.cancel_on)
    service.cancel_requested_at = service.cancel_requested_at or utcnow()
    service.cancel_on = today() if when == NOW else period_end(service)
    if service.cancel_on <= today():
        try:
            take_effect(service, actor)
        except ProvisioningError as exc:
            service.cancel_requested_at, service.cancel_on = earlier
            raise CancelError(f"The service could not be cancelled: {exc}") from exc
    else:
        audit.record(AuditEvent("service.cancel_request", actor=actor, account_id=service.account_id,
                                object=f"service {service.product}", fields=["cancel_on"]))
    _tell_customer(service)
    return service


def take_effect(service: Service, actor: User | None) -> None:
    """Every implementation acts (a provisioning plugin terminates, the registry marks the
    service cancelled); any failure leaves the service as it was, as a ProvisioningError.
    The caller rolls back on that, so nothing a plugin half-changed is kept either."""
    status, cancelled_at = service.status, service.cancelled_at
    try:
        hook().panel_service_cancel(service=service, actor=actor)
    except Exception as exc:  # noqa: BLE001 - whatever a plugin raised, the service stays
        service.status, service.cancelled_at = status, cancelled_at
        if isinstance(exc, ProvisioningError):
            raise
        current_app.logger.exception("provisioning failed to cancel service %s", service.id)
        raise ProvisioningError("the provisioning system could not apply it (the error was "
                                "logged). Try again later.") from exc
    audit.record(AuditEvent("service.cancel", actor=actor, account_id=service.account_id,
                            object=f"service {service.product}", fields=["status"]))


def keep(service: Service, actor: User) -> None:
    """Withdraw a request that has not taken effect yet. The caller commits."""
    if not service.cancel_pending:
        raise CancelError("This service has no pending cancellation.")
    service.cancel_requested_at = service.cancel_on = None
    audit.record(AuditEvent("service.cancel_withdraw", actor=actor, account_id=service.account_id,
                            object=f"service {service.product}", fields=["cancel_on"]))


def _tell_customer(service: Service) -> None:
    user = db.session.execute(select(User).where(User.account_id == service.account_id)).scalar()
    if user is None or not user.email or not user.active:
        return
    name = service.product + (f" ({service.domain_name})" if service.domain_name else "")
    if service.status == SERVICE_CANCELLED:
        subject, first = "Your service is cancelled", f"{name} is cancelled as you asked."
    else:
        subject = "Your service will be cancelled"
        first = (f"{name} will be cancelled on {service.cancel_on:%d %B %Y}, as you asked. "
                 "It keeps running until then.")
        first += "\n\nChanged your mind? Keep the service here before that date:"
    queue(to=user.email, subject=subject, account_id=service.account_id, body="\n".join([
        first, external_url("client.services"), "",
        "If you did not ask for this, change your password at once:",
        external_url("auth.password")]))


def due_now() -> int:
    """`panel cron`: end every service whose cancellation date has come. One commit per
    service, so a provisioning failure on one leaves the others done and it retried later."""
    done = 0
    ids = db.session.execute(select(Service.id).where(
        Service.status == SERVICE_ACTIVE, Service.cancel_on.is_not(None),
        Service.cancel_on <= today())).scalars().all()
    for ident in ids:
        service = db.session.get(Service, ident)
        if service is None or service.status != SERVICE_ACTIVE:
            continue
        try:
            take_effect(service, None)
        except ProvisioningError as exc:  # stays due: the next run tries again
            db.session.rollback()
            current_app.logger.warning("cancelling service %s failed: %s", ident, exc)
            continue
        _tell_customer(service)
        db.session.commit()
        done += 1
    return done


def run_job() -> str:
    return f"{due_now()} service(s) cancelled"


def requests(viewer: User) -> Page:
    """Cancellations the viewer may see (staff: all; a reseller: its customers'): pending
    ones, and those that took effect in the last RECENT days, soonest first. A keyset page
    (``cancel_on`` is always set while a request stands, so every key has a value)."""
    return keyset(scoped(viewer, Service).options(selectinload(Service.account))
                  .where(Service.cancel_requested_at.is_not(None), Service.cancel_on.is_not(None),
                         or_(Service.status == SERVICE_ACTIVE,
                             Service.cancelled_at >= utcnow() - RECENT)),
                  [Service.status, Service.cancel_on, Service.id], descending=False)


def pending_count(viewer: User) -> int:
    return db.session.execute(scoped(viewer, Service).with_only_columns(func.count()).where(
        Service.cancel_requested_at.is_not(None), Service.status == SERVICE_ACTIVE)).scalar_one()
