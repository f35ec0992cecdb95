"""A real redis-server for a test (Debian's package), in the foreground on a free port, with
nothing written to disk (../shared/RECIPES.md). ``kill()`` stands for Redis going away mid-run."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from tests.pg import free_port


class RedisServer:
    def __init__(self, password: str | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.password = password
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is missing: `make deps-system` installs Debian's redis-server")
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--daemonize", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.kill()
        pytest.fail("redis-server did not start")

    def url(self, password: str | None = None) -> str:
        secret = password if password is not None else self.password
        return f"redis://{':' + secret + '@' if secret else ''}127.0.0.1:{self.port}/0"

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
