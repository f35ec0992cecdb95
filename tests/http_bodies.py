"""Request bodies the way clients send them: with a Content-Length, or chunked with none.

In the test client a chunked body looks as gunicorn hands it to the app: no CONTENT_LENGTH,
``Transfer-Encoding: chunked`` and ``wsgi.input_terminated``, read from a stream that counts
what the app took (``Source.taken``). ``gunicorn()`` serves a test database with the real
server, and ``post()`` sends it raw bodies over a socket, either way.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from tests.conftest import TEST_MASTER_KEY, TEST_PLUGINS, TEST_SECRET_KEY
from tests.pg import free_port

ROOT = Path(__file__).resolve().parent.parent
WAYS = ["content-length", "chunked"]
CHUNK = 64 * 1024
TOO_LARGE = "What you sent is larger than this panel accepts."


class Source(io.RawIOBase):
    """A body the app reads once; ``endless`` goes on with ``a`` after the data, forever."""

    def __init__(self, data: bytes, *, endless: bool = False) -> None:
        self.data, self.endless, self.taken = data, endless, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        size = len(b)
        if not self.endless:
            size = min(size, len(self.data) - self.taken)
        piece = self.data[self.taken:self.taken + size]
        piece += b"a" * (size - len(piece))
        b[:size] = piece
        self.taken += size
        return size


def send(client: FlaskClient, url: str, data: Any, *, way: str, content_type: str | None = None,
         endless: bool = False) -> tuple[Any, Source]:
    """POST ``data`` (a form dict or bytes) to ``url``, the given way; also what the app read."""
    builder = EnvironBuilder(path=url, method="POST", data=data, content_type=content_type)
    environ = builder.get_environ()
    source = Source(environ["wsgi.input"].read(), endless=endless)
    environ["wsgi.input"] = source
    if way == "chunked":
        del environ["CONTENT_LENGTH"]
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
    elif endless:
        environ["CONTENT_LENGTH"] = str(len(source.data) + 64 * 1024 * 1024)
    return client.open(Request(environ)), source


def page_text(body: bytes | str) -> str:
    """An error page without its per-request reference, to compare two answers."""
    text = body.decode() if isinstance(body, bytes) else body
    text = re.sub(r"reference [0-9a-f]+", "reference …", text)
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]*', r"\1…", text)


@contextlib.contextmanager
def gunicorn(database_url: str, instance: Path, **extra: str) -> Iterator[int]:
    """The panel served from this checkout by one gunicorn worker; yields the port. ``extra``
    adds to the environment (``PANEL_REDIS_URL=...``)."""
    port = free_port()
    env = {**os.environ, "PANEL_DATABASE_URL": database_url, "PANEL_INSTANCE_PATH": str(instance),
           "PANEL_SECRET_KEY": TEST_SECRET_KEY, "PANEL_MASTER_KEY": TEST_MASTER_KEY,
           "PANEL_PLUGINS": TEST_PLUGINS, "PANEL_BASE_URL": "http://localhost",
           "PYTHONPATH": str(ROOT), **extra}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "1", "--bind",
                               f"127.0.0.1:{port}", "panel.wsgi:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "gunicorn did not listen within 60 s"
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=20)


@dataclass
class Answer:
    status: int
    body: bytes
    sent: int  # body bytes the client got out before it stopped
    finished: bool  # the whole body and its last chunk went out
    closed: bool  # the server closed the connection


def post(port: int, path: str, body_start: bytes, total: int, *, way: str,
         headers: dict[str, str] | None = None, wait: float = 10.0) -> Answer:
    """POST ``total`` bytes (``body_start``, then ``a``) the given way, 64 KiB at a time, and
    stop sending as soon as the server answers, as a browser does; then read the answer."""
    conn = socket.socket()
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHUNK)
    conn.connect(("127.0.0.1", port))
    framing = ({"Transfer-Encoding": "chunked"} if way == "chunked"
               else {"Content-Length": str(total)})
    head = {"Host": "localhost", "Content-Type": "application/x-www-form-urlencoded",
            **(headers or {}), **framing}
    conn.sendall(("POST " + path + " HTTP/1.1\r\n"
                  + "".join(f"{k}: {v}\r\n" for k, v in head.items()) + "\r\n").encode())
    sent, pending, last = 0, b"", False
    try:
        while pending or not last:
            readable, writable, _ = select.select([conn], [conn], [], wait)
            if readable or not writable:
                break  # the server answered (or closed), or it neither reads nor answers
            if not pending:
                if sent < total:
                    size = min(CHUNK, total - sent)
                    piece = body_start[sent:sent + size]
                    pending = piece + b"a" * (size - len(piece))
                    if way == "chunked":
                        pending = b"%x\r\n" % size + pending + b"\r\n"
                    sent += size
                else:
                    pending, last = (b"0\r\n\r\n" if way == "chunked" else b""), True
            pending = pending[conn.send(pending):] if pending else b""
    except OSError:
        pass  # reset or broken pipe: the server stopped reading
    return _read_answer(conn, sent, last and not pending, wait)


def _read_answer(conn: socket.socket, sent: int, finished: bool, wait: float) -> Answer:
    conn.settimeout(wait)
    raw, closed = b"", False
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                closed = True
                break
            raw += data
    except (ConnectionResetError, BrokenPipeError):
        closed = True
    except TimeoutError:
        pass
    finally:
        conn.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return Answer(status, body, sent, finished, closed)
