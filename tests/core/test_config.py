"""Start-up refuses unsafe configuration and says which setting is wrong."""

from __future__ import annotations

import pytest

from panel import config as config_mod
from panel.app import create_app
from panel.config import INSECURE_DEMO_KEY, ConfigError
from tests.conftest import TEST_MASTER_KEY, TEST_SECRET_KEY


def _cfg(tmp_path, **extra):
    return {"SECRET_KEY": TEST_SECRET_KEY, "MASTER_KEY": TEST_MASTER_KEY,
            "INSTANCE_PATH": str(tmp_path), "PLUGINS": "", **extra}


def test_refuses_to_start_without_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("PANEL_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY is not set.*PANEL_SECRET_KEY"):
        create_app(_cfg(tmp_path, SECRET_KEY=None))


def test_refuses_the_demo_key_outside_debug(tmp_path):
    with pytest.raises(ConfigError, match="published demo key"):
        create_app(_cfg(tmp_path, SECRET_KEY=INSECURE_DEMO_KEY))
    assert create_app(_cfg(tmp_path, SECRET_KEY=INSECURE_DEMO_KEY, DEBUG=True)).debug


def test_refuses_a_short_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="too short"):
        create_app(_cfg(tmp_path, SECRET_KEY="abc"))


@pytest.mark.parametrize(("key", "message"), [
    (None, "master key is not set"), ("not base64!!", "not base64"), ("c2hvcnQ", "32 bytes")])
def test_p02_refuses_a_missing_or_malformed_master_key(tmp_path, monkeypatch, key, message):
    monkeypatch.delenv("PANEL_MASTER_KEY", raising=False)
    monkeypatch.delenv("PANEL_MASTER_KEY_FILE", raising=False)
    with pytest.raises(ConfigError, match=message):
        create_app(_cfg(tmp_path, MASTER_KEY=key))


def test_master_key_file_that_cannot_be_read_is_named(tmp_path):
    with pytest.raises(ConfigError, match="PANEL_MASTER_KEY_FILE .*missing.key"):
        create_app(_cfg(tmp_path, MASTER_KEY=None, MASTER_KEY_FILE=str(tmp_path / "missing.key")))


def test_layers_defaults_then_instance_file_then_environment(tmp_path, monkeypatch):
    (tmp_path / "panel.toml").write_text(
        'base_url = "https://from-file.example"\nmail_from = "File <f@example.com>"\n')
    monkeypatch.setenv("PANEL_BASE_URL", "https://from-env.example")
    merged = config_mod.load(tmp_path)
    assert merged["MAIL_FROM"] == "File <f@example.com>"  # file beats default
    assert merged["BASE_URL"] == "https://from-env.example"  # environment beats file
    assert merged["DATABASE_URL"] == f"sqlite:///{tmp_path / 'panel.db'}"


def test_secure_cookies_behind_https(tmp_path):
    app = create_app(_cfg(tmp_path, BASE_URL="https://panel.example"))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_an_unknown_plugin_in_the_allow_list_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="PANEL_PLUGINS names 'nosuch'"):
        create_app(_cfg(tmp_path, PLUGINS="nosuch"))


def test_instance_setup_creates_private_secrets_once(tmp_path):
    from panel.instance_setup import setup

    assert len(setup(tmp_path / "inst")) == 2
    key = tmp_path / "inst" / "master.key"
    assert key.stat().st_mode & 0o777 == 0o600
    before = key.read_text()
    assert setup(tmp_path / "inst") == []  # never overwrites: a new key would lose the data
    assert key.read_text() == before
    merged = config_mod.load(tmp_path / "inst")
    assert len(config_mod.master_key(merged)) == 32
