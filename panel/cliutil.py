"""Helpers for commands: a command that needs the database says so, and gets a clear error."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask.cli import with_appcontext

from panel.ready import ensure_ready

F = TypeVar("F", bound=Callable[..., Any])


def needs_database(command: F) -> F:
    """Run inside the app context, after checking the schema is current and the key ring opens."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ensure_ready()
        return command(*args, **kwargs)

    return with_appcontext(wrapper)  # type: ignore[return-value]
