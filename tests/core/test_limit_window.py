"""The database store answers Flask-Limiter's read-back of a window (its X-RateLimit headers)
from the count the hit just returned (issue 16): a counted request reads no counter row
again, and the headers still say how many tries are left and when the window ends."""

from __future__ import annotations

import contextlib
import time

import pytest
from sqlalchemy import event

from panel.extensions import db, limiter


@pytest.mark.needs_privacy
def test_a_counted_request_reads_its_window_from_the_hit_and_the_headers_stay_right(make_app):
    """RDAP's limit is a plain hit per request: the hit's own row answers the headers."""
    app = make_app(RDAP_RATE_LIMIT="4 per minute")
    with app.app_context():
        engine = db.engine
    reads: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if "rate_limit_counter" in statement and statement.lstrip().upper().startswith("SELECT"):
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        client = app.test_client()
        answers = [client.get("/rdap/domain/nowhere.test") for _ in range(5)]
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [r.status_code for r in answers] == [404, 404, 404, 404, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers[:4]] == ["3", "2", "1", "0"]
    assert all(r.headers["X-RateLimit-Limit"] == "4" for r in answers[:4])
    resets = [int(r.headers["X-RateLimit-Reset"]) for r in answers[:4]]
    assert len(set(resets)) == 1 and time.time() < resets[0] <= time.time() + 61
    assert reads == [], "a counted request read its counter back"


def test_a_cleared_or_reset_counter_is_not_answered_from_what_the_request_saw(make_app):
    """A right password clears the account's counter within the request that counted it: a
    window read after a clear or reset must not be the count from before it."""
    app = make_app()
    with app.test_request_context():
        storage = limiter.storage
        assert storage.incr("probe", 60) == 1 and storage.incr("probe", 60) == 2
        assert storage.get("probe") == 2 and storage.get_expiry("probe") > time.time()
        storage.clear("probe")
        assert storage.get("probe") == 0
        storage.incr("probe", 60)
        storage.reset()
        assert storage.get("probe") == 0


def test_a_hit_is_one_statement_that_commits_itself_and_leaves_the_connection_as_it_was(
        make_app, backend, tmp_path):
    """What a hit sends the database (issue 16, the WHOIS figure): the upsert, and on
    PostgreSQL nothing else: no BEGIN, SET or COMMIT round trips of its own. The count is
    committed (another connection sees it), and the commit-without-flush setting ends with the
    hit's own transaction: a pooled connection's next transaction waits for the disk again."""
    from sqlalchemy import text

    from tests import wire

    app = make_app()
    with app.test_request_context():
        storage = limiter.storage
        engine = db.engine
        with wire.traced(engine, tmp_path / "wire.trace") as sent:
            assert storage.incr("probe", 60) == 1
            assert storage.incr("probe", 60, amount=3) == 4
        trace = sent()
        with engine.connect() as other:
            counts = other.execute(text("SELECT count FROM rate_limit_counter")).scalars().all()
        settings = set()
        if backend == "postgresql":  # every idle pooled connection, the hit's among them
            with contextlib.ExitStack() as stack:
                for _ in range(engine.pool.checkedin()):
                    conn = stack.enter_context(engine.connect())
                    settings.add(conn.execute(text("SHOW synchronous_commit")).scalar())
    assert counts == [4]
    assert trace.count("INSERT INTO rate_limit_counter") == 2, trace
    if backend == "postgresql":
        assert "BEGIN" not in trace and "COMMIT" not in trace and "SET LOCAL" not in trace, trace
        assert "set_config" in trace, trace
        assert settings == {"on"}
