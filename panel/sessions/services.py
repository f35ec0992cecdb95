"""Start, check, list and end server-side sessions.

The signed cookie still carries Flask-Login's id (user id and ``session_token``); it now also
carries a random token naming a ``user_session`` row. A request is signed in only while that
row exists, belongs to the user and has been used within the session lifetime, so deleting the
row (sign-out, "Signed-in devices", sign out everywhere) ends the session even for a copy of
the cookie.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from datetime import timedelta
from typing import Any

from flask import current_app, g, has_request_context, request, session
from sqlalchemy import bindparam, delete, select, update

from panel.auth.models import User
from panel.db_types import utcnow
from panel.extensions import db
from panel.sessions.models import UserSession

#: The session cookie's key for this browser's token (never stored in clear on the server).
SESSION_KEY = "_sid"
#: ``last_seen_at`` is written at most this often per session: a lookup, not a write, per request.
TOUCH_EVERY = timedelta(minutes=1)
_CURRENT = "_panel_user_session"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def idle_limit() -> timedelta:
    """A session unused for this long is over: the cookie would have expired as well."""
    return current_app.permanent_session_lifetime


def _by_token(token: object) -> UserSession | None:
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        return None
    return db.session.execute(select(UserSession).where(UserSession.token_hash == _hash(token))
                              ).scalar_one_or_none()


def start(user: User) -> UserSession:
    """A new row for this browser (called on every ``login_user``). The browser's previous row
    ends, unless it is already this user's (their token was rotated and they stay signed in).
    Commits: ``login_user`` comes after the caller's own writes."""
    old = _by_token(session.get(SESSION_KEY))
    if old is not None and old.user_id == user.id:
        g.setdefault(_CURRENT, old)
        return old
    if old is not None:  # another person in this browser before (staff acting as a customer)
        db.session.delete(old)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = UserSession(id=uuid.uuid4(), token_hash=_hash(token), user_id=user.id, created_at=now,
                      last_seen_at=now, browser=browser_family(request.user_agent.string))
    if request.remote_addr:
        row.ip = request.remote_addr
    db.session.add(row)
    db.session.commit()
    session[SESSION_KEY] = token
    setattr(g, _CURRENT, row)
    return row


#: The signed-in check of every request, as one indexed read: the user by primary key joined
#: to this browser's session row by its unique token hash, with only the two session columns
#: the check needs (no ORM object for the session). Built once.
_SIGNED_IN = (select(User, UserSession.id, UserSession.last_seen_at)
              .join(UserSession, UserSession.user_id == User.id)
              .where(User.id == bindparam("user_id"),
                     UserSession.token_hash == bindparam("token_hash")))


def lookup(user_id: uuid.UUID) -> tuple[User, Any] | None:
    """The user and this browser's session row (``.id``, ``.last_seen_at``) if the row exists
    and is the user's, else None. Reads only: `confirm` judges and marks the row."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        return None
    found = db.session.execute(_SIGNED_IN, {"user_id": user_id, "token_hash": _hash(token)}
                               ).first()
    return None if found is None else (found[0], found)


def confirm(row: Any) -> Any | None:
    """``row`` (from `lookup`) if its session is still live, else None (signed out: an idle
    row is deleted). Marks it seen at most once a minute; the loader runs before any view
    writes, so committing is safe."""
    now = utcnow()
    if now - row.last_seen_at > idle_limit():
        db.session.execute(delete(UserSession).where(UserSession.id == row.id))
        db.session.commit()
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        db.session.execute(update(UserSession).where(UserSession.id == row.id)
                           .values(last_seen_at=now))
        db.session.commit()
    setattr(g, _CURRENT, row)
    return row


def current() -> Any | None:
    """The request's signed-in session (after the user was loaded): its ``id`` says which
    row; the row itself when this request signed in."""
    return g.get(_CURRENT) if has_request_context() else None


def end_current() -> None:
    """Sign-out: this browser's row goes, so the cookie (or a copy of it) stops working."""
    token = session.pop(SESSION_KEY, None)
    if isinstance(token, str):
        db.session.execute(delete(UserSession).where(UserSession.token_hash == _hash(token)))
        db.session.commit()
    g.pop(_CURRENT, None)


def end_all(user: User, keep: UserSession | None = None) -> int:
    """Delete every row of the user's but ``keep``; the caller commits (with the token change)."""
    query = delete(UserSession).where(UserSession.user_id == user.id)
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    done = db.session.execute(query.execution_options(synchronize_session=False))
    return int(done.rowcount or 0)  # type: ignore[attr-defined]


def end_one(user: User, session_id: uuid.UUID) -> UserSession | None:
    """End one of the user's own sessions; None when it is not theirs (or already over)."""
    row = db.session.execute(select(UserSession).where(
        UserSession.id == session_id, UserSession.user_id == user.id)).scalar_one_or_none()
    if row is not None:
        db.session.delete(row)
    return row


def for_user(user: User) -> list[UserSession]:
    """The user's live sessions, most recently used first."""
    since = utcnow() - idle_limit()
    return list(db.session.execute(
        select(UserSession).where(UserSession.user_id == user.id,
                                  UserSession.last_seen_at >= since)
        .order_by(UserSession.last_seen_at.desc(), UserSession.created_at.desc())).scalars())


def purge_idle() -> str:
    """`panel cron`: rows of sessions that timed out (their addresses go with them)."""
    done = db.session.execute(delete(UserSession).where(
        UserSession.last_seen_at < utcnow() - idle_limit()))
    db.session.commit()
    return f"{int(done.rowcount or 0)} idle session(s) removed"  # type: ignore[attr-defined]


def session_identifier() -> str:
    """Flask-Login's "strong" binding of a session to its browser, from the address the request
    really came from: Flask-Login's own reads a client-supplied X-Forwarded-For. Behind a
    configured proxy (PANEL_TRUSTED_PROXIES) ProxyFix has already put the client's address in
    ``remote_addr``."""
    base = f"{request.remote_addr}|{request.headers.get('User-Agent', '')}"
    return hashlib.sha512(base.encode("utf-8", "replace")).hexdigest()


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
             ("Chromium/", "Chromium"), ("Chrome/", "Chrome"), ("Safari/", "Safari"),
             ("curl/", "curl"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iOS"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))
_HEADLESS = re.compile(r"HeadlessChrome/")


def browser_family(user_agent: str | None) -> str:
    """"Firefox on Linux": enough to recognise a device, without the version."""
    ua = user_agent or ""
    name = "Chrome" if _HEADLESS.search(ua) else next(
        (label for token, label in _BROWSERS if token in ua), "Unknown browser")
    system = next((label for token, label in _SYSTEMS if token in ua), "")
    return (f"{name} on {system}" if system else name)[:64]


def install(app: Any) -> None:
    """Wire the records to Flask-Login: a row per sign-in, none after sign-out, and a binding
    that ignores forged forwarding headers."""
    from flask_login import user_logged_in, user_logged_out

    from panel.extensions import login_manager

    login_manager._session_identifier_generator = session_identifier  # no public setter
    user_logged_in.connect(_signed_in, app)
    user_logged_out.connect(_signed_out, app)


def _signed_in(_app: Any, user: User, **_: Any) -> None:
    start(user)


def _signed_out(_app: Any, user: Any = None, **_: Any) -> None:
    end_current()
