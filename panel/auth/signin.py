"""The end of every sign-in, whatever proved who it is (a password and a code, a passkey...).

Kept below the pages so each way of signing in (panel.auth.views, panel.passkeys.views) ends
the same way: the same bookkeeping, the same hook, the same pending second step.
"""

from __future__ import annotations

import time
from typing import Any

from flask import redirect, session
from flask_login import login_user

from panel.auth.access import home_url, load_user
from panel.auth.models import User
from panel.db_types import utcnow
from panel.extensions import db
from panel.hooks import hook

MFA_KEY = "mfa_pending"
MFA_WINDOW_SECONDS = 300


def finish_sign_in(user: User, method: str, target: str | None) -> Any:
    """Sign ``user`` in (the caller has cleared the session) and go where they were heading."""
    user.last_login_at = utcnow()
    db.session.commit()
    login_user(user)
    hook().panel_user_login(user=user, method=method)
    db.session.commit()
    return redirect(target or home_url(user))


def pending_second_step() -> tuple[User, str | None] | None:
    """Who passed their password and now owes a second step, and where they were heading;
    None once the step timed out, or if the user was signed out everywhere since."""
    pending = session.get(MFA_KEY)
    if not pending or time.time() - pending["at"] > MFA_WINDOW_SECONDS:
        return None
    user = load_user(pending["user"])
    return (user, pending.get("next")) if user is not None else None
