"""Several app servers on one PostgreSQL and one Redis, started the way a host runs them.

Shared by the multi-server test (tests/test_multiserver.py) and its load figure
(bench/servers.py): a real ``redis-server``, gunicorn servers on their own ports serving this
checkout (one instance folder and keys, ``PANEL_REDIS_URL`` set, 127.0.0.1 trusted as the
proxy), the WHOIS server, the ``panel`` command, and ``Browser``: one person's HTTP client, a
cookie jar shared by every server (cookies ignore ports, as behind a load balancer) and an
``X-Forwarded-For`` address of its own, as the proxy would send it.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pyotp

from tests.pg import free_port

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "multi-server-secret-key-0123456789abcdef"
#: A keep-alive connection idle for longer is opened anew (gunicorn's --keep-alive is 5 s).
IDLE_SECONDS = 2.0
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def _wait_for(check: Any, what: str, proc: subprocess.Popen[Any], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {timeout:.0f}s")
        time.sleep(0.1)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway ``redis-server`` in the foreground on a free port; yields its URL."""
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--daemonize", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: _listening(port), "redis-server", proc, 20)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@dataclass
class Server:
    """One gunicorn server (its master and workers are one process group)."""

    port: int
    proc: subprocess.Popen[Any]
    log: Path

    def kill(self) -> None:
        """SIGKILL the whole server at once, the way a machine dies."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Cluster:
    """The panel's processes on one database, one instance folder and one Redis."""

    database_url: str
    root: Path
    redis_url: str | None
    workers: int = 1
    threads: int = 4
    servers: list[Server] = field(default_factory=list)
    others: list[subprocess.Popen[Any]] = field(default_factory=list)

    @property
    def instance(self) -> Path:
        return self.root / "instance"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PANEL_")}
        env.update(PANEL_DATABASE_URL=self.database_url, PANEL_INSTANCE_PATH=str(self.instance),
                   PANEL_SECRET_KEY=SECRET_KEY,
                   PANEL_MASTER_KEY_FILE=str(self.instance / "master.key"),
                   PANEL_PLUGINS="privacy", PANEL_BASE_URL="http://localhost",
                   PANEL_TRUSTED_PROXIES="127.0.0.1", PYTHONPATH=str(ROOT))
        if self.redis_url:
            env["PANEL_REDIS_URL"] = self.redis_url
        return env

    def open_app(self) -> Any:
        """The panel in this process, on the cluster's database (to read what it stored)."""
        from panel.app import create_app

        return create_app({"DATABASE_URL": self.database_url, "SECRET_KEY": SECRET_KEY,
                           "MASTER_KEY_FILE": str(self.instance / "master.key"),
                           "INSTANCE_PATH": str(self.instance), "PLUGINS": "privacy"})

    def setup(self) -> None:
        """The instance folder and its master key, the schema, the key ring and the demo."""
        self.instance.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "panel.instance_setup", str(self.instance)],
                       env=self.env, cwd=ROOT, check=True, capture_output=True, timeout=60)
        self.panel("db", "upgrade")
        self.panel("demo")

    def panel(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run the `panel` command of this checkout; fail with its output if it fails."""
        done = self.panel_async(*args)
        out, err = done.communicate(timeout=timeout)
        assert done.returncode == 0, f"panel {' '.join(args)} failed:\n{out}\n{err}"
        return subprocess.CompletedProcess(done.args, 0, out, err)

    def panel_async(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-c", "from panel.cli import main; main()",
                                 *args], env=self.env, cwd=ROOT, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def start_servers(self, count: int) -> list[Server]:
        """Start ``count`` servers at once and wait until each answers /healthz."""
        started = [self._launch() for _ in range(count)]
        for server in started:
            self._await(server)
        return started

    def start_server(self) -> Server:
        return self.start_servers(1)[0]

    def _launch(self) -> Server:
        """gunicorn with the gthread worker, the same settings for every server."""
        port = free_port()
        log = self.root / f"gunicorn-{port}.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--worker-class", "gthread",
                 "--workers", str(self.workers), "--threads", str(self.threads),
                 "--bind", f"127.0.0.1:{port}", "--timeout", "30", "--graceful-timeout", "5",
                 "--keep-alive", "5", "--limit-request-line", "8190", "panel.wsgi:app"],
                env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        server = Server(port, proc, log)
        self.servers.append(server)
        return server

    def _await(self, server: Server) -> None:
        def healthy() -> bool:
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
                conn.request("GET", "/healthz")
                return conn.getresponse().status == 200
            return False

        try:
            _wait_for(healthy, f"gunicorn on port {server.port}", server.proc, 120)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}:\n{server.log.read_text()[-3000:]}") from None

    def start_whois(self) -> int:
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-c", "from panel.cli import main; main()",
                                 "whois", "serve", "--host", "127.0.0.1", "--port", str(port)],
                                env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        self.others.append(proc)
        _wait_for(lambda: _listening(port), "panel whois serve", proc)
        return port

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        for proc in self.others:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)


def whois(port: int, query: str) -> str:
    """One RFC 3912 query."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(query.encode() + b"\r\n")
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    text: str

    @property
    def location(self) -> str:
        return urlsplit(self.headers.get("Location", "")).path


class Browser:
    """One person's client: one cookie jar for every server, a keep-alive connection to each,
    and an address of its own that the trusted proxy (127.0.0.1) passes in X-Forwarded-For."""

    def __init__(self, ports: list[int], ip: str, cookies: dict[str, str] | None = None) -> None:
        self.ports, self.ip = ports, ip
        self.cookies: dict[str, str] = dict(cookies or {})
        self._conns: dict[int, http.client.HTTPConnection] = {}
        self._used: dict[int, float] = {}  # when each connection last had an answer
        self._turn = 0
        self.last_port = 0  # the server of the latest request, answered or not
        self.latencies: list[float] = []  # seconds, one per answered request

    def next_port(self) -> int:
        """Round robin over the servers, as a load balancer would."""
        self._turn += 1
        return self.ports[self._turn % len(self.ports)]

    def request(self, method: str, path: str, *, port: int | None = None,
                form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        port = self.last_port = port or self.ports[0]
        body = urlencode(form).encode() if form is not None else None
        sent = {"X-Forwarded-For": self.ip, "Host": "localhost", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if time.monotonic() - self._used.get(port, 0.0) > IDLE_SECONDS:
            self.close(port)  # the server may be closing it: a write must not be sent twice
        for attempt in (1, 2):  # a keep-alive connection the server closed: once more, anew
            conn = self._conns.get(port)
            if conn is None:
                conn = self._conns[port] = http.client.HTTPConnection("127.0.0.1", port,
                                                                      timeout=60)
            try:
                start = time.perf_counter()
                conn.request(method, path, body=body, headers=sent)
                response = conn.getresponse()
                text = response.read().decode("utf-8", "replace")
                self.latencies.append(time.perf_counter() - start)
                self._used[port] = time.monotonic()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close(port)
                if attempt == 2 or method == "POST":  # never send a write twice
                    raise
            except OSError:
                self.close(port)
                raise
            except http.client.HTTPException as exc:  # a torn answer: the server died mid-reply
                self.close(port)
                raise ConnectionAbortedError(f"{type(exc).__name__}: {exc!r}") from exc
        if response.getheader("Connection", "").lower() == "close":
            self.close(port)
        for header in response.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return Reply(response.status, response.headers, text)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post_form(self, path: str, data: dict[str, str], *, port: int | None = None,
                  token_from: str | None = None) -> Reply:
        """GET the page for its CSRF token, then POST the form with it (to the same server)."""
        port = port or self.next_port()
        page = self.get(token_from or path, port=port)
        match = CSRF_RE.search(page.text)
        assert match, f"no CSRF token on {token_from or path} ({page.status})"
        return self.request("POST", path, port=port,
                            form={"csrf_token": match.group(1) or match.group(2), **data})

    def sign_in(self, email: str, password: str, totp_secret: str | None = None, *,
                port: int | None = None) -> Reply:
        """The sign-in form, then the code step when the account has one."""
        reply = self.post_form("/login", {"email": email, "password": password}, port=port)
        if reply.status == 302 and reply.location == "/login/verify":
            assert totp_secret, f"{email} has a second step"
            reply = self.post_form("/login/verify", {"code": pyotp.TOTP(totp_secret).now()},
                                   port=port)
        return reply

    def close(self, port: int | None = None) -> None:
        for p in ([port] if port else list(self._conns)):
            conn = self._conns.pop(p, None)
            if conn is not None:
                conn.close()


@dataclass
class Tally:
    """What a load run saw: answered requests and their latencies, errors (a 5xx, a dropped
    connection to a live server...) and wrong answers (a page with someone else's data, a
    write not seen afterwards). Only the first few messages of each are kept."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    error_count: int = 0
    wrong_count: int = 0
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def p95(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] if ordered else 0.0


@contextlib.contextmanager
def load(clients: list[Browser], step: Callable[[int, Browser], None]) -> Iterator[Tally]:
    """Each client in its own thread calls ``step(i, browser)`` over and over until the block
    ends; an AssertionError counts as a wrong answer, any other exception as an error."""
    tally, stop, lock = Tally(), threading.Event(), threading.Lock()

    def client(i: int, browser: Browser) -> None:
        while not stop.is_set():
            try:
                step(i, browser)
            except AssertionError as exc:
                with lock:
                    tally.wrong_count += 1
                    if len(tally.wrong) < 20:
                        tally.wrong.append(f"client {i}: {exc}")
            except Exception as exc:  # noqa: BLE001 - counted and reported, the run goes on
                with lock:
                    tally.error_count += 1
                    if len(tally.errors) < 20:
                        tally.errors.append(f"client {i}: {type(exc).__name__}: {exc}")

    for browser in clients:
        browser.latencies.clear()
    threads = [threading.Thread(target=client, args=(i, b), daemon=True)
               for i, b in enumerate(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    try:
        yield tally
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        tally.seconds = time.perf_counter() - start
        for browser in clients:
            tally.latencies.extend(browser.latencies)
            browser.close()
