"""Every rate limit counts in one store that all workers, app servers and the WHOIS server share
and that outlives a restart: Redis (PANEL_REDIS_URL) or, without it, the database (issue 17).

When Redis goes away mid-run, forms fail closed (503) and page reads fail open, each logged.
"""

from __future__ import annotations

import http.cookiejar
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from panel.app import create_app
from panel.config import ConfigError
from panel.extensions import db, limiter
from panel.ratelimit.models import RateLimitCounter
from tests.conftest import (
    app_config,
    csrf_token,
    login,
    post_form,
)
from tests.factories import DEFAULT_PASSWORD
from tests.http_bodies import gunicorn
from tests.pg import free_port
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "limited@example.com"


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.kill()


def wrong_password(client: Any) -> int:
    return post_form(client, "/login", {"email": EMAIL, "password": "not-the-password"}).status_code


def _counters() -> int:
    return db.session.execute(select(func.count()).select_from(RateLimitCounter)).scalar_one()


# --------------------------------------------------------------------------- shared, kept


@pytest.mark.parametrize("store", ["database", "redis"])
def test_the_login_limit_counts_across_workers_and_survives_a_restart(
        store, app, make_app, factories, request):
    """Five wrong passwords a minute per account, however many workers take them; a restarted
    worker still refuses the sixth."""
    extra: dict[str, Any] = {}
    if store == "redis":
        extra["REDIS_URL"] = request.getfixturevalue("redis_server").url()
    factories.subscriber(email=EMAIL)
    db.session.commit()
    first, second = make_app(**extra), make_app(**extra)
    clients = [first.test_client(), second.test_client()]
    answers = [wrong_password(clients[i % 2]) for i in range(5)]
    assert answers == [200] * 5
    assert wrong_password(clients[1]) == 429
    assert wrong_password(clients[0]) == 429
    restarted = make_app(**extra)  # a worker restart builds the app anew
    assert wrong_password(restarted.test_client()) == 429
    db.session.expire_all()
    if store == "redis":
        assert _counters() == 0  # counted in Redis, not in the database
    else:
        keys = db.session.execute(select(RateLimitCounter.key)).scalars().all()
        assert keys and all(re.fullmatch(r"[0-9a-f]{64}", k) for k in keys)  # nobody named


class Browser:
    """A cookie-keeping HTTP client for a real server, which follows no redirects."""

    def __init__(self) -> None:
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect)

    def open(self, url: str, data: dict[str, str] | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(url, body, timeout=20) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def wrong_password(self, port: int) -> int:
        _, page = self.open(f"http://127.0.0.1:{port}/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token, page[:500]
        status, _ = self.open(f"http://127.0.0.1:{port}/login", {
            "csrf_token": token.group(1), "email": EMAIL, "password": "not-the-password"})
        return status


def test_two_gunicorn_servers_on_one_redis_share_the_login_limit_and_a_restart_keeps_it(
        app, factories, database_url, redis_server, tmp_path):
    """The issue's case: two app servers let 10 wrong passwords through where 5 were allowed."""
    factories.subscriber(email=EMAIL)
    db.session.commit()
    env = {"PANEL_REDIS_URL": redis_server.url()}
    instance = tmp_path / "instance"
    browser = Browser()
    with gunicorn(database_url, instance, **env) as one:
        with gunicorn(database_url, instance, **env) as two:
            assert [browser.wrong_password((one, two)[i % 2]) for i in range(5)] == [200] * 5
            assert browser.wrong_password(two) == 429
            assert browser.wrong_password(one) == 429
        with gunicorn(database_url, instance, **env) as restarted:
            assert browser.wrong_password(restarted) == 429


# --------------------------------------------------------------------------- Redis goes away


def _limited_rules(app: Flask) -> list[Any]:
    """Every route with a Flask-Limiter limit: a new limited page is walked by itself."""
    decorated = limiter.limit_manager._decorated_limits  # no public listing
    rules = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if f"{view.__module__}.{view.__name__}.{view.__qualname__}" in decorated:
            rules.append(rule)
    return rules


def _url(rule: Any) -> str:
    values = {arg: "example.test" if arg == "name" else "x" for arg in rule.arguments}
    return rule.build(values)[1]


@pytest.mark.needs_privacy
def test_redis_gone_mid_run_refuses_every_limited_form_and_serves_every_limited_page(
        app, make_app, factories, redis_server, caplog):
    """Sign-in, second step, passkeys, reset, sign-up, email change, export download, relay:
    503 while the limits cannot count (fail closed); RDAP and every page: answered as usual
    (fail open). Both are logged; with Redis back, forms work again."""
    factories.subscriber(email=EMAIL)
    db.session.commit()
    web = make_app(REDIS_URL=redis_server.url(), WTF_CSRF_ENABLED=False)
    client = web.test_client()
    assert wrong_password(client) == 200  # counted in Redis
    assert login(client, EMAIL).status_code == 302  # signed in: the subscriber's forms too
    rules = _limited_rules(web)
    assert {"auth.login", "auth.verify", "password_reset.forgot", "password_reset.reset",
            "privacy_policy.signup", "privacy_relay.contact", "privacy_rdap.domain",
            "passkeys.sign_in"} <= {r.endpoint for r in rules}
    answers_before = {(r.endpoint, m): client.open(_url(r), method=m).status_code
                      for r in rules for m in ("GET", "HEAD") if m in r.methods}

    redis_server.kill()
    caplog.set_level(logging.WARNING, logger="panel.limits")
    refused = []
    for rule in rules:
        if "POST" in rule.methods:
            started = time.monotonic()
            answer = client.post(_url(rule), data={"email": EMAIL, "password": "x"})
            assert time.monotonic() - started < 5, rule.rule  # a dead Redis must not hang forms
            if answer.status_code != 503:
                refused.append(f"POST {rule.rule}: {answer.status_code}")
            else:
                assert "try again" in answer.get_data(as_text=True).lower()
                assert answer.headers["Retry-After"] == "30"
        for method in ("GET", "HEAD"):
            if method in rule.methods:
                status = client.open(_url(rule), method=method).status_code
                if status != answers_before[(rule.endpoint, method)]:
                    refused.append(f"{method} {rule.rule}: {status}")
    assert not refused, "\n".join(refused)
    closed = [r for r in caplog.records if r.levelno == logging.ERROR]
    opened = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("POST /login" in r.getMessage() and "fail closed" in r.getMessage() for r in closed)
    assert any("GET /rdap/domain/<name>" in r.getMessage() and "fail open" in r.getMessage()
               for r in opened)
    assert not any(EMAIL in r.getMessage() or "example.test" in r.getMessage()
                   for r in caplog.records)  # the rule, never the URL or the form

    revived = RedisServer(port=redis_server.port).start()
    try:
        assert wrong_password(web.test_client()) == 200  # back to counting
    finally:
        revived.kill()


@pytest.mark.needs_privacy
def test_redis_gone_an_unsubscribe_link_still_answers(app, make_app, redis_server, caplog):
    """The hand-made counter of bad one-click links fails open on a read, like any page."""
    web = make_app(REDIS_URL=redis_server.url())
    redis_server.kill()
    caplog.set_level(logging.WARNING, logger="panel.limits")
    assert web.test_client().get("/unsubscribe/not-a-token").status_code == 404
    assert any("fail open" in r.getMessage() for r in caplog.records)


def test_redis_gone_the_second_step_fails_closed(app, make_app, factories, redis_server):
    """A password already accepted: the code step still cannot be guessed uncounted."""
    factories.reseller(email=EMAIL)  # resellers sign in with a second step
    web = make_app(REDIS_URL=redis_server.url())
    client = web.test_client()
    first = post_form(client, "/login", {"email": EMAIL, "password": DEFAULT_PASSWORD})
    assert first.headers["Location"].endswith("/login/verify")
    token = csrf_token(client, "/login/verify")
    redis_server.kill()
    answer = client.post("/login/verify", data={"csrf_token": token, "code": "000000"})
    assert answer.status_code == 503


# --------------------------------------------------------------------------- start-up


def test_start_up_names_panel_redis_url_when_redis_is_unreachable_or_refuses_the_password(
        database_url, tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    closed_port = free_port()

    def start(url: str) -> str:
        with pytest.raises(ConfigError) as failed:
            create_app(app_config(database_url, instance, REDIS_URL=url), check_database=True)
        return str(failed.value)

    message = start(f"redis://127.0.0.1:{closed_port}/0")
    assert "PANEL_REDIS_URL" in message and "cannot be reached" in message
    guarded = RedisServer(password="right-password").start()
    try:
        for url in (guarded.url("wrong-password"), guarded.url("")):
            message = start(url)
            assert "PANEL_REDIS_URL" in message and "password is wrong or missing" in message
            assert "wrong-password" not in message  # the password is never printed
        app = create_app(app_config(database_url, instance, REDIS_URL=guarded.url()),
                         check_database=True)
        assert app.config["REDIS_URL"]
    finally:
        guarded.kill()
    message = start("http://127.0.0.1:6379")
    assert "PANEL_REDIS_URL" in message and "redis://" in message


@pytest.mark.needs_privacy
def test_whois_serve_refuses_to_start_without_its_redis(make_app):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    result = app.test_cli_runner().invoke(args=["whois", "serve", "--port", str(free_port())])
    assert result.exit_code != 0
    assert "PANEL_REDIS_URL" in result.output and "cannot be reached" in result.output


# --------------------------------------------------------------------------- WHOIS (port 43)


@pytest.mark.needs_privacy
@pytest.mark.parametrize("store", ["database", "redis"])
def test_the_whois_servers_limit_counts_across_servers_and_survives_a_restart(
        store, app, make_app, request, caplog):
    """The port-43 limit was one per process: now every WHOIS server counts in the web's store.
    With Redis gone, queries are answered uncounted (reading fails open), and that is logged."""
    from plugins.privacy.whois.services.server import Settings
    from tests.privacy.whois.conftest import RunningWhois
    from tests.privacy.whois.test_p19_whois_server import ask

    redis = request.getfixturevalue("redis_server") if store == "redis" else None
    extra = {"REDIS_URL": redis.url()} if redis else {}
    db.session.commit()
    settings = Settings(timeout=2.0, rate="3 per minute")
    query = b"nothing-here.test\r\n"
    one, two = RunningWhois(make_app(**extra), settings), RunningWhois(make_app(**extra), settings)
    try:
        answers = [ask(port, query) for port in (one.port, two.port, one.port)]
        assert all("No match" in a for a in answers), answers
        assert "rate limit exceeded" in ask(two.port, query)
    finally:
        one.stop()
        two.stop()
    restarted = RunningWhois(make_app(**extra), settings)
    try:
        assert "rate limit exceeded" in ask(restarted.port, query)
        if redis:
            redis.kill()
            caplog.set_level(logging.WARNING, logger="panel.limits")
            assert "No match" in ask(restarted.port, query)
            assert any("a WHOIS query let through uncounted" in r.getMessage()
                       for r in caplog.records)
    finally:
        restarted.stop()
