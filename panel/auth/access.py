"""Who may open which area. Outside your area you get 404, as for an id outside your scope."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, url_for
from flask_login import current_user

from panel.auth.models import ADMIN, RESELLER, STAFF, SUBSCRIBER, User
from panel.extensions import db, login_manager
from panel.sessions import services as sessions

F = TypeVar("F", bound=Callable[..., Any])

HOME_ENDPOINT = {SUBSCRIBER: "client.dashboard", RESELLER: "reseller.dashboard",
                 STAFF: "admin.dashboard", ADMIN: "admin.dashboard"}


@login_manager.user_loader
def load_session_user(login_id: str) -> User | None:
    """The browser's user, while its server-side session row lives: signing out deletes the
    row, so a replayed copy of the cookie is refused at once. The user and the row come in one
    read (`sessions.lookup`); the same rules as `load_user` then decide."""
    parsed = _parse(login_id)
    if parsed is None:
        return None
    user_id, token = parsed
    found = sessions.lookup(user_id)
    if found is None or not _accepts(found[0], token):
        return None
    user, row = found
    return user if sessions.confirm(row) is not None else None


def load_user(login_id: str) -> User | None:
    """The id carries the session token, so rotating the token ends every other session."""
    parsed = _parse(login_id)
    if parsed is None:
        return None
    user = db.session.get(User, parsed[0])
    return user if _accepts(user, parsed[1]) else None


def _parse(login_id: str) -> tuple[uuid.UUID, str] | None:
    user_id, _, token = login_id.partition(":")
    try:
        return uuid.UUID(user_id), token
    except ValueError:
        return None


def _accepts(user: User | None, token: str) -> bool:
    return user is not None and bool(token) and user.session_token == token and user.active


def home_url(user: User) -> str:
    return url_for(HOME_ENDPOINT[user.role])


def role_required(*roles: str) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(404)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate
