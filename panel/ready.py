"""Whether the database is usable: the schema is current and the master key opens the key ring.

Asked by the app before every request (503 until it is) and by every command that needs the
database, so both say the same thing: what to run. ``ready()`` asks again on every call, with
Redis too, for ``/readyz``: a load balancer must learn when a dependency goes away.
"""

from __future__ import annotations

import os

from flask import current_app
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from panel import migrate
from panel.crypto.errors import KeyringError
from panel.extensions import db
from panel.ratelimit.store import redis_problem


class NotReady(RuntimeError):
    """The database is not usable yet; the message says what to run."""


def ensure_ready() -> None:
    """Raise NotReady unless the schema is current and the master key opens the key ring."""
    if current_app.extensions.get("panel.ready"):
        return
    try:
        if not migrate.is_current(current_app):
            raise NotReady("the database schema is out of date: run `panel db upgrade`")
        current_app.extensions["panel.keyring"].get(refresh=True)
    except KeyringError as exc:
        raise NotReady(str(exc)) from None
    except OperationalError as exc:
        current_app.logger.error("database unreachable: %s", exc.orig)  # details for the log only
        raise NotReady("the database cannot be reached; the error was logged") from None
    current_app.extensions["panel.ready"] = True


def ready() -> bool:
    """Database reachable, schema current, key ring opens, Redis answers (when configured).
    Asked afresh each time; what failed goes to the log, never to the caller."""
    try:
        if not migrate.is_current(current_app):
            current_app.logger.error("not ready: the database schema is out of date")
            return False
        current_app.extensions["panel.keyring"].get(refresh=True)
    except KeyringError as exc:
        current_app.logger.error("not ready: %s", exc)
        return False
    except SQLAlchemyError as exc:
        current_app.logger.error("not ready: the database cannot be reached: %s",
                                 getattr(exc, "orig", None) or type(exc).__name__)
        return False
    finally:
        db.session.remove()
    return redis_ok()


def redis_url() -> str | None:
    """PANEL_REDIS_URL (or redis_url in the instance's configuration), if set."""
    return current_app.config.get("REDIS_URL") or os.environ.get("PANEL_REDIS_URL") or None


def redis_ok() -> bool:
    """True when no Redis is configured, or the configured one answers PING (with its
    password, if the URL carries one); the reason goes to the log, never to the caller."""
    url = redis_url()
    if not url:
        return True
    problem = redis_problem(url)
    if problem:
        current_app.logger.error("not ready: the Redis at PANEL_REDIS_URL %s", problem)
    return problem is None
