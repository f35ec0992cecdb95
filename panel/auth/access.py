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
    row, so a replayed copy of the cookie is refused at once."""
    user = load_user(login_id)
    if user is None or sessions.check(user) is None:
        return None
    return user


def load_user(login_id: str) -> User | None:
    """The id carries the session token, so rotating the token ends every other session."""
    user_id, _, token = login_id.partition(":")
    try:
        user = db.session.get(User, uuid.UUID(user_id))
    except ValueError:
        return None
    if user is None or not token or user.session_token != token or not user.active:
        return None
    return user


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
