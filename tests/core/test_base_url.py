"""Where links point: `make run` serves and links on the same host and port, and start-up
warns when one-click unsubscribe (RFC 8058) cannot work because the public base URL is http."""

from __future__ import annotations

import logging
import os
import re
import subprocess
from pathlib import Path

import pytest

from panel.app import create_app
from panel.urls import external_url
from tests.conftest import TEST_MASTER_KEY, TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]


def _cfg(tmp_path: Path, **extra: object) -> dict[str, object]:
    return {"SECRET_KEY": TEST_SECRET_KEY, "MASTER_KEY": TEST_MASTER_KEY,
            "INSTANCE_PATH": str(tmp_path), "PLUGINS": "", **extra}


def _make_run(instance: Path, *args: str, **env: str) -> list[str]:
    """The commands `make run` would run (make -n), one line each."""
    clean = {k: v for k, v in os.environ.items() if k != "PANEL_BASE_URL"}
    out = subprocess.run(["make", "-n", "run", f"INSTANCE={instance}", *args], cwd=ROOT,
                         env={**clean, **env}, capture_output=True, text=True, check=True).stdout
    return out.replace("\\\n", " ").splitlines()


def _served(lines: list[str]) -> tuple[str, str]:
    """The address gunicorn binds and the PANEL_BASE_URL it is given."""
    [line] = [x for x in lines if "gunicorn" in x]
    bind = re.search(r"--bind (\S+)", line).group(1)
    base = re.search(r"PANEL_BASE_URL=(\S*)", line).group(1)
    assert f"PANEL_BASE_URL={base} " in next(x for x in lines if "panel demo" in x)
    return bind, base


def test_make_run_on_another_port_links_to_that_port(tmp_path):
    # 127.0.0.1 is linked as localhost, where browsers allow passkeys
    assert _served(_make_run(tmp_path, "PORT=8123")) == ("127.0.0.1:8123", "http://localhost:8123")
    assert _served(_make_run(tmp_path, "HOST=127.0.0.2", "PORT=8124")) == (
        "127.0.0.2:8124", "http://127.0.0.2:8124")


def test_make_run_keeps_the_operators_base_url(tmp_path):
    given = "https://panel.example.com"
    assert _served(_make_run(tmp_path, "PORT=8123", PANEL_BASE_URL=given))[1] == given
    assert _served(_make_run(tmp_path, "PORT=8123", f"PANEL_BASE_URL={given}"))[1] == given
    (tmp_path / "panel.toml").write_text(f'base_url = "{given}"\n')
    assert _served(_make_run(tmp_path, "PORT=8123"))[1] == ""  # empty: the file's stands


@pytest.mark.parametrize(("from_make", "in_file", "links"), [
    ("http://127.0.0.1:8123", None, "http://127.0.0.1:8123/login"),
    ("", "https://panel.example.com", "https://panel.example.com/login"),
])
def test_links_follow_the_base_url_make_passes(tmp_path, monkeypatch, from_make, in_file, links):
    if in_file:
        (tmp_path / "panel.toml").write_text(f'base_url = "{in_file}"\n')
    monkeypatch.setenv("PANEL_BASE_URL", from_make)
    app = create_app(_cfg(tmp_path))
    with app.app_context():
        assert external_url("auth.login") == links


@pytest.mark.parametrize(("base", "warned"), [
    ("http://panel.example.com", True),
    ("http://203.0.113.7:8080", True),
    ("http://0.0.0.0:8123", True),
    ("https://panel.example.com", False),
    ("http://localhost:5000", False),
    ("http://127.0.0.1:8123", False),
    ("http://127.8.9.10", False),
    ("http://[::1]:8123", False),
    ("http://demo.localhost", False),
    ("http://panel.test", False),
])
def test_p14_start_up_warns_once_when_one_click_links_would_be_plain_http(
        tmp_path, caplog, base, warned):
    with caplog.at_level(logging.WARNING):
        create_app(_cfg(tmp_path, BASE_URL=base))
    said = [r for r in caplog.records if "RFC 8058" in r.getMessage()]
    assert len(said) == (1 if warned else 0)
    if warned:
        assert said[0].levelno == logging.WARNING and base in said[0].getMessage()
        assert "PANEL_BASE_URL" in said[0].getMessage()
