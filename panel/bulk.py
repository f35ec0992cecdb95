"""Many rows at once: a long SELECT read a batch at a time while PostgreSQL sends the next,
and many new rows written with PostgreSQL's COPY."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Select, Table, insert
from sqlalchemy.exc import DBAPIError

from panel.extensions import in_transaction

#: Rows per INSERT where there is no COPY (SQLite).
INSERT_ROWS = 5000

#: libpq's chunked rows mode (what psycopg's ``Cursor.stream(size=...)`` uses) came in 17.
CHUNKED_LIBPQ = 170000


def column_batches(conn: Connection, stmt: Select[Any], size: int
                   ) -> Iterator[list[Sequence[Any]]]:
    """``stmt``'s rows, ``size`` at a time, each batch as its columns (a tuple of values per
    selected column), for a reader that works on each batch before it asks for the next (the
    data export).

    On PostgreSQL the statement runs once, in libpq's chunked rows mode: the server goes on
    reading and sending rows while the reader works, and only the socket's buffers and one
    batch are held. A server-side cursor (SQLAlchemy's ``yield_per``) made the server wait
    for each FETCH and the reader wait for each answer: at 50,000 rows the export spent a
    fifth of its time waiting. Such a query holds its connection until its last row is read,
    and a reader may run other statements between batches, so it runs on a connection of its
    own, in autocommit: it sees what is committed when it starts (READ COMMITTED, like every
    statement of the panel's), not the session's uncommitted writes. Values pass through the
    same type processing as SQLAlchemy's results.

    Elsewhere (SQLite reads rows as they are fetched; an older libpq) ``yield_per``.
    """
    if conn.dialect.name != "postgresql" or not _chunked():
        for rows in conn.execute(stmt.execution_options(yield_per=size)).partitions():
            yield list(zip(*rows, strict=True))
        return
    dialect = conn.dialect
    compiled = stmt.compile(dialect=dialect)
    sql, params = str(compiled), compiled.construct_params()
    for name, bind in compiled.binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None and name in params:
            params[name] = process(params[name])
    processors: list[tuple[int, Any]] | None = None
    with conn.engine.connect() as own:
        cursor = own.connection.driver_connection.cursor()  # type: ignore[union-attr]
        rows = cursor.stream(sql, params, size=size)
        try:
            while True:
                with _as_sqlalchemy_errors(own, sql, params):
                    batch = list(islice(rows, size))
                if not batch:
                    return
                if processors is None:  # the column types the server sent (a numeric needs its)
                    processors = [
                        (i, p) for i, (column, sent) in enumerate(
                            zip(stmt.selected_columns, cursor.description, strict=True))
                        if (p := column.type.dialect_impl(dialect).result_processor(
                            dialect, sent.type_code))]
                columns: list[Sequence[Any]] = list(zip(*batch, strict=True))
                for i, process in processors:
                    columns[i] = list(map(process, columns[i]))
                yield columns
        finally:
            rows.close()  # a reader that stops early: psycopg cancels the rest of the query
            cursor.close()


def _chunked() -> bool:
    from psycopg import pq

    return pq.version() >= CHUNKED_LIBPQ


@contextmanager
def _as_sqlalchemy_errors(conn: Connection, statement: str, params: Any) -> Iterator[None]:
    """A driver error raised as SQLAlchemy raises it for its own statements (IntegrityError,
    OperationalError...), and a connection the server dropped invalidated, not pooled again."""
    dialect = conn.dialect
    try:
        yield
    except dialect.loaded_dbapi.Error as exc:
        if dialect.is_disconnect(exc, conn.connection.dbapi_connection, None):
            conn.invalidate(exc)
        raise DBAPIError.instance(statement, params, exc, dialect.loaded_dbapi.Error,
                                  hide_parameters=True, dialect=dialect) from exc


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Add ``rows`` (every one with the same keys) to ``table`` inside ``conn``'s transaction.

    On PostgreSQL through COPY, which PostgreSQL's manual recommends for loading many rows: a
    log import's 16,000 new rows made its store step 300-500 ms as multi-row INSERTs
    (SQLAlchemy's insertmanyvalues), 175-285 ms as COPY. Values pass through the columns' bind
    processing first, as an INSERT's would, and a failure is raised as SQLAlchemy's error.
    Elsewhere, INSERTs of INSERT_ROWS rows each.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        for start in range(0, len(rows), INSERT_ROWS):
            conn.execute(insert(table), rows[start:start + INSERT_ROWS])
        return
    dialect = conn.dialect
    names = list(rows[0])
    columns = [table.c[name] for name in names]
    processors = [(i, p) for i, column in enumerate(columns)
                  if (p := column.type.dialect_impl(dialect).bind_processor(dialect))]
    quoted = ", ".join(dialect.identifier_preparer.quote(name) for name in names)
    target = dialect.identifier_preparer.format_table(table)
    raw = conn.connection.dbapi_connection
    in_transaction(raw)  # the rows commit or roll back with the rest of the transaction
    statement = f"COPY {target} ({quoted}) FROM STDIN"
    with _as_sqlalchemy_errors(conn, statement, None), \
            raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            values = [row[name] for name in names]
            for i, process in processors:
                values[i] = process(values[i])
            copy.write_row(values)
