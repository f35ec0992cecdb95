"""/metrics and the log under gunicorn as `make run` serves it (issue 17): several workers,
one sum; gunicorn's own lines are JSON too, and no access log carries a URL."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import TEST_MASTER_KEY, TEST_PLUGINS, TEST_SECRET_KEY
from tests.pg import free_port

ROOT = Path(__file__).resolve().parents[2]
MARK = "ada.secret@example.org"


def make_run_gunicorn_options() -> list[str]:
    """The options `make run` gives gunicorn, read from the Makefile, less bind and workers."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    [line] = [x for x in text.splitlines() if "bin/gunicorn" in x]
    words = line.split("bin/gunicorn", 1)[1].split()
    options, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word in ("--bind", "--workers", "-b", "-w"):
            skip = True
        elif word != "'panel.wsgi:app'":
            options.append(word)
    return options


@contextlib.contextmanager
def served(database_url: str, instance: Path, log: Path, metrics_dir: Path | None = None,
           workers: int = 2) -> Iterator[tuple[int, subprocess.Popen]]:
    port = free_port()
    env = {**os.environ, "PANEL_DATABASE_URL": database_url, "PANEL_INSTANCE_PATH": str(instance),
           "PANEL_SECRET_KEY": TEST_SECRET_KEY, "PANEL_MASTER_KEY": TEST_MASTER_KEY,
           "PANEL_PLUGINS": TEST_PLUGINS, "PANEL_BASE_URL": "http://localhost",
           "PYTHONPATH": str(ROOT), "TMPDIR": str(instance / "tmp")}
    (instance / "tmp").mkdir(exist_ok=True)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if metrics_dir is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    with log.open("w") as err:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *make_run_gunicorn_options(), "--workers",
             str(workers), "--bind", f"127.0.0.1:{port}", "panel.wsgi:app"],
            cwd=ROOT, env=env, stdout=err, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not _answers(port):
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
            time.sleep(0.2)
        yield port, server
    finally:
        server.terminate()
        server.wait(timeout=30)


def _answers(port: int) -> bool:
    try:
        return get(port, "/healthz")[0] == 200
    except OSError:
        return False


def get(port: int, path: str) -> tuple[int, str]:
    """One request on its own connection (so gunicorn's workers share them out)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:  # noqa: S310
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def login_count(port: int) -> float:
    status, body = get(port, "/metrics")
    assert status == 200
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            if s.name == "panel_http_requests_total" and s.labels == {
                    "rule": "/login", "method": "GET", "status": "200"}:
                return s.value
    return 0.0


def workers(server: subprocess.Popen) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(server.pid)], capture_output=True,
                         text=True).stdout
    return {int(p) for p in out.split()}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the database plays no part
def test_metrics_sum_every_workers_requests_and_survive_a_worker_dying(database_url, tmp_path):
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"left from the last run")
    log = tmp_path / "gunicorn.log"
    with served(database_url, tmp_path, log, folder) as (port, server):
        assert not (folder / "counter_999999.db").exists()  # a restart starts from zero
        # Requests ten at a time until both workers have answered some (which worker accepts
        # a connection is up to the kernel), so the scrape has two workers' counts to add.
        sent = 0
        while sent < 400 and len(_answered_by(log)) < 2:
            with ThreadPoolExecutor(10) as pool:
                codes = list(pool.map(lambda n: get(port, f"/login?email={n}{MARK}")[0],
                                      range(sent, sent + 10)))
            assert codes == [200] * 10
            sent += 10
        assert len(_answered_by(log)) == 2, "both workers answered"
        # whichever worker answers the scrape, it reports every request
        assert [login_count(port) for _ in range(6)] == [float(sent)] * 6
        # a worker that answered requests is killed (the master starts another): they still count
        victim = next(iter(_answered_by(log) & workers(server)))
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while victim in workers(server) or len(workers(server)) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert [login_count(port) for _ in range(4)] == [float(sent)] * 4
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    requests = [e for e in entries if e["logger"] == "panel.request" and e["rule"] == "/login"]
    assert len(requests) == sent
    assert any(e["logger"] == "gunicorn.error" for e in entries)  # gunicorn's own lines: JSON
    text = log.read_text()
    assert MARK not in text and "/login?" not in text and "email=" not in text


def _answered_by(log: Path) -> set[int]:
    """The worker pids that logged an answer to /login so far."""
    found = set()
    for line in log.read_text().splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if entry.get("logger") == "panel.request" and entry.get("rule") == "/login":
                found.add(int(entry["pid"]))
    return found


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the database plays no part
def test_without_a_folder_gunicorn_makes_one_and_removes_it(database_url, tmp_path):
    log = tmp_path / "gunicorn.log"
    with served(database_url, tmp_path, log) as (port, _server):
        for _ in range(10):
            get(port, "/login")
        assert [login_count(port) for _ in range(4)] == [10.0] * 4
        made = set((tmp_path / "tmp").glob("panel-metrics-*"))
        assert len(made) == 1
    assert not any(p.exists() for p in made)


def test_make_run_serves_with_the_panels_gunicorn_settings():
    """Whatever config file `make run` gives gunicorn, it carries the panel's metrics hooks,
    its JSON log settings and no access log."""
    import importlib
    import runpy

    from panel import applog, metrics

    options = make_run_gunicorn_options()
    assert "--access-logfile" not in options and "--access-log-format" not in options
    [config] = [options[i + 1] for i, o in enumerate(options[:-1]) if o in ("-c", "--config")]
    if config.startswith("python:"):
        settings = vars(importlib.import_module(config.removeprefix("python:")))
    else:
        settings = runpy.run_path(str(ROOT / config))
    assert settings.get("accesslog") is None
    assert settings["logconfig_dict"] is applog.GUNICORN_LOGCONFIG
    for hook in ("on_starting", "child_exit", "on_exit"):
        assert settings[hook] is getattr(metrics, hook), hook
