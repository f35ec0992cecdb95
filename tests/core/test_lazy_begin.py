"""On PostgreSQL a read marked OUTSIDE_TRANSACTION runs before the connection's transaction
begins (panel.extensions.begin_lazily), and nothing else changes: the first statement not so
marked begins the transaction, so writes after such a read still commit or roll back whole,
and a connection given its own isolation level keeps it."""

from __future__ import annotations

from sqlalchemy import select, text

from panel.extensions import OUTSIDE_TRANSACTION, db
from panel.jobs_models import PluginState

_READ = select(PluginState.name).execution_options(**OUTSIDE_TRANSACTION)


def _in_transaction() -> bool:
    dbapi_connection = db.session.connection().connection.dbapi_connection
    if db.engine.dialect.name == "sqlite":
        return bool(dbapi_connection.in_transaction)
    return dbapi_connection.info.transaction_status != 0  # psycopg: IDLE


def _names() -> set[str]:
    with db.engine.connect() as conn:
        return set(conn.execute(select(PluginState.name)).scalars())


def test_a_marked_read_opens_no_transaction_and_an_unmarked_one_does(app, backend):
    db.session.execute(_READ).all()
    assert not _in_transaction()
    db.session.execute(select(PluginState.name)).all()
    # PostgreSQL begins at the first statement not marked, as before; pysqlite at a write
    assert _in_transaction() == (backend == "postgresql")
    db.session.rollback()


def test_writes_after_a_marked_read_roll_back_whole(app):
    db.session.execute(_READ).all()
    db.session.add(PluginState(name="one", active=False))
    db.session.flush()
    db.session.execute(_READ).all()  # inside the transaction now: sees the unsaved row
    db.session.add(PluginState(name="two", active=False))
    db.session.flush()
    assert {"one", "two"} <= set(db.session.execute(_READ).scalars())
    db.session.rollback()
    assert not {"one", "two"} & _names()


def test_writes_after_a_marked_read_commit_together(app):
    db.session.execute(_READ).all()
    db.session.add(PluginState(name="one", active=False))
    db.session.add(PluginState(name="two", active=False))
    db.session.commit()
    assert {"one", "two"} <= _names()
    db.session.execute(_READ).all()  # a new transaction: outside again
    assert not _in_transaction()


def test_a_connection_with_its_own_isolation_level_keeps_it(app, backend):
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("INSERT INTO plugin_state (name, active, changed_at) "
                          "VALUES ('auto', false, CURRENT_TIMESTAMP)"))
        dbapi_connection = conn.connection.dbapi_connection
        if backend == "postgresql":
            assert dbapi_connection.autocommit
        else:
            assert dbapi_connection.isolation_level is None  # pysqlite's autocommit
    assert "auto" in _names()  # committed by itself, as that option asks
