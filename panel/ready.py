"""Whether the database is usable: the schema is current and the master key opens the key ring.

Asked by the app before every request (503 until it is) and by every command that needs the
database, so both say the same thing: what to run.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy.exc import OperationalError

from panel import migrate
from panel.crypto.errors import KeyringError


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
