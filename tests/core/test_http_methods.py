"""HTTP method semantics on every route (RFC 9110): what OPTIONS and a 405 say is allowed is
exactly what works, and Retry-After is only sent with 429 and 503.

The tests walk ``app.url_map``, so a new route is checked without anyone listing it. Each
route is requested anonymously with every common method and a placeholder for each argument;
what matters here is only whether a method is refused with 405 and which headers come back.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import IntegerConverter, PathConverter, Rule, UUIDConverter

from tests.conftest import csrf_token, post_form
from tests.factories import DEFAULT_PASSWORD

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _url(rule: Rule) -> str:
    values: dict[str, Any] = {}
    for arg in rule.arguments:
        if arg in (rule.defaults or {}):
            continue
        converter = rule._converters[arg]
        if isinstance(converter, UUIDConverter):
            values[arg] = uuid.UUID(int=1)
        elif isinstance(converter, IntegerConverter):
            values[arg] = 1
        elif isinstance(converter, PathConverter):
            values[arg] = "x/y"
        else:
            values[arg] = "example.test"
    built = rule.build(values, append_unknown=False)
    assert built is not None, rule.rule
    return built[1]


def _allow(value: str | None) -> set[str]:
    return {m.strip().upper() for m in (value or "").split(",") if m.strip()}


@pytest.fixture
def walked(app: Flask) -> list[tuple[str, dict[str, Any]]]:
    """Each route's URL with the status and headers of every method (and OPTIONS)."""
    app.config["RATELIMIT_ENABLED"] = True
    client = app.test_client()
    form = {"csrf_token": csrf_token(client, "/login")}  # so CSRF is not what answers
    seen: dict[str, dict[str, Any]] = {}
    for rule in app.url_map.iter_rules():
        url = _url(rule)
        if url in seen:
            continue
        seen[url] = {m: client.open(url, method=m, data=None if m in ("GET", "HEAD") else form)
                     for m in (*METHODS, "OPTIONS")}
    assert len(seen) > 20  # the whole panel (33 URLs without plugins), not an empty map
    return list(seen.items())


def test_options_lists_exactly_the_methods_that_work_and_a_405_says_which(walked):
    wrong = []
    for url, answers in walked:
        working = {m for m in METHODS if answers[m].status_code != 405} | {"OPTIONS"}
        options = answers["OPTIONS"]
        # signed-in areas send anonymous visitors to the sign-in page first, OPTIONS too
        if options.status_code == 405 or (options.status_code < 300 and _allow(
                options.headers.get("Allow")) != working):
            wrong.append(f"OPTIONS {url}: {options.status_code}, Allow "
                         f"{options.headers.get('Allow')!r}, but {sorted(working)} work")
        for method in METHODS:
            response = answers[method]
            if response.status_code != 405:
                continue
            if _allow(response.headers.get("Allow")) != working:  # RFC 9110 section 15.5.6
                wrong.append(f"{method} {url}: 405 with Allow "
                             f"{response.headers.get('Allow')!r}, but {sorted(working)} work")
    assert not wrong, "\n".join(wrong)


def test_a_405_keeps_its_own_page_and_the_allow_header(client):
    response = client.delete("/login")
    assert response.status_code == 405
    assert _allow(response.headers["Allow"]) == {"GET", "HEAD", "POST", "OPTIONS"}
    assert "not available" in response.get_data(as_text=True)


def test_retry_after_is_sent_only_with_429_and_503(walked):
    wrong = [f"{method} {url}: {response.status_code} with Retry-After"
             for url, answers in walked for method, response in answers.items()
             if "Retry-After" in response.headers and response.status_code not in (429, 503)]
    assert not wrong, "\n".join(wrong)


def test_retry_after_comes_with_a_429_and_not_before(make_app, factories):
    """Every rate-limited answer carries the limiter's headers; only the refusal says when."""
    app = make_app(LOGIN_LIMIT_PER_IP="2 per minute")
    with app.app_context():
        factories.subscriber(email="limited@example.com")
    attempts = [post_form(app.test_client(), "/login",
                          {"email": "limited@example.com", "password": password})
                for password in ("wrong", DEFAULT_PASSWORD, "wrong", "wrong")]
    assert [r.status_code for r in attempts] == [200, 302, 200, 429]
    for response in attempts[:3]:
        assert "X-RateLimit-Limit" in response.headers and "Retry-After" not in response.headers
    assert 0 < int(attempts[3].headers["Retry-After"]) <= 60
