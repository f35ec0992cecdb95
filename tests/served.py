"""The panel served the way `make run` serves it: the Makefile's gunicorn line, run for real.

Tests of the server itself (slow clients, the proxy in front) start this, so they test what an
operator runs rather than a copy of its options.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import TEST_MASTER_KEY, TEST_PLUGINS, TEST_SECRET_KEY
from tests.pg import free_port

ROOT = Path(__file__).resolve().parent.parent


def served_arguments(address: str) -> list[str]:
    """gunicorn's arguments in `make run` (the Makefile is the served configuration), bound
    to ``address`` instead of $(HOST):$(PORT)."""
    recipe = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    line = next(ln for ln in recipe.splitlines() if "gunicorn" in ln and "panel.wsgi:app" in ln)
    words = shlex.split(line[line.index("bin/gunicorn") + len("bin/gunicorn"):])
    words = [address if w == "$(HOST):$(PORT)" else w for w in words]
    assert not [w for w in words if "$(" in w], words
    return words


@contextmanager
def gunicorn(database_url: str, instance: Path, **env: str) -> Iterator[int]:
    """`make run`'s gunicorn on a free port of 127.0.0.1, on ``database_url``; yields the port."""
    port = free_port()
    environ = {**os.environ, "PANEL_DATABASE_URL": database_url, "PANEL_SECRET_KEY": TEST_SECRET_KEY,
               "PANEL_MASTER_KEY": TEST_MASTER_KEY, "PANEL_INSTANCE_PATH": str(instance),
               "PANEL_BASE_URL": "http://localhost", "PANEL_PLUGINS": TEST_PLUGINS,
               "PYTHONPATH": str(ROOT), **env}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn",
                             *served_arguments(f"127.0.0.1:{port}")],
                            cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "gunicorn did not listen within 60 s"
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def get(port: int, path: str, headers: str = "", timeout: float = 10) -> tuple[int, bytes]:
    """One HTTP/1.1 GET on a new connection: the status and the body."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Connection: close\r\n\r\n"
                  .encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


@contextmanager
def redis_server(tmp: Path, password: str | None = None) -> Iterator[int]:
    """Debian's redis-server in the foreground on a free port, writing nothing to disk."""
    port = free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--daemonize", "no", "--dir", str(tmp)]
    if password:
        args += ["--requirepass", password]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield port
    finally:
        proc.kill()
        proc.wait()
