"""Fixtures: an app on a freshly migrated database, on SQLite and on a real PostgreSQL.

Every test that uses ``app`` runs once per backend. The schema comes from the Alembic
migrations: each backend is migrated once into a template, and each test gets a copy.
Set PANEL_TEST_BACKENDS=sqlite for a quick local run; `make test` runs both.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from panel.app import create_app
from panel.extensions import db
from tests.factories import DEFAULT_PASSWORD, Factories
from tests.pg import PostgresServer

# Browser fixtures (live_server, browser, new_context, page) and the two resellers, registered
# once for the whole run.
pytest_plugins = ["tests.browser_fixtures", "tests.reseller_fixtures"]

TEST_SECRET_KEY = "test-secret-key-0123456789abcdef"
TEST_MASTER_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"panel test master").digest()).decode()
BACKENDS = [b for b in os.environ.get("PANEL_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


# `make test` also runs the core tests with no plugin at all: PANEL_TEST_PLUGINS="".
TEST_PLUGINS = os.environ.get("PANEL_TEST_PLUGINS", "privacy")


def app_config(database_url: str, instance: Path, **extra: Any) -> dict[str, Any]:
    return {"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, "MASTER_KEY": TEST_MASTER_KEY,
            "DATABASE_URL": database_url, "INSTANCE_PATH": str(instance),
            "BASE_URL": "http://localhost", "PLUGINS": TEST_PLUGINS, **extra}


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    yield server
    server.stop()


def _pg_admin(server: PostgresServer, sql: str) -> None:
    with psycopg.connect(server.url().replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _migrate(url: str, instance: Path) -> None:
    from panel import migrate
    from panel.crypto.keyring import initialise

    app = create_app(app_config(url, instance))
    with app.app_context():
        migrate.upgrade(app)
        initialise(db.engine, app.extensions["panel.keyring"].master)
        db.engine.dispose()


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return {}


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest, _templates: dict[str, Any],
            tmp_path_factory: pytest.TempPathFactory) -> str:
    name: str = request.param
    if name not in _templates:
        instance = tmp_path_factory.mktemp(f"template-{name}")
        if name == "sqlite":
            path = instance / "template.db"
            _migrate(f"sqlite:///{path}", instance)
            _templates[name] = path
        else:
            server: PostgresServer = request.getfixturevalue("pg_server")
            _pg_admin(server, "CREATE DATABASE panel_template")
            _migrate(server.url("panel_template"), instance)
            _templates[name] = server
    return name


@pytest.fixture
def database_url(backend: str, _templates: dict[str, Any], tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp_path / "panel.db"
        shutil.copy(_templates["sqlite"], path)
        yield f"sqlite:///{path}"
        return
    server: PostgresServer = _templates["postgresql"]
    name = f"t_{uuid.uuid4().hex[:12]}"
    _pg_admin(server, f"CREATE DATABASE {name} TEMPLATE panel_template")
    yield server.url(name)
    _pg_admin(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class IsolatedClient(FlaskClient):
    """Each request gets its own app context (so its own ``g`` and database session), as in
    production. Flask would otherwise reuse the test's app context for every request."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        response = contextvars.Context().run(super().open, *args, **kwargs)
        with contextlib.suppress(RuntimeError):  # RuntimeError: the test has no app context
            db.session.expire_all()  # the test's own session sees what the request wrote
        return response


@pytest.fixture
def make_app(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """Build further apps on the same database (another worker, other settings)."""
    built: list[Flask] = []

    def build(**extra: Any) -> Flask:
        instance = tmp_path / "instance"
        instance.mkdir(exist_ok=True)
        app = create_app(app_config(database_url, instance, **extra))
        app.test_client_class = IsolatedClient
        built.append(app)
        return app

    yield build
    for app in built:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app: Any) -> Iterator[Flask]:
    app = make_app()
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def factories(app: Flask) -> Factories:
    return Factories()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(client: FlaskClient, url: str) -> str:
    page = client.get(url)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url} (status {page.status_code})"
    return match.group(1) or match.group(2)


def post_form(client: FlaskClient, url: str, data: dict[str, Any] | None = None,
              *, token_from: str | None = None, **kwargs: Any) -> Any:
    """POST a form the way a browser would: with the CSRF token from the page."""
    payload = {"csrf_token": csrf_token(client, token_from or url), **(data or {})}
    return client.post(url, data=payload, **kwargs)


def login(client: FlaskClient, user_or_email: Any, password: str = DEFAULT_PASSWORD) -> Any:
    """Sign in through the form, answering the second step with a fresh TOTP code."""
    email = user_or_email if isinstance(user_or_email, str) else user_or_email.email
    response = post_form(client, "/login", {"email": email, "password": password})
    if response.status_code == 302 and response.headers["Location"].endswith("/login/verify"):
        from panel.auth.models import User

        user = db.session.execute(select(User).where(User.email.matches(email))).scalar_one()
        user.totp_last_step = None  # each test sign-in stands for a new 30-second window
        db.session.commit()
        response = post_form(client, "/login/verify", {"code": pyotp.TOTP(user.totp_secret).now()})
    return response


@pytest.fixture
def login_as(client: FlaskClient, factories: Factories) -> Any:
    """``login_as("reseller")`` creates a user of that role, signs the client in, returns it."""

    def do(role: str, **kwargs: Any) -> Any:
        maker = {"subscriber": factories.subscriber, "reseller": factories.reseller,
                 "staff": factories.staff, "admin": lambda **kw: factories.staff("admin", **kw)}
        user = maker[role](**kwargs)
        response = login(client, user)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return do
