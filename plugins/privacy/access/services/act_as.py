"""Staff acting as the customer ("log in as client"), only inside a live access session.

The browser session carries who is really there; every page and action while acting is put
on the trail with both people, and the customer's password and sign-in settings stay out of
reach.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, g, redirect, request, session, url_for
from flask_login import current_user, login_user

from panel import audit
from panel.audit import AuditEvent
from panel.auth.access import load_user
from panel.auth.models import User
from panel.extensions import db
from plugins.privacy.access.models import AccessSession

KEY = "privacy_act_as"
OFF_LIMITS = frozenset({"auth.password", "auth.totp_setup", "passkeys.page", "passkeys.add",
                        "passkeys.register_options", "passkeys.remove"})
#: The person's own sign-in settings (the Security page, passkeys, signed-in devices) live here.
OWN_SETTINGS_PATH = "/account/"
# the customer's signed-in devices: their addresses, and ending their sessions
OFF_LIMITS |= {"sessions.devices", "sessions.end", "sessions.end_others"}
STOP_ENDPOINT = "privacy_access_link.stop_acting"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})  # HEAD and OPTIONS only read


def _customers_own_control(endpoint: str | None, method: str) -> bool:
    """What staff may not do in the customer's name: their sign-in settings, and any change
    to their privacy choices (approval, requests, exports, email, policy acceptance)."""
    if endpoint in OFF_LIMITS:
        return True
    return (method in WRITE_METHODS and (endpoint or "").startswith("privacy_")
            and endpoint != STOP_ENDPOINT)


def start(s: AccessSession, staff: User) -> bool:
    staff_id, staff_login = staff.id, staff.get_id()  # before login_user: may be current_user
    customer = db.session.execute(db.select(User).where(User.account_id == s.account_id)).scalar()
    if customer is None or not s.is_live() or s.staff_id != staff_id:
        return False
    audit.record(AuditEvent("access.act_as", actor=staff, account_id=s.account_id,
                            object="signed in as the customer", session_id=s.id,
                            on_behalf_of=customer.id))
    db.session.commit()
    login_user(customer)
    session[KEY] = {"session": str(s.id), "staff": staff_login}  # id and session token
    return True


def stop() -> Any:
    state = session.pop(KEY, None)
    staff = load_user(state["staff"]) if state else None  # None if signed out everywhere since
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
    staff = load_user(state["staff"])
    if s is None or staff is None or not s.is_live():
        session.pop(KEY, None)
        if staff is not None:
            login_user(staff)
            return redirect(url_for("privacy_staff.index"))
        return redirect(url_for("auth.login"))
    g.privacy_access_session, g.privacy_acting_staff = s, staff
    if (_customers_own_control(request.endpoint, request.method)
            or request.path.startswith(OWN_SETTINGS_PATH)):
        flash("Staff acting as the customer cannot change the customer's own sign-in or "
              "privacy choices.")
        return redirect(url_for("client.dashboard"))
    if request.method in ("GET", "HEAD") and request.path.startswith("/client/"):
        audit.record(AuditEvent("client.view", actor=staff, account_id=s.account_id,
                                object=request.path[:255], on_behalf_of=current_user.id))
        db.session.commit()
    return None


def acting_staff() -> User | None:
    return g.get("privacy_acting_staff")
