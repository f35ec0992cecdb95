"""Views of the privacy plugin, one module per audience."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, url_for

from plugins.privacy.access.services.sessions import AccessError


def attempt(action: Callable[[], object], done: str | Callable[[], str], back: str) -> Any:
    """Run a decision that someone else may have made first; say which, and go back."""
    try:
        action()
        flash(done() if callable(done) else done)
    except AccessError as exc:
        flash(str(exc))
    return redirect(url_for(back))
