"""/healthz and /readyz for a load balancer: alive, and able to serve; no detail for outsiders."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from panel.crypto.keyring import KeyringHolder
from panel.extensions import db
from tests.pg import free_port
from tests.served import redis_server

OK, UNAVAILABLE = b"ok\n", b"unavailable\n"


def _probe(app: Flask, path: str) -> tuple[int, bytes]:
    response = app.test_client().get(path)
    return response.status_code, response.data


def test_both_probes_answer_ok_when_everything_is_there(app: Flask) -> None:
    for path in ("/healthz", "/readyz"):
        response = app.test_client().get(path)
        assert (response.status_code, response.data) == (200, OK)
        assert response.mimetype == "text/plain" and response.headers["Cache-Control"] == "no-store"


def test_a_database_that_cannot_be_reached_fails_readyz_only(make_app, caplog) -> None:
    url = f"postgresql+psycopg://panel@127.0.0.1:{free_port()}/nowhere?connect_timeout=2"
    app = make_app(DATABASE_URL=url)
    with caplog.at_level(logging.ERROR):
        assert _probe(app, "/healthz") == (200, OK)  # alive: the process answers
        assert _probe(app, "/readyz") == (503, UNAVAILABLE)
        assert app.test_client().get("/login").status_code == 503
    assert "database cannot be reached" in caplog.text  # the operator learns why


def test_an_outdated_schema_fails_readyz(app: Flask, caplog) -> None:
    assert _probe(app, "/readyz") == (200, OK)
    db.session.execute(text("DELETE FROM alembic_version"))
    db.session.commit()
    with caplog.at_level(logging.ERROR):
        assert _probe(app, "/readyz") == (503, UNAVAILABLE)
    assert "schema is out of date" in caplog.text
    assert _probe(app, "/healthz") == (200, OK)


def test_a_key_ring_that_does_not_open_fails_readyz(app: Flask, caplog) -> None:
    assert _probe(app, "/readyz") == (200, OK)
    app.extensions["panel.keyring"] = KeyringHolder(lambda: db.engine, b"\x01" * 32)
    with caplog.at_level(logging.ERROR):
        status, body = _probe(app, "/readyz")
    assert (status, body) == (503, UNAVAILABLE)
    assert "not ready" in caplog.text


def test_readyz_follows_redis_when_one_is_configured(make_app, tmp_path: Path, caplog) -> None:
    with redis_server(tmp_path, password="right-password") as port:
        app = make_app(REDIS_URL=f"redis://:right-password@127.0.0.1:{port}/0")
        assert _probe(app, "/readyz") == (200, OK)
        # the password changes under the panel: a wrong password is not ready
        subprocess.run(["redis-cli", "-p", str(port), "-a", "right-password", "--no-auth-warning",
                        "CONFIG", "SET", "requirepass", "another"], check=True,
                       capture_output=True)
        with caplog.at_level(logging.ERROR):
            assert _probe(app, "/readyz") == (503, UNAVAILABLE)
        subprocess.run(["redis-cli", "-p", str(port), "-a", "another", "--no-auth-warning",
                        "CONFIG", "SET", "requirepass", "right-password"], check=True,
                       capture_output=True)
        assert _probe(app, "/readyz") == (200, OK)
    # Redis went away mid-run
    with caplog.at_level(logging.ERROR):
        assert _probe(app, "/readyz") == (503, UNAVAILABLE)
    assert _probe(app, "/healthz") == (200, OK)
    assert "PANEL_REDIS_URL" in caplog.text and "right-password" not in caplog.text


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_need_no_sign_in_and_take_no_form(client, path: str) -> None:
    assert client.get(path).status_code == 200
    assert client.post(path).status_code == 405
