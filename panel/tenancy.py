"""The one place that decides which customer data a viewer may see.

Every view that returns customer data builds its query here. Anything outside the scope is
answered with 404, never 403, so ids cannot be probed.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from flask import abort
from sqlalchemy import Select, select
from sqlalchemy.orm import DeclarativeBase

from panel.accounts.models import Account
from panel.auth.models import ADMIN, RESELLER, STAFF, SUBSCRIBER, User
from panel.domains.models import Domain, DomainContact
from panel.extensions import db

M = TypeVar("M", bound=DeclarativeBase)


def account_filter(viewer: User) -> Any:
    """A WHERE clause on Account for what ``viewer`` may see."""
    if viewer.role == SUBSCRIBER:
        return Account.id == viewer.account_id if viewer.account_id else Account.id.is_(None)
    if viewer.role == RESELLER:
        return Account.reseller_id == viewer.id
    if viewer.role in (STAFF, ADMIN):
        return Account.id.is_not(None)
    return Account.id.is_(None)


def accounts(viewer: User) -> Select[tuple[Account]]:
    return select(Account).where(account_filter(viewer))


def scoped(viewer: User, model: type[M]) -> Select[tuple[M]]:
    """Rows of ``model`` (anything with an ``account_id``, or a domain contact) in scope."""
    if model is Account:
        return accounts(viewer)  # type: ignore[return-value]
    if model is DomainContact:
        return (select(DomainContact).join(Domain).join(Account)  # type: ignore[return-value]
                .where(account_filter(viewer)))
    return (select(model).join(Account, model.account_id == Account.id)  # type: ignore[attr-defined]
            .where(account_filter(viewer)))


def parse_id(value: object) -> uuid.UUID:
    """An id from a URL or form; anything that is not one answers 404, like an unknown id."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        abort(404)


def own_account(viewer: User) -> Account:
    """The subscriber's own account (404 for anyone who has none)."""
    account = db.session.execute(accounts(viewer)).scalar_one_or_none()
    if account is None or viewer.role != SUBSCRIBER:
        abort(404)
    return account


def get_or_404(viewer: User, model: type[M], ident: object) -> M:
    row = db.session.execute(
        scoped(viewer, model).where(model.id == parse_id(ident))  # type: ignore[attr-defined]
    ).scalar_one_or_none()
    if row is None:
        abort(404)
    return row
