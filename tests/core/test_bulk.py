"""panel.bulk.column_batches: a long SELECT a batch at a time (the data export's reads).
On PostgreSQL the query is sent once and streamed (libpq's chunked rows mode) on a connection
of its own; what comes back is what a plain SQLAlchemy read gives, the session stays usable
between batches, and a reader that stops early leaves no query running and no connection
checked out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import case, literal, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from panel.bulk import column_batches, insert_rows
from panel.extensions import db
from panel.jobs_models import JobRun
from tests import wire

START = datetime(2026, 1, 1, tzinfo=UTC)
ROWS = 25


@pytest.fixture
def runs(app):
    for i in range(ROWS):
        db.session.add(JobRun(name=f"job-{i:03d}", last_result=None if i % 3 else f"ok {i}",
                              last_started_at=None if i % 5 == 4 else START + timedelta(hours=i)))
    db.session.commit()
    return select(JobRun.name, JobRun.last_started_at, JobRun.last_result).where(
        JobRun.name.like("job-%")).order_by(JobRun.name)


@pytest.mark.parametrize("size", [1, 2, 7, ROWS, ROWS + 1])
def test_batches_hold_what_a_plain_read_gives(runs, size):
    stmt = runs.add_columns(literal(3) / 2)  # a numeric: its processing needs the type sent
    expected = [tuple(row) for row in db.session.execute(stmt)]
    batches = list(column_batches(db.session.connection(), stmt, size))
    assert all(len(columns) == 4 for columns in batches)
    assert [len(columns[0]) for columns in batches][:-1] == [size] * (len(batches) - 1)
    got = [row for columns in batches for row in zip(*columns, strict=True)]
    assert got == expected
    times = [t for t in got if t[1] is not None]
    assert times and all(t[1].tzinfo is not None and t[1].utcoffset() == timedelta(0)
                         for t in times)  # aware UTC times, as UTCDateTime reads them


def test_parameters_are_bound_as_sqlalchemy_binds_them(runs):
    """A time in another zone is compared as the same instant (UTCDateTime's bind step)."""
    later = (START + timedelta(hours=10)).astimezone(timezone(timedelta(hours=-5)))
    stmt = runs.where(JobRun.last_started_at > later)
    got = [r for c in column_batches(db.session.connection(), stmt, 4) for r in zip(*c, strict=True)]
    assert [r[0] for r in got] == [r[0] for r in db.session.execute(stmt)]
    assert got and all(r[1] > later for r in got)


def test_the_session_runs_other_statements_between_batches(runs):
    names = []
    for columns in column_batches(db.session.connection(), runs, 4):
        names += columns[0]
        assert db.session.execute(text("SELECT 1")).scalar() == 1  # not stuck behind the stream
    assert names == [f"job-{i:03d}" for i in range(ROWS)]


def test_a_reader_that_stops_early_leaves_nothing_behind(runs, backend):
    pool, conn = db.engine.pool, db.session.connection()
    checked_out = pool.checkedout()
    batches = column_batches(conn, runs, 2)
    assert list(next(batches)[0]) == ["job-000", "job-001"]
    batches.close()
    assert pool.checkedout() == checked_out
    if backend == "postgresql":
        running = db.session.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
            "AND query LIKE '%job_run%' AND pid <> pg_backend_pid()")).scalar()
        assert running == 0
    assert len(list(column_batches(db.session.connection(), runs, 10))) == 3  # reads again


def test_the_query_is_sent_once_and_no_cursor_fetches(runs, tmp_path):
    """A server-side cursor would DECLARE and FETCH once per batch on PostgreSQL, the server
    idle meanwhile; SQLite reads rows as they are fetched."""
    with wire.traced(db.engine, tmp_path / "wire.trace") as sent:
        assert sum(len(c[0]) for c in column_batches(db.session.connection(), runs, 3)) == ROWS
    trace = sent()
    assert trace.count("FROM job_run") == 1, trace
    assert "DECLARE" not in trace and "FETCH" not in trace, trace


def _job_rows(prefix: str, n: int) -> list[dict]:
    east = timezone(timedelta(hours=9))
    return [{"name": f"{prefix}-{i:03d}", "last_result": None if i % 2 else f"ok {i}",
             "last_started_at": (START + timedelta(minutes=i)).astimezone(east)}
            for i in range(n)]


def _stored(prefix: str) -> list[tuple]:
    return [tuple(r) for r in db.session.execute(
        select(JobRun.name, JobRun.last_started_at, JobRun.last_result)
        .where(JobRun.name.like(f"{prefix}-%")).order_by(JobRun.name))]


def test_inserted_rows_read_back_as_given(app, backend, tmp_path):
    rows = _job_rows("copy", 7)
    with wire.traced(db.engine, tmp_path / "wire.trace") as sent:
        insert_rows(db.session.connection(), JobRun.__table__, rows)
        db.session.commit()
    assert ("COPY" if backend == "postgresql" else "INSERT INTO job_run") in sent()
    stored = _stored("copy")
    assert [r[0] for r in stored] == [r["name"] for r in rows]
    assert [r[2] for r in stored] == [r["last_result"] for r in rows]
    # the same instants, read back in UTC: UTCDateTime's bind step ran as for an INSERT
    assert [r[1] for r in stored] == [r["last_started_at"] for r in rows]
    assert all(r[1].utcoffset() == timedelta(0) for r in stored)


def test_inserted_rows_roll_back_with_their_transaction(app):
    """The COPY is the transaction's first statement: on PostgreSQL it must begin one."""
    insert_rows(db.session.connection(), JobRun.__table__, _job_rows("copy", 5))
    db.session.rollback()
    assert _stored("copy") == []


def test_a_bad_row_leaves_none_of_them(app):
    """A duplicate key fails the whole batch: nothing half-saved."""
    rows = _job_rows("copy", 4)
    with pytest.raises(IntegrityError):  # SQLAlchemy's, as for an INSERT, on both backends
        insert_rows(db.session.connection(), JobRun.__table__, [*rows, rows[0]])
    db.session.rollback()
    assert _stored("copy") == []


def test_a_failure_midway_is_sqlalchemys_error_and_leaves_the_pool_usable(runs, backend):
    """Row 20 divides by zero: PostgreSQL fails the query; SQLite gives NULL for it."""
    failing = runs.add_columns(literal(1) / case((JobRun.name == "job-020", 0), else_=1))
    pool, conn = db.engine.pool, db.session.connection()
    checked_out = pool.checkedout()
    if backend == "postgresql":
        with pytest.raises(DBAPIError, match="division by zero"):
            list(column_batches(conn, failing, 4))
    else:
        values = [v for c in column_batches(conn, failing, 4) for v in c[3]]
        assert values[20] is None and values[19] == 1
    assert pool.checkedout() == checked_out
    assert len(list(column_batches(db.session.connection(), runs, 10))) == 3
