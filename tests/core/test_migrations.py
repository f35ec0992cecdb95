"""The schema comes from Alembic, the models agree with it, and start-up never migrates."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from panel import migrate
from panel.app import NotReady, create_app, ensure_ready
from panel.extensions import db
from tests.conftest import app_config


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                db.metadata)
    assert diff == []


def test_schema_is_current_after_upgrade(app):
    assert migrate.is_current(app)


def test_outdated_schema_gives_a_clear_message_naming_the_command(tmp_path, caplog):
    app = create_app(app_config(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path))
    response = app.test_client().get("/login")
    assert response.status_code == 503
    assert "The service is unavailable" in response.get_data(as_text=True)
    assert "panel db upgrade" not in response.get_data(as_text=True)  # for the operator's log:
    assert "run `panel db upgrade`" in caplog.text
    with app.app_context():
        assert not db.inspect(db.engine).has_table("user")  # nothing was migrated at start-up
    with pytest.raises(NotReady, match="panel db upgrade"), app.app_context():
        ensure_ready()


def test_wsgi_style_start_up_fails_at_once_on_an_outdated_schema(tmp_path):
    with pytest.raises(NotReady, match="panel db upgrade"):
        create_app(app_config(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path), check_database=True)


def test_cli_names_the_upgrade_command_when_behind(tmp_path):
    app = create_app(app_config(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path))
    result = app.test_cli_runner().invoke(args=["db", "current"])
    assert "behind: run `panel db upgrade`" in result.output
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "created the key ring" in result.output
    assert "up to date" in app.test_cli_runner().invoke(args=["db", "current"]).output


def test_migrations_go_down_to_nothing_and_back_up(app):
    migrate.downgrade(app, "base")
    with db.engine.connect() as conn:
        left = set(db.inspect(conn).get_table_names()) - {"alembic_version"}
    assert left == set()
    migrate.upgrade(app)
    assert migrate.is_current(app)


def test_0006_marks_reseller_customers_who_never_signed_in_as_having_no_password(app, factories):
    from panel.auth.models import User
    from panel.auth.passwords import has_password
    from panel.db_types import utcnow

    reseller = factories.reseller()
    waiting = factories.subscriber(reseller=reseller)  # created before 0006: a random password
    active = factories.subscriber(reseller=reseller)
    house = factories.subscriber()
    active.last_login_at = utcnow()
    db.session.commit()
    hashes = {u.id: u.password_hash for u in (waiting, active, house, reseller)}
    # End the test's read transaction: on PostgreSQL it holds a lock on "user", which dropping
    # a table with a foreign key to it (user_session, passkey) waits for.
    db.session.commit()
    migrate.downgrade(app, "0005_reseller")
    migrate.upgrade(app)
    db.session.expire_all()
    assert not has_password(db.session.get(User, waiting.id).password_hash)
    for user in (active, house, reseller):
        assert db.session.get(User, user.id).password_hash == hashes[user.id]
    db.session.commit()
    migrate.downgrade(app, "0005_reseller")
    db.session.expire_all()
    assert db.session.get(User, waiting.id).password_hash == hashes[waiting.id]
    migrate.upgrade(app)
