"""Where every rate limit counts, and what a request gets when that store is down.

Every limit (Flask-Limiter's decorators, the hand-made ``limiter.limiter.hit`` calls and the
WHOIS server's) goes through one :class:`PanelStorage`, so they all count in one place that
every worker, every app server and the WHOIS server share, and that outlives a restart:

- Redis when ``PANEL_REDIS_URL`` is set (the ``limits`` library's Redis storage), for
  production with several app servers;
- otherwise the panel's own database (:class:`DatabaseStorage`, table ``rate_limit_counter``),
  so ``make run``'s several workers and the WHOIS server already share their counters;
- ``RATELIMIT_STORAGE_URI`` overrides both with any ``limits`` URI (``memory://`` counts in
  one process only: for a single-process test run, never for several workers).

When the store fails mid-run, a request that sends something (a POST: sign-in, second step,
reset, sign-up, relay, export download...) fails closed with a 503, and a page read (GET,
HEAD) or a WHOIS query fails open, uncounted; both are logged. Counting the failed attempt after
its answer is decided (``deduct_when``) fails open: the next attempt is refused anyway.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import random
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, g, has_request_context, render_template, request
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import Engine, Float, Integer, String, bindparam, case, delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import ServiceUnavailable

from panel.config import ConfigError
from panel.extensions import OWN_TRANSACTION, db, limiter
from panel.ratelimit.models import RateLimitCounter
from panel.urls import retry_target

log = logging.getLogger("panel.limits")

DATABASE = "database"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REDIS_SCHEMES = ("redis", "rediss", "redis+unix")
#: Seconds a Redis call may take before the store counts as down: a request must not hang.
REDIS_TIMEOUT = 1.0
_AFTER = "_panel_limits_answered"  # g flag: the answer is decided, only counting is left
_LOGGED = "_panel_limits_logged"
_SEEN = "_panel_limits_seen"  # g: {hashed key: (count, expires_at)} this request counted


class StoreDown(ServiceUnavailable):
    """The limits store failed on a request that must not go through uncounted."""

    description = ("Signing in and sending forms is unavailable for a moment. Nothing was "
                   "saved; try again in a minute.")


def storage_target(config: dict[str, Any]) -> str:
    """``RATELIMIT_STORAGE_URI`` if the operator set one, else ``REDIS_URL``, else the database."""
    return config.get("RATELIMIT_STORAGE_URI") or config.get("REDIS_URL") or DATABASE


def redis_options() -> dict[str, Any]:
    """Short timeouts and one quick retry: a dead Redis costs a request about a second, not
    redis-py's default backoff."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT,
            "retry": Retry(NoBackoff(), 1)}


def masked(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def redis_problem(url: str) -> str | None:
    """What is wrong with the Redis at ``url`` (unreachable, password refused), or None when a
    PING answers. For start-up and readiness checks."""
    import redis

    try:
        client = redis.Redis.from_url(url, **redis_options())
    except ValueError as exc:
        return f"is not a usable Redis address: {exc}"
    try:
        client.ping()
    except redis.AuthenticationError:
        return "was refused: the password is wrong or missing (Redis requirepass)"
    except redis.ResponseError as exc:
        if "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
            return "was refused: the password is wrong or missing (Redis requirepass)"
        return f"answered with an error: {exc}"
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        return f"cannot be reached: {exc}"
    finally:
        client.close()
    return None


def check_redis(config: dict[str, Any]) -> None:
    """Refuse to start when ``PANEL_REDIS_URL`` is set and its Redis does not answer."""
    url = config.get("REDIS_URL")
    if not url:
        return
    problem = redis_problem(str(url))
    if problem:
        raise ConfigError(f"PANEL_REDIS_URL ({masked(str(url))}) {problem}. The shared rate "
                          "limits live there: start Redis or correct PANEL_REDIS_URL.")


class DatabaseStorage(Storage):
    """Fixed-window counters in the panel's database: one upsert per hit, in its own short
    transaction, so a request that rolls back still counts. Needs an app context."""

    STORAGE_SCHEME = None

    def __init__(self, engine: Callable[[], Engine] = lambda: db.engine) -> None:
        super().__init__(None)
        self._engine = engine

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    @staticmethod
    def _key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        engine = self._engine()
        now = time.time()
        hashed = self._key(key)
        with engine.connect() as conn:
            count, expires_at = conn.execute(_upsert(engine.dialect.name), {
                "hit_key": hashed, "hit_amount": amount, "now": now,
                "hit_expires": now + expiry}).one()
            conn.commit()  # SQLite: pysqlite began at the write; PostgreSQL: committed already
            if random.random() < 1 / 256:  # noqa: S311 - housekeeping, not security
                conn.execute(_PURGE, {"now": now})
                conn.commit()
        if has_request_context():
            # Flask-Limiter reads the window back (get, get_expiry) for its X-RateLimit
            # headers right after counting: the row this statement just returned answers
            # them, instead of two more connections with a SELECT each.
            g.setdefault(_SEEN, {})[hashed] = (int(count), float(expires_at))
        return int(count)

    def _row(self, key: str) -> tuple[int, float] | None:
        hashed = self._key(key)
        seen = g.get(_SEEN, {}).get(hashed) if has_request_context() else None
        if seen is not None:
            return seen if seen[1] > time.time() else None
        table = RateLimitCounter.__table__
        with self._engine().connect() as conn:
            row = conn.execute(select(table.c.count, table.c.expires_at).where(
                table.c.key == hashed, table.c.expires_at > time.time())).first()
        return (int(row[0]), float(row[1])) if row else None

    def get(self, key: str) -> int:
        row = self._row(key)
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return row[1] if row else time.time()

    def check(self) -> bool:
        try:
            with self._engine().connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        if has_request_context():
            g.pop(_SEEN, None)
        with self._engine().begin() as conn:
            return conn.execute(delete(RateLimitCounter.__table__)).rowcount

    def clear(self, key: str) -> None:
        table = RateLimitCounter.__table__
        if has_request_context():
            g.get(_SEEN, {}).pop(self._key(key), None)
        with self._engine().begin() as conn:
            conn.execute(delete(table).where(table.c.key == self._key(key)))


_COUNTERS = RateLimitCounter.__table__
_PURGE = delete(_COUNTERS).where(_COUNTERS.c.expires_at < bindparam("now"))


@functools.cache
def _upsert(dialect_name: str) -> Any:
    """One hit: the counter of a live window goes up by ``amount``, a stale one starts again.
    Built once per dialect with bound values, so a hit costs no statement building.

    Its commit does not wait for the disk. The write is atomic and the database stays
    consistent; only a power cut (not a crash of the process) can lose the last few counts,
    which a rate limit can afford. Waiting for the disk made every WHOIS query and counted form
    cost one fsync, one at a time (bench/whois.py). SQLite needs nothing for that: every
    connection runs WAL with ``synchronous=NORMAL`` (panel/app.py). On PostgreSQL the statement
    is a transaction by itself (OWN_TRANSACTION), one round trip instead of four (BEGIN, SET
    LOCAL, the upsert, COMMIT), and sets ``synchronous_commit`` off for that transaction only
    (``set_config``'s is_local), in the row it inserts from."""
    stale = _COUNTERS.c.expires_at <= bindparam("now")
    key = bindparam("hit_key", type_=String)
    amount = bindparam("hit_amount", type_=Integer)
    expires = bindparam("hit_expires", type_=Float)
    if dialect_name == "postgresql":
        no_flush = select(func.set_config("synchronous_commit", "off", True)).subquery()
        insert: Any = postgresql.insert(_COUNTERS).from_select(
            ["key", "count", "expires_at"], select(key, amount, expires).select_from(no_flush))
        options = OWN_TRANSACTION
    else:
        insert, options = sqlite.insert(_COUNTERS).values(key=key, count=amount,
                                                          expires_at=expires), {}
    return (insert
            .on_conflict_do_update(index_elements=[_COUNTERS.c.key], set_={
                "count": case((stale, amount), else_=_COUNTERS.c.count + amount),
                "expires_at": case((stale, expires), else_=_COUNTERS.c.expires_at)})
            .returning(_COUNTERS.c.count, _COUNTERS.c.expires_at)
            .execution_options(**options))


def _fails_closed() -> bool:
    if not has_request_context():
        return False  # a WHOIS query: reading
    if g.get(_AFTER):
        return False  # the answer is decided; only counting the attempt is left
    return request.method not in SAFE_METHODS


def _what() -> str:
    if not has_request_context():
        return "a WHOIS query"
    rule = request.url_rule.rule if request.url_rule else "?"
    return f"{request.method} {rule}"  # the rule, never the URL: no tokens, no addresses


class PanelStorage(Storage):
    """Wraps the real store and decides, when it fails, between refusing and letting through."""

    STORAGE_SCHEME = ["panel"]
    _last_warning = -60.0

    def __init__(self, uri: str | None = None, target: str = DATABASE, **_: Any) -> None:
        super().__init__(uri)
        self.target = target
        if target == DATABASE:
            self.inner: Storage = DatabaseStorage()
        elif target.split("://", 1)[0] in REDIS_SCHEMES:
            self.inner = storage_from_string(target, **redis_options())  # type: ignore[assignment]
        else:
            self.inner = storage_from_string(target)  # type: ignore[assignment]

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return ()  # _guard handles every failure

    def _guard(self, call: Callable[[], Any], fallback: Any) -> Any:
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - any store failure is decided here
            reason = f"{type(exc).__name__}: {exc}"
            if _fails_closed():
                if not g.get(_LOGGED):
                    g.setdefault(_LOGGED, True)
                    log.error("rate-limit store unreachable (%s): refused %s (limits fail "
                              "closed for forms)", reason, _what())
                raise StoreDown() from exc
            self._warn_open(reason)
            return fallback

    def _warn_open(self, reason: str) -> None:
        if has_request_context():
            if g.get(_LOGGED):
                return
            g.setdefault(_LOGGED, True)
        else:
            if time.monotonic() - self._last_warning < 10:
                return  # a flood of WHOIS queries: one line per 10 seconds is enough
            self._last_warning = time.monotonic()
        log.warning("rate-limit store unreachable (%s): %s let through uncounted (limits fail "
                    "open for reading)", reason, _what())

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self._guard(lambda: self.inner.incr(key, expiry, amount), 0)  # type: ignore[no-any-return]

    def get(self, key: str) -> int:
        return self._guard(lambda: self.inner.get(key), 0)  # type: ignore[no-any-return]

    def get_expiry(self, key: str) -> float:
        return self._guard(lambda: self.inner.get_expiry(key), time.time())  # type: ignore[no-any-return]

    def check(self) -> bool:
        try:
            return bool(self.inner.check())
        except Exception:  # noqa: BLE001
            return False

    def reset(self) -> int | None:
        return self.inner.reset()

    def clear(self, key: str) -> None:
        self.inner.clear(key)


def init_app(app: Flask) -> None:
    """Bind the shared limiter to ``app``'s store; a store failure on a form is a 503 page."""
    app.config["RATELIMIT_STORAGE_OPTIONS"] = {"target": storage_target(app.config)}
    limiter.init_app(app)
    _skip_the_idle_check(app)

    @app.after_request  # registered after the limiter's, so it runs before its deductions
    def _answered(response: Any) -> Any:
        g.setdefault(_AFTER, True)
        return response

    @app.errorhandler(StoreDown)
    def _store_down(exc: StoreDown) -> Any:
        page = render_template("error.html", code=503, title="Try again shortly",
                               message=exc.description, link="Try again", target=retry_target())
        return page, 503, {"Retry-After": "30"}


def _nothing_before_the_view() -> bool:
    """Whether Flask-Limiter's before-request check has nothing to count for this request: no
    application, default or meta limits, no blueprint limits, no limit on a helper the view
    calls (a hint), and the store not marked dead. Read live (flask-limiter 4's own fields), so
    a limit added later is checked at once. A view's own ``@limiter.limit`` is checked by its
    decorator, not here."""
    manager = limiter.limit_manager
    return not (manager._application_limits or manager._default_limits or limiter._meta_limits
                or manager._blueprint_limits or limiter._storage_dead
                or manager.has_hints(request.endpoint or ""))


def _skip_the_idle_check(app: Flask) -> None:
    """Flask-Limiter's before-request check resolves every kind of limit for every request
    (about 0.15 ms); when none can apply, as for nearly every page, it is skipped."""
    check = limiter._check_request_limit
    hooks = app.before_request_funcs.setdefault(None, [])
    if check not in hooks:
        return

    def _limits_before_the_view() -> None:
        if not _nothing_before_the_view():
            check()

    hooks[hooks.index(check)] = _limits_before_the_view


def whois_limiter(app: Flask) -> FixedWindowRateLimiter:
    """The WHOIS server's limiter, on the same store as the web's limits. Call ``hit`` in an
    app context (the database store needs one)."""
    return FixedWindowRateLimiter(PanelStorage("panel://", target=storage_target(app.config)))

