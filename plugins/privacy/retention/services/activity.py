"""The account's activity log (P21): failed sign-ins, security actions, and new-browser notices.

Successful sign-ins are ``SigninEvent`` rows (services/signins.py); this module adds what they
do not cover, and merges both into the history the subscriber reads.

New browser: each sign-in sets a long-lived, HttpOnly device cookie (a random token; only its
SHA-256 is stored). A sign-in whose cookie is unknown *and* whose browser family ("Firefox on
Linux") was never seen for this person is new, and a transactional notice goes out. Country:
only when the operator points GEOIP_DATABASE at a MaxMind country database (GeoLite2 is free
with registration) and the ``maxminddb`` reader is installed; without it the country is unknown
and no country notice is sent.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask import after_this_request, current_app, has_request_context, request, url_for
from sqlalchemy import delete, literal, select, union_all

from panel.accounts.models import Account
from panel.audit import AuditEvent
from panel.auth.models import SUBSCRIBER, User
from panel.auth.services import sign_out_everywhere
from panel.db_types import utcnow
from panel.extensions import db
from panel.mail.outbox import queue
from panel.paging import Page, keyset
from panel.sessions import services as sessions
from panel.sessions.services import browser_family
from plugins.privacy.processing.services import stream
from plugins.privacy.retention.models import ActivityEvent, KnownDevice, SigninEvent
from plugins.privacy.retention.services.signins import fill_from_request

DEVICE_COOKIE = "panel_device"
DEVICE_DAYS = 400  # the longest lifetime browsers accept

LABELS = {
    "signin": "Signed in", "signin.failed": "Sign-in failed",
    "password.change": "Password changed", "mfa.enrol": "Two-step sign-in turned on",
    "mfa.disable": "Two-step sign-in turned off", "mfa.recovery_codes": "New recovery codes made",
    "password.reset": "Password reset by email link",
    "email.change_request": "Email change requested", "email.change_cancel": "Email change cancelled",
    "email.change": "Email address changed", "sessions.revoke": "Other sessions signed out",
    "account.close": "Account closed", "account.reopen": "Account reopened",
    "session.end": "A signed-in device signed out",
    "passkey.add": "Passkey added", "passkey.remove": "Passkey removed",
    "mfa.reset": "Two-step sign-in reset by support (after 24 hours to cancel)",
}
REASONS = {"wrong_password": "wrong password", "suspended": "account suspended or closed",
           "wrong_code": "wrong two-step code", "not_verified": "passkey not verified",
           "unknown_passkey": "passkey not registered", "cloned_passkey": "copied passkey refused",
           "no_challenge": "passkey request expired", "malformed": "unreadable passkey answer"}
METHODS = {"password": "password", "password+totp": "password and authenticator code",
           "staff": "staff impersonation (recorded access session)", "passkey": "passkey",
           "password+passkey": "password and passkey"}
#: Audit actions that are also security events in the subscriber's own activity log.
FROM_AUDIT = {"password.change": "password.change", "mfa.enrol": "mfa.enrol",
              "mfa.disable": "mfa.disable", "mfa.recovery_codes": "mfa.recovery_codes",
              "password.reset": "password.reset",
              "account.email_change_request": "email.change_request",
              "account.email_change_cancel": "email.change_cancel",
              "account.email_change": "email.change", "account.close": "account.close",
              "account.reopen": "account.reopen",
              "session.end": "session.end", "sessions.revoke": "sessions.revoke",
              "passkey.add": "passkey.add", "passkey.remove": "passkey.remove",
              "mfa.reset": "mfa.reset"}


def record(kind: str, user: User | None, *, account_id: Any = None, method: str | None = None,
           reason: str | None = None, from_request: bool = True) -> ActivityEvent:
    """Add an entry to the caller's transaction. ``from_request=False`` when someone else
    (staff) did it: their address and browser are theirs, not the customer's."""
    event = ActivityEvent(at=utcnow(), kind=kind[:32], method=(method or None),
                          reason=(reason or None), user_id=user.id if user else None,
                          account_id=account_id or (user.account_id if user else None))
    if from_request:
        fill_from_request(event)
    db.session.add(event)
    return event


def login_failed(user: User | None, method: str, reason: str) -> None:
    """A failed attempt. For an address that matched nobody nothing identifying is kept: not the
    address typed (it may be a mistyped real address), only that an unknown one failed."""
    record("signin.failed", user, method=method[:32], reason=reason[:64])


def from_audit(event: AuditEvent) -> None:
    """Security-relevant audit events also go into the subscriber's own activity log."""
    if event.action == "access.act_as" and event.on_behalf_of is not None:
        db.session.add(_staff_signin(event))
        return
    kind = FROM_AUDIT.get(event.action)
    if kind is None or event.account_id is None:
        return
    actor = event.actor
    own = actor is not None and actor.role == SUBSCRIBER and event.on_behalf_of is None
    record(kind, actor if own else None, account_id=event.account_id,
           method=None if own or actor is None else "staff", from_request=own)


def _staff_signin(event: AuditEvent) -> SigninEvent:
    """Staff signing in as the customer is a sign-in to the customer's account (P17)."""
    # the staff member's own address and browser are theirs, not the customer's: not copied
    return SigninEvent(user_id=event.on_behalf_of, account_id=event.account_id, at=utcnow(),
                       method="staff")


# --- the history the subscriber reads ---------------------------------------------------------


@dataclass
class Line:
    at: datetime
    kind: str
    ok: bool
    method: str
    detail: str
    ip: str | None
    browser: str

    @property
    def label(self) -> str:
        return LABELS.get(self.kind, self.kind)


def history(account: Account) -> Page:
    """One keyset page of sign-ins, failures and security actions, newest first. The two
    tables are paged as one list, a UNION of their (at, id) keys, so a page boundary falls in
    the same place whichever table its rows come from; then the page's rows are loaded (their
    IP addresses are sealed, so they are read through the models, not the UNION)."""
    keys = union_all(
        select(SigninEvent.at.label("at"), SigninEvent.id.label("id"),
               literal("s").label("source")).where(SigninEvent.account_id == account.id),
        select(ActivityEvent.at.label("at"), ActivityEvent.id.label("id"),
               literal("a").label("source")).where(ActivityEvent.account_id == account.id),
    ).subquery()
    page = keyset(select(keys.c.at, keys.c.id, keys.c.source), [keys.c.at, keys.c.id],
                  scalars=False, key_of=lambda row: [row.at, row.id])
    ids = {"s": [r.id for r in page.rows if r.source == "s"],
           "a": [r.id for r in page.rows if r.source == "a"]}
    signins = {e.id: e for e in db.session.execute(
        select(SigninEvent).where(SigninEvent.id.in_(ids["s"]))).scalars()} if ids["s"] else {}
    others = {e.id: e for e in db.session.execute(
        select(ActivityEvent).where(ActivityEvent.id.in_(ids["a"]))).scalars()} if ids["a"] else {}
    lines: list[Line] = []
    for row in page.rows:
        if row.source == "s":
            s = signins[row.id]
            lines.append(Line(s.at, "signin", True, METHODS.get(s.method, s.method), "", s.ip,
                              browser_family(s.user_agent)))
        else:
            e = others[row.id]
            lines.append(Line(e.at, e.kind, e.kind != "signin.failed",
                              METHODS.get(e.method or "", ""), REASONS.get(e.reason or "",
                                                                          e.reason or ""),
                              e.ip, browser_family(e.user_agent)))
    page.rows = lines
    return page


def export_rows(account: Account) -> Any:
    yield from stream(ActivityEvent, ("at", "kind", "method", "reason", "ip", "user_agent",
                                      "referrer"),
                      ActivityEvent.account_id == account.id, order_by=(ActivityEvent.at,))


def erase(account: Account) -> None:
    db.session.execute(delete(ActivityEvent).where(ActivityEvent.account_id == account.id))
    if account.user is not None:
        db.session.execute(delete(ActivityEvent).where(ActivityEvent.user_id == account.user.id))
        db.session.execute(delete(KnownDevice).where(KnownDevice.user_id == account.user.id))


# --- new browser or country -------------------------------------------------------------------


@lru_cache(maxsize=2)
def _geoip_reader(path: str) -> Any:
    import maxminddb  # optional: only needed when GEOIP_DATABASE is set

    return maxminddb.open_database(path)


def country_of(ip: str | None) -> str | None:
    """ISO country code from the operator's MaxMind database, or None when unknown."""
    path = current_app.config.get("GEOIP_DATABASE")
    if not path or not ip:
        return None
    try:
        found = _geoip_reader(str(path)).get(ip) or {}
    except (ImportError, OSError, ValueError):
        current_app.logger.warning("GEOIP_DATABASE %s cannot be read", path)
        return None
    code = (found.get("country") or {}).get("iso_code")
    return str(code)[:2] if code else None


def _device_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_device(user: User) -> bool:
    """On a successful sign-in: remember the browser; send a notice when it, or the country,
    is new. Returns True when a notice was queued (the caller commits)."""
    if not has_request_context():
        return False
    now = utcnow()
    token = request.cookies.get(DEVICE_COOKIE, "")
    if not (16 <= len(token) <= 64):
        token = ""
    browser = browser_family(request.user_agent.string)
    country = country_of(request.remote_addr)
    known = list(db.session.execute(select(KnownDevice).where(KnownDevice.user_id == user.id))
                 .scalars())
    match = next((d for d in known if token and d.device_hash == _device_hash(token)), None)
    new_browser = bool(known) and match is None and browser not in {d.browser for d in known}
    countries = {d.country for d in known if d.country}
    new_country = bool(country) and bool(countries) and country not in countries
    if match is None:
        token = secrets.token_urlsafe(24)
        match = KnownDevice(user_id=user.id, device_hash=_device_hash(token), browser=browser,
                            first_seen=now, last_seen=now, country=country)
        db.session.add(match)
        _set_cookie(token)
    match.last_seen = now
    match.country = country or match.country
    if (new_browser or new_country) and user.email:
        _notify(user, browser, country, new_browser, new_country)
        return True
    return False


def _set_cookie(token: str) -> None:
    @after_this_request
    def _cookie(response: Any) -> Any:
        response.set_cookie(DEVICE_COOKIE, token, max_age=DEVICE_DAYS * 86400, httponly=True,
                            samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
        return response


def _notify(user: User, browser: str, country: str | None, new_browser: bool,
            new_country: bool) -> None:
    what = "a browser" if new_browser else "a country"
    lines = [f"Someone signed in to your hosting panel account from {what} not seen before.",
             "", f"When: {utcnow():%d %B %Y, %H:%M} UTC", f"Browser: {browser}"]
    if country:
        lines.append(f"Country: {country}")
    base = current_app.config["BASE_URL"].rstrip("/")
    lines += ["", "If this was you, there is nothing to do.",
              "If it was not, change your password at once and sign out every other session:",
              f"{base}{url_for('privacy_activity.index')}"]
    queue(to=user.email, subject="New sign-in to your hosting panel account",
          body="\n".join(lines), account_id=user.account_id)


def sign_out_others(user: User) -> None:
    """Every other session ends (this browser's stays; the caller signs it in again)."""
    sign_out_everywhere(user, keep=sessions.current())
    record("sessions.revoke", user)
