"""Flask-Limiter's before-request check is skipped only when no limit can apply to the request
(issue 16: it cost every page about 0.15 ms). A default or application limit, added at any time,
is counted again at once; a view's own limit is counted by its decorator either way."""

from __future__ import annotations

import pytest
from flask_limiter import ApplicationLimit, Limit

from panel.extensions import limiter
from panel.ratelimit import store


@pytest.fixture
def memory_limits(app, monkeypatch):
    """The limiter's lists as they are, restored after: the limiter is shared by every app."""
    manager = limiter.limit_manager
    monkeypatch.setattr(manager, "_default_limits", list(manager._default_limits))
    monkeypatch.setattr(manager, "_application_limits", list(manager._application_limits))
    return manager


def _codes(client, n: int) -> list[int]:
    return [client.get("/login", environ_base={"REMOTE_ADDR": "10.7.7.7"}).status_code
            for _ in range(n)]


def test_no_limit_applies_to_a_plain_page_so_the_check_is_skipped(app, memory_limits):
    with app.test_request_context("/login"):
        assert store._nothing_before_the_view()
    assert _codes(app.test_client(), 3) == [200] * 3


@pytest.mark.parametrize("kind", ["default", "application"])
def test_a_limit_added_later_is_counted_before_the_view_at_once(app, memory_limits, kind):
    client = app.test_client()
    assert _codes(client, 2) == [200, 200]
    if kind == "default":
        memory_limits.set_default_limits([Limit("2 per minute").bind(limiter)])
    else:
        memory_limits.set_application_limits(
            [ApplicationLimit("2 per minute").bind(limiter)])
    with app.test_request_context("/login"):
        assert not store._nothing_before_the_view()
    assert _codes(client, 3) == [200, 200, 429]
