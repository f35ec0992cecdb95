"""P02: without the right master key the panel refuses clearly; it never shows garbage."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from panel.app import NotReady, create_app, ensure_ready
from panel.config import ConfigError, new_master_key
from panel.crypto.models import CryptoKey
from panel.extensions import db
from tests.conftest import TEST_PLUGINS, TEST_SECRET_KEY, app_config


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PANEL_"):
            monkeypatch.delenv(name)


def _config(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'panel.db'}", **extra}


def test_p02_missing_master_key_stops_start_up_naming_the_setting(
        tmp_path: Path, bare_env: None) -> None:
    with pytest.raises(ConfigError, match="PANEL_MASTER_KEY"):
        create_app(_config(tmp_path))


def test_p02_unreadable_or_malformed_master_key_names_its_source(
        tmp_path: Path, bare_env: None) -> None:
    with pytest.raises(ConfigError, match=r"PANEL_MASTER_KEY_FILE .*cannot be read"):
        create_app(_config(tmp_path, MASTER_KEY_FILE=str(tmp_path / "missing.key")))
    short = tmp_path / "short.key"
    short.write_text("c2hvcnQ")
    with pytest.raises(ConfigError, match="must decode to 32 bytes"):
        create_app(_config(tmp_path, MASTER_KEY_FILE=str(short)))


def test_p02_wrong_master_key_refuses_to_serve_with_a_clear_message(
        app: Flask, factories: Any, make_app: Any, tmp_path: Path) -> None:
    factories.subscriber(first_name="Wilhelmina")
    wrong = make_app(MASTER_KEY=new_master_key())
    with wrong.app_context(), pytest.raises(NotReady) as caught:
        ensure_ready()
    assert "PANEL_MASTER_KEY" in str(caught.value)
    assert "not the key this database was set up with" in str(caught.value)

    for url in ("/login", "/client/", "/"):
        page = wrong.test_client().get(url)
        body = page.get_data(as_text=True)
        assert page.status_code == 503, url
        assert "The service is unavailable" in body
        assert "Wilhelmina" not in body and "v1:" not in body

    with pytest.raises(NotReady):  # what panel.wsgi does: fail at start-up
        create_app(app_config(app.config["DATABASE_URL"], tmp_path, MASTER_KEY=new_master_key()),
                   check_database=True)


def test_p02_every_page_with_a_broken_key_ring_says_only_unavailable_and_logs_why(
        app: Flask, make_app: Any, caplog: pytest.LogCaptureFixture) -> None:
    """The 503 page names no key id and no key setting: those are for the operator's log."""
    kids = list(db.session.scalars(db.select(CryptoKey.kid)))
    wrong = make_app(MASTER_KEY=new_master_key())
    client = wrong.test_client()
    probes = {"/healthz", "/readyz"}  # for load balancers: alive, and plainly not ready
    urls = sorted({re.sub(r"<[^>]+>", "1", rule.rule) for rule in wrong.url_map.iter_rules()}
                  - probes)
    secret = re.compile("|".join([*map(re.escape, kids), "MASTER_KEY", "master key", "key ring",
                                  "panel db upgrade"]), re.I)
    shown = []
    with caplog.at_level(logging.ERROR, logger=wrong.logger.name):
        for url in urls:
            for method in ("GET", "POST"):
                page = client.open(url, method=method)
                body = page.get_data(as_text=True)
                if secret.search(body):
                    shown.append(f"{method} {url}: shows {secret.search(body).group(0)!r}")
                elif page.status_code != 503 or "The service is unavailable" not in body:
                    shown.append(f"{method} {url}: {page.status_code}, not the 503 page")
    assert not shown, "\n".join(shown)
    assert len(urls) > 30  # the walk reached every page (34 in the core alone)
    logged = [r.getMessage() for r in caplog.records if r.name == wrong.logger.name]
    assert len(logged) == 2 * len(urls)
    assert all("PANEL_MASTER_KEY" in m and any(k in m for k in kids) for m in logged), logged[0]
    for url, status, answer in (("/healthz", 200, "ok"), ("/readyz", 503, "unavailable")):
        page = client.get(url)
        assert (page.status_code, page.get_data(as_text=True).strip()) == (status, answer), url


def test_p02_keys_command_with_wrong_master_key_exits_with_one_clear_line(
        app: Flask, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANEL_")}
    env.update(PANEL_DATABASE_URL=app.config["DATABASE_URL"], PANEL_SECRET_KEY=TEST_SECRET_KEY,
               PANEL_MASTER_KEY=new_master_key(), PANEL_INSTANCE_PATH=str(tmp_path),
               PANEL_PLUGINS=TEST_PLUGINS)  # the plugins the database was migrated for
    panel = Path(sys.executable).parent / "panel"
    done = subprocess.run([str(panel), "keys", "status"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    assert "PANEL_MASTER_KEY" in done.stderr
    assert "Traceback" not in done.stderr and "KEY" not in done.stdout
