"""Cookie consent (P23): only essential cookies until the visitor chooses.

Essential: the session cookie (which carries the CSRF token) and, after a sign-in, the device
cookie of the new-browser notice. Analytics is the panel's own page-view counter, which
counts nothing and sets no cookie without consent; targeting has nothing behind it until an
operator adds something. The choice lives in a signed cookie (itsdangerous: a forged or
altered one is ignored) and each choice is kept as evidence. ``Sec-GPC: 1`` or ``DNT: 1``
refuses analytics and targeting whatever the cookie says.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app, request
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from panel.db_types import utcnow, uuid7
from panel.extensions import db
from plugins.privacy.retention.models import CookieConsent, PageView

COOKIE = "panel_consent"
ANALYTICS_COOKIE = "panel_analytics"  # holds only the date of the last counted day
MAX_AGE_DAYS = 365
#: Bump when the banner's wording or the categories change: the evidence names what was shown.
NOTICE_VERSION = "2025-1"
CHOICES = ("accept_all", "reject_all", "custom")
SIGNALS = {"gpc": "Global Privacy Control", "dnt": "Do Not Track"}


@dataclass(frozen=True)
class State:
    decided: bool
    analytics_chosen: bool
    targeting_chosen: bool
    signal: str | None  # "gpc" / "dnt" when the browser sent one

    @property
    def analytics(self) -> bool:
        return self.analytics_chosen and self.signal is None

    @property
    def targeting(self) -> bool:
        return self.targeting_chosen and self.signal is None

    @property
    def signal_name(self) -> str | None:
        return SIGNALS.get(self.signal or "")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="panel.cookie-consent")


def browser_signal() -> str | None:
    if request.headers.get("Sec-GPC", "").strip() == "1":
        return "gpc"
    if request.headers.get("DNT", "").strip() == "1":
        return "dnt"
    return None


def state() -> State:
    """The visitor's choice from the signed cookie; anything forged or stale means none."""
    raw = request.cookies.get(COOKIE)
    choice: dict[str, Any] | None = None
    if raw and len(raw) < 512:
        try:
            loaded = _serializer().loads(raw, max_age=MAX_AGE_DAYS * 86400)
        except BadSignature:
            loaded = None
        if isinstance(loaded, dict) and loaded.get("v") == NOTICE_VERSION:
            choice = loaded
    if choice is None:
        return State(False, False, False, browser_signal())
    return State(True, choice.get("a") is True, choice.get("t") is True, browser_signal())


def decide(choice: str, analytics: bool, targeting: bool) -> tuple[str, CookieConsent]:
    """Record the choice as evidence (tied to the account when signed in); returns the cookie
    value to set. The caller commits."""
    if choice not in CHOICES:
        raise ValueError(f"unknown choice {choice!r}")
    if choice == "accept_all":
        analytics = targeting = True
    elif choice == "reject_all":
        analytics = targeting = False
    signed_in = current_user.is_authenticated
    evidence = CookieConsent(
        id=uuid7(), at=utcnow(), choice=choice, analytics=analytics, targeting=targeting,
        signal=browser_signal(), notice_version=NOTICE_VERSION,
        user_id=current_user.id if signed_in else None,
        account_id=current_user.account_id if signed_in else None)
    db.session.add(evidence)
    value = _serializer().dumps({"v": NOTICE_VERSION, "a": analytics, "t": targeting,
                                 "id": str(evidence.id)})
    return value, evidence


def set_cookie(response: Any, value: str) -> None:
    response.set_cookie(COOKIE, value, max_age=MAX_AGE_DAYS * 86400, httponly=True,
                        samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])


def evidence_for(user_id: uuid.UUID, limit: int = 20) -> list[CookieConsent]:
    return list(db.session.execute(select(CookieConsent).where(CookieConsent.user_id == user_id)
                                   .order_by(CookieConsent.at.desc()).limit(limit)).scalars())


# --- the page-view counter (analytics) --------------------------------------------------------


def count_view(response: Any) -> Any:
    """After each page: count it only with analytics consent and no GPC/DNT signal. A visit
    is a GET that answered a page; a HEAD (a link checker's probe) is not counted."""
    if (request.method != "GET" or response.status_code != 200
            or response.mimetype != "text/html" or request.url_rule is None):
        return response
    current = state()
    if not current.analytics:
        if request.cookies.get(ANALYTICS_COOKIE):  # consent withdrawn: the cookie goes too
            response.delete_cookie(ANALYTICS_COOKIE)
        return response
    today = utcnow().date()
    new_visitor = request.cookies.get(ANALYTICS_COOKIE) != today.isoformat()
    _bump(today, request.url_rule.rule[:255], new_visitor)
    if new_visitor:
        response.set_cookie(ANALYTICS_COOKIE, today.isoformat(), max_age=86400, httponly=True,
                            samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def _bump(day: date, path: str, new_visitor: bool) -> None:
    """One short transaction of its own: the page's own work is already committed."""
    table = PageView.__table__
    values = {"views": table.c.views + 1, "visitors": table.c.visitors + int(new_visitor)}
    where = (table.c.day == day) & (table.c.path == path)
    with db.engine.begin() as conn:
        if conn.execute(update(table).where(where).values(**values)).rowcount:
            return
    try:
        with db.engine.begin() as conn:
            conn.execute(insert(table).values(id=uuid7(), day=day, path=path, views=1,
                                              visitors=int(new_visitor)))
    except IntegrityError:  # another request inserted the row first
        with db.engine.begin() as conn:
            conn.execute(update(table).where(where).values(**values))


def page_views(days: int = 30) -> list[PageView]:
    since = utcnow().date().toordinal() - days
    return list(db.session.execute(select(PageView).where(
        PageView.day >= date.fromordinal(since)).order_by(PageView.day.desc(),
                                                          PageView.views.desc())).scalars())
