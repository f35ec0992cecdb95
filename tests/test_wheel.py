"""The panel as an operator installs it (issue 12): a wheel built with `pip wheel .`, installed
into a fresh virtual environment outside the checkout, migrates, seeds the demo and serves.

This is what proves the wheel carries everything the checkout has beside the code: the theme
(templates/), the static files, the core's and the privacy plugin's migration branches, and
each privacy feature's own templates.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.pg import free_port

ROOT = Path(__file__).resolve().parent.parent


def _heads() -> list[str]:
    """The newest revision of the core's branch and of the privacy plugin's, from the checkout."""
    return [re.search(r"^revision = '([^']+)'", max(folder.glob("0*.py")).read_text(), re.M)[1]
            for folder in (ROOT / "migrations/versions", ROOT / "plugins/privacy/migrations/versions")]


def _run(*args: str | Path, cwd: Path, env: dict[str, str], timeout: int = 600) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own local server
        return response.status, response.read().decode()


def test_a_wheel_installed_outside_the_checkout_migrates_seeds_and_serves(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PANEL_", "PYTHON", "VIRTUAL_ENV"))}
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, ROOT,
         cwd=tmp_path, env=env)
    [wheel] = dist.glob("hosting_panel-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path, env=env)
    bin_ = venv / "bin"
    _run(bin_ / "pip", "install", "-q", wheel, cwd=tmp_path, env=env)

    instance = tmp_path / "instance"
    env = {**env, "PANEL_INSTANCE_PATH": str(instance)}
    where = _run(bin_ / "python", "-c", "import panel, plugins.privacy; "
                 "print(panel.__file__); print(plugins.privacy.__file__)", cwd=tmp_path, env=env)
    assert str(ROOT) not in where and str(venv) in where  # the installed copy, not the checkout
    _run(bin_ / "python", "-m", "panel.instance_setup", instance, cwd=tmp_path, env=env)
    assert "database is up to date" in _run(bin_ / "panel", "db", "upgrade", cwd=tmp_path, env=env)
    current = _run(bin_ / "panel", "db", "current", cwd=tmp_path, env=env)
    assert "up to date" in current and all(head in current for head in _heads())
    assert "client1@demo.test" in _run(bin_ / "panel", "demo", "--json", cwd=tmp_path, env=env)

    port = free_port()
    server = subprocess.Popen([str(bin_ / "gunicorn"), "--bind", f"127.0.0.1:{port}",
                               "--workers", "1", "panel.wsgi:app"],
                              cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, login = _get(f"http://127.0.0.1:{port}/login")
                break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.3)
        assert status == 200 and 'name="password"' in login and "<title>" in login
        status, css = _get(f"http://127.0.0.1:{port}/static/panel.css")
        assert status == 200 and "{" in css
        status, policy = _get(f"http://127.0.0.1:{port}/privacy")  # a privacy feature's page
        assert status == 200 and "Privacy policy" in policy
    finally:
        server.terminate()
        server.wait(timeout=20)
