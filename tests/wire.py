"""What the database is sent: libpq's own trace of the wire on PostgreSQL, sqlite3's statement
trace on SQLite (it shows the BEGIN pysqlite sends before a write). For tests that count
round trips, transactions or cursors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, event


@contextmanager
def traced(engine: Engine, path: Path) -> Iterator[Callable[[], str]]:
    """Trace every connection checked out of ``engine`` meanwhile into ``path``; the function
    yielded returns what was traced so far."""
    with path.open("w+b") as sink:
        start, stop = (_postgresql if engine.dialect.name == "postgresql" else _sqlite)(sink)
        event.listen(engine, "checkout", start)
        event.listen(engine, "checkin", stop)

        def text() -> str:
            if not sink.closed:
                sink.flush()
            return path.read_bytes().decode("utf-8", "replace")
        try:
            yield text
        finally:
            event.remove(engine, "checkout", start)
            event.remove(engine, "checkin", stop)


def _sqlite(sink: IO[bytes]) -> tuple[Any, Any]:
    def start(dbapi_connection: Any, *_args: Any) -> None:
        dbapi_connection.set_trace_callback(lambda sql: sink.write(f"{sql}\n".encode()))

    def stop(dbapi_connection: Any, *_args: Any) -> None:
        dbapi_connection.set_trace_callback(None)
    return start, stop


def _postgresql(sink: IO[bytes]) -> tuple[Any, Any]:
    from psycopg import pq

    def start(dbapi_connection: Any, *_args: Any) -> None:
        dbapi_connection.pgconn.trace(sink.fileno())
        dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

    def stop(dbapi_connection: Any, *_args: Any) -> None:
        dbapi_connection.pgconn.untrace()
    return start, stop
