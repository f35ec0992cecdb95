"""The application factory: config -> extensions -> plugins -> blueprints."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import uuid
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from flask import Flask, g, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from jinja2 import ChoiceLoader, FileSystemLoader
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import configure_mappers
from werkzeug.exceptions import HTTPException

from panel import (
    applog,
    models,  # noqa: F401 - every core table: metadata and the sealed fields rotation finds
    paths,
)
from panel import config as config_mod
from panel.bodies import LimitedRequest
from panel.crypto.errors import SealedValueError
from panel.crypto.keyring import KeyringHolder
from panel.extensions import begin_lazily, csrf, db, login_manager
from panel.navigation_menu import banners, menu, page_parts
from panel.plugins import PluginHost
from panel.proxies import TrustedProxyFix
from panel.public import PROBES
from panel.ratelimit import store as rate_limits
from panel.ready import NotReady, ensure_ready
from panel.sessions import services as sessions
from panel.urls import retry_target

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class PanelFlask(Flask):
    """Flask asking once per function, not on every call, whether a hook or a view is a
    coroutine function: ``ensure_sync`` runs for each of a request's ~18 hooks and its view."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # weak keys: a function made for one request (after_this_request) is not kept alive
        self._sync_of: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            found = self._sync_of[func]
        except (KeyError, TypeError):  # TypeError: not weakly referenceable, asked each time
            found = super().ensure_sync(func)
            with contextlib.suppress(TypeError):
                self._sync_of[func] = None if found is func else found
            return found
        return func if found is None else found  # type: ignore[no-any-return]


def create_app(config: dict[str, Any] | None = None, *, check_database: bool = False) -> Flask:
    """Build an app. ``check_database`` makes start-up fail at once on an outdated schema or a
    wrong master key (used by panel.wsgi); otherwise the first request checks and answers 503."""
    paths.owner_only_files()  # before anything opens the database or writes a file
    instance = (config or {}).get("INSTANCE_PATH") or os.environ.get("PANEL_INSTANCE_PATH")
    app = PanelFlask("panel", instance_path=str(Path(instance).resolve()) if instance else None)
    app.request_class = LimitedRequest
    settings = config_mod.load(Path(app.instance_path), config)
    config_mod.check(settings)
    app.config.update(settings)
    app.jinja_loader = theme_loader(Path(app.instance_path))
    _harden(app)
    _warn_if_one_click_needs_https(app)
    _favicon(app)

    # A failed statement's error names its SQL, never its values (emails, names) in the log.
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {}).setdefault("hide_parameters", True)
    db.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_pragmas)
    elif app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        with app.app_context():
            if db.engine.dialect.driver == "psycopg":
                begin_lazily(db.engine)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    sessions.install(app)
    if app.config["TRUSTED_PROXIES"]:
        app.wsgi_app = TrustedProxyFix(app.wsgi_app, app.config["TRUSTED_PROXIES"])  # type: ignore[method-assign]
    app.extensions["panel.keyring"] = KeyringHolder(lambda: db.engine,
                                                    config_mod.master_key(settings))
    host = PluginHost(app.config["PLUGINS"])
    app.extensions["panel.plugins"] = host
    configure_mappers()  # every model is imported now: a mapping mistake fails here, at start-up
    # Our request hooks first: readiness is checked, and the raw form read, before CSRF, the
    # limiter or any blueprint's hooks touch the request. The request's log line and metrics
    # before them all, so its clock starts first and it sees the final status.
    applog.install(app)
    _install_request_hooks(app)
    csrf.init_app(app)
    rate_limits.init_app(app)  # the limiter, on the store every worker and server shares
    host.register_blueprints(app)
    for commands in host.pm.hook.panel_cli_commands():
        for command in commands:
            app.cli.add_command(command)

    _install_error_handlers(app)
    if check_database:
        rate_limits.check_redis(app.config)
        with app.app_context():
            ensure_ready()
    return app


def theme_loader(instance: Path) -> ChoiceLoader:
    """Pages are looked up in ``instance/templates/`` first (an operator's own theme, as a WHMCS
    custom theme is), then in the panel's ``templates/``; Flask then asks each plugin's
    blueprints. A file under ``instance/templates/`` with a page's relative path replaces that
    page, a plugin's included."""
    return ChoiceLoader([FileSystemLoader(instance / "templates"), FileSystemLoader(paths.TEMPLATES)])


def _harden(app: Flask) -> None:
    https = str(app.config.get("BASE_URL", "")).startswith("https://")
    app.config.update(
        SESSION_COOKIE_NAME="panel_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=https,
        PERMANENT_SESSION_LIFETIME=12 * 3600,
        WTF_CSRF_SSL_STRICT=https,
    )


def _warn_if_one_click_needs_https(app: Flask) -> None:
    """RFC 8058 one-click unsubscribe requires an https URI, and mail links are built from
    BASE_URL: a public http one makes providers ignore the one-click header. Said once, at
    start-up; a local or reserved host (a demo, a test) is exempt."""
    base = str(app.config.get("BASE_URL") or "")
    parts = urlsplit(base)
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme == "https" or host == "localhost" or host.endswith((".localhost", ".test")):
        return
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).is_loopback:  # 127.0.0.0/8, ::1
            return
    app.logger.warning("PANEL_BASE_URL is %s, not https://: links in mail use it, and one-click "
                       "unsubscribe (RFC 8058) only works with an https:// address. Set "
                       "PANEL_BASE_URL to the panel's public https:// address.", base)


#: How long browsers may keep /favicon.ico without asking again.
FAVICON_MAX_AGE = 7 * 24 * 3600


def _favicon(app: Flask) -> None:
    """Browsers ask for /favicon.ico on a first visit whatever the page links; a 404 there is
    an error in every console. A second rule of the static endpoint serves it, so no sign-in
    or policy gate stands in front of it; it may be cached for a week, by anyone."""
    app.add_url_rule("/favicon.ico", "static", defaults={"filename": "favicon.ico"})

    @app.after_request
    def _cache_favicon(response: Any) -> Any:  # runs after _security_headers' no-store
        if request.path == "/favicon.ico" and response.status_code == 200:
            response.headers["Cache-Control"] = f"public, max-age={FAVICON_MAX_AGE}"
        return response


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    # WAL: readers never wait for the writer and a commit costs one append, which matters
    # because every staff page view commits its trail entry (measured in bench/audit.py).
    cur.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL syncs at checkpoints instead of at every commit (the setting SQLite
    # recommends for WAL): a crash of the process or the OS loses nothing, and a power loss can
    # only roll back the last few commits whole, each change with its own trail entry, so the
    # chain never breaks. FULL cost one fsync (about 5 ms) per staff page view.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _undecodable_fields() -> set[str]:
    """Names of urlencoded form fields whose bytes are not UTF-8. Werkzeug re-quotes such
    bytes, so validation would otherwise see (and save) text that is not what was sent;
    panel.validation.plain_text refuses these fields. Multipart parts become U+FFFD instead,
    which plain_text refuses too."""
    if request.mimetype != "application/x-www-form-urlencoded":
        return set()
    data = request.get_data(cache=True)
    if data.isascii() and b"%" not in data:
        return set()  # nothing but ASCII, nothing escaped: every field is UTF-8
    bad = set()
    for pair in data.split(b"&"):
        name, _, value = pair.partition(b"=")
        try:
            unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            bad.add(unquote_to_bytes(name).decode("utf-8", "replace"))
    return bad


def _install_request_hooks(app: Flask) -> None:
    @app.before_request
    def _ready_and_gated() -> Any:
        sent = request.headers.get("X-Request-Id", "")  # a proxy's id, if it is only an id
        g.request_id = sent if REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        if request.endpoint in PROBES:  # /healthz, /readyz: answered whatever the database says
            return None
        try:
            ensure_ready()
        except NotReady as exc:
            # What is wrong (a key id, the key settings, the command to run) is for the
            # operator's log; a visitor only learns that the service is unavailable.
            app.logger.error("not ready (request %s): %s", g.request_id, exc)
            g._login_user = login_manager.anonymous_user()  # the page must not load the user
            return render_template("error.html", code=503, title="Service unavailable",
                                   message=UNAVAILABLE, link=RETRY[503],
                                   target=retry_target()), 503
        g.undecodable_fields = _undecodable_fields()
        request.form  # noqa: B018 - the whole form now: a body over its limit is a 413 before any hook acts
        host = app.extensions["panel.plugins"]
        owner = host.blueprint_owner.get((request.blueprint or "").split(".")[0])
        if owner and not host.is_active(owner):
            return render_template("error.html", code=404, title="Not found",
                                   message="There is nothing at this address."), 404
        return None

    @app.after_request
    def _security_headers(response: Any) -> Any:
        headers = response.headers
        present = {name.lower() for name, _ in headers.items()}  # a view's own value wins
        for name, value in SECURITY_HEADERS:
            if name.lower() not in present:
                headers.add(name, value)
        headers["X-Request-Id"] = g.get("request_id", "")
        user = current_user._get_current_object()  # type: ignore[attr-defined]
        if user and getattr(user, "is_authenticated", False) and "cache-control" not in present:
            headers.add("Cache-Control", "no-store")
        if app.config["SESSION_COOKIE_SECURE"] and "strict-transport-security" not in present:
            headers.add("Strict-Transport-Security", "max-age=31536000")
        return response

    @app.after_request
    def _retry_after_only_when_refused(response: Any) -> Any:
        """RFC 9110 10.2.3: Retry-After belongs to 429 and 503. Flask-Limiter adds it to every
        answer of a limited route; its hook runs before this one (registered later)."""
        if response.status_code not in (429, 503):
            response.headers.pop("Retry-After", None)
        return response

    @app.context_processor
    def _layout() -> dict[str, Any]:
        return {"nav": menu(), "banners": banners(), "page_parts": page_parts}


#: Every answer carries these unless its view set its own.
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "interest-cohort=()"),
)

#: An X-Request-Id from a proxy is kept only if it is plainly an id: it goes into the log.
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

UNAVAILABLE = "The service is unavailable at the moment. Please try again later."

MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Not found", "There is nothing at this address."),
    404: ("Not found", "There is nothing at this address."),
    405: ("Not allowed", "That action is not available here."),
    413: ("Too large", "What you sent is larger than this panel accepts."),
    429: ("Too many attempts", "Too many attempts: wait a minute and try again."),
}


#: Error pages that tell the visitor to try again link to where they can (no dead ends).
RETRY = {429: "Try again", 503: "Try again"}


def _install_error_handlers(app: Flask) -> None:
    def page(code: int, title: str, message: str, link: str | None = None) -> tuple[str, int]:
        with contextlib.suppress(OperationalError):  # the database may be what failed
            db.session.rollback()
        link = link or RETRY.get(code)
        return render_template("error.html", code=code, title=title, message=message,
                               link=link, target=retry_target() if link else None), code

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        code = exc.code or 500
        if code == 403:  # never confirm that something exists
            code = 404
        title, message = MESSAGES.get(code, (exc.name, exc.description or ""))
        if code == 429:
            if getattr(exc, "response", None) is not None:  # a view's own on_breach page
                return exc.response
            return page(429, title, message)
        # the exception's own headers say what the page cannot: a 405's Allow (RFC 9110 15.5.6)
        kept = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        return (*page(code, title, message), kept)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        return page(400, "Form expired", "This form expired or was not sent from this site. "
                    "Go back, reload the page and try again.", link="Back to the form")

    @app.errorhandler(SealedValueError)
    def _sealed(exc: SealedValueError) -> Any:
        app.logger.error("integrity error: %s", exc)
        return page(500, "Stored data failed its integrity check",
                    f"A stored value ({exc.table}.{exc.column}) did not pass its integrity "
                    "check, so nothing was shown. The incident was logged.")

    @app.errorhandler(OperationalError)
    def _db_down(exc: OperationalError) -> Any:
        app.logger.error("database unavailable: %s", exc.orig)
        g._login_user = login_manager.anonymous_user()  # the page must not reload the user
        return page(503, "Try again shortly",
                    "The database is busy or unreachable. Nothing was saved; try again shortly.")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        app.logger.exception("unhandled error")
        return page(500, "Something went wrong",
                    "Something went wrong on our side. Nothing was saved; the error was logged.")
