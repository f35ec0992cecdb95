"""Staff acting as the customer ("log in as client"), only inside a live access session.

The browser session carries who is really there; every page and action while acting is put
on the trail with both people, and the customer's password and sign-in settings stay out of
reach.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import g, redirect, request, session, url_for
from flask_login import current_user, login_user

from panel import audit
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.extensions import db
from plugins.privacy.models import AccessSession

KEY = "privacy_act_as"
OFF_LIMITS = frozenset({"auth.password"})


def start(s: AccessSession, staff: User) -> bool:
    staff_id = staff.id  # read before login_user: ``staff`` may be the current_user proxy
    customer = db.session.execute(db.select(User).where(User.account_id == s.account_id)).scalar()
    if customer is None or not s.is_live() or s.staff_id != staff_id:
        return False
    audit.record(AuditEvent("access.act_as", actor=staff, account_id=s.account_id,
                            object="signed in as the customer", session_id=s.id,
                            on_behalf_of=customer.id))
    db.session.commit()
    login_user(customer)
    session[KEY] = {"session": str(s.id), "staff": str(staff_id)}
    return True


def stop() -> Any:
    state = session.pop(KEY, None)
    staff = db.session.get(User, uuid.UUID(state["staff"])) if state else None
    if staff is None:
        return redirect(url_for("auth.login"))
    login_user(staff)
    return redirect(url_for("privacy_staff.index"))


def before_request() -> Any:
    """While acting: check the session is still live, and record what is looked at."""
    state = session.get(KEY)
    if not state or not current_user.is_authenticated:
        return None
    s = db.session.get(AccessSession, uuid.UUID(state["session"]))
    staff = db.session.get(User, uuid.UUID(state["staff"]))
    if s is None or staff is None or not s.is_live():
        session.pop(KEY, None)
        if staff is not None:
            login_user(staff)
            return redirect(url_for("privacy_staff.index"))
        return redirect(url_for("auth.login"))
    g.privacy_access_session, g.privacy_acting_staff = s, staff
    if request.endpoint in OFF_LIMITS:
        return redirect(url_for("client.dashboard"))
    if request.method == "GET" and request.blueprint and request.blueprint.split(".")[0] in (
            "client", "privacy_client"):
        audit.record(AuditEvent("client.view", actor=staff, account_id=s.account_id,
                                object=request.path[:255], on_behalf_of=current_user.id))
        db.session.commit()
    return None


def acting_staff() -> User | None:
    return g.get("privacy_acting_staff")
