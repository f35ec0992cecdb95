"""Flask extensions, created unbound so the app factory can configure them per app."""

from __future__ import annotations

from typing import Any

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    def __init__(self, **kwargs: Any) -> None:
        """Like SQLAlchemy's constructor, but ``id`` is set first: sealed fields bind to it."""
        cls = type(self)
        for key in sorted(kwargs, key=lambda k: k != "id"):
            if not hasattr(cls, key):
                raise TypeError(f"{key!r} is an invalid keyword argument for {cls.__name__}")
            setattr(self, key, kwargs[key])


db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
# Every limit counts in one store shared by all workers and servers: panel.ratelimit.store.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True,
                  storage_uri="panel://")


#: Execution options of a statement that only reads, takes no lock and needs no snapshot shared
#: with the statements after it: see ``begin_lazily``.
OUTSIDE_TRANSACTION = {"panel_outside_transaction": True}
#: The same for one write that is a whole transaction by itself, on a connection of its own
#: that commits right after it: on PostgreSQL the server commits it as it ends, one round trip
#: instead of BEGIN, the write and COMMIT (a rate-limit counter: panel.ratelimit.store).
OWN_TRANSACTION = OUTSIDE_TRANSACTION


def begin_lazily(engine: Engine) -> None:
    """PostgreSQL: reads marked OUTSIDE_TRANSACTION run before a connection's transaction
    begins, as SQLite runs every read (pysqlite begins at the first write). psycopg sends BEGIN
    as a round trip of its own before a transaction's first statement, and the session's end
    a ROLLBACK: a request whose statements are all such reads (a repeated one-click POST, the
    plugin state every request reads) now sends neither. A connection checked out of the pool
    starts in autocommit; any statement not so marked switches it back before it runs, so
    psycopg begins the transaction with it, exactly as before, and every write, lock or
    savepoint is inside a transaction that commits or rolls back whole (a write marked
    OWN_TRANSACTION is such a transaction by itself). Under READ COMMITTED
    (the default, never changed here) each statement sees what was committed when it began,
    inside a transaction or not, so a marked read sees the same rows either way. A
    connection given an isolation level of its own (``isolation_level`` option) is left as
    it was set."""

    @event.listens_for(engine, "checkout")
    def _autocommit(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection.info.transaction_status == 0:  # IDLE: reset when it was returned
            dbapi_connection.autocommit = True

    @event.listens_for(engine, "before_cursor_execute")
    def _begin(conn: Any, _cursor: Any, _statement: Any, _parameters: Any, context: Any,
               _executemany: bool) -> None:
        options = context.execution_options
        if options.get("panel_outside_transaction") or "isolation_level" in options:
            return
        in_transaction(conn.connection.dbapi_connection)


def in_transaction(dbapi_connection: Any) -> None:
    """What `begin_lazily` does before a statement not marked OUTSIDE_TRANSACTION, for one sent
    to the driver directly (a COPY): the connection leaves autocommit, so psycopg begins the
    transaction with that statement. Only a connection in psycopg's autocommit (True) is
    touched: sqlite3's own ``autocommit`` (Python 3.12) means something else."""
    if getattr(dbapi_connection, "autocommit", None) is True:
        dbapi_connection.autocommit = False
