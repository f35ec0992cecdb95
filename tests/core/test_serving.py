"""The server keeps answering when clients are half-open or slow (`make run`'s gunicorn, for real).

Three or four connections that sent half a request used to take every sync worker, and
/healthz waited 33 s. The worker in deploy/gunicorn.conf.py reads requests in its main loop
and gives each client PANEL_CLIENT_TIMEOUT seconds to send one.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.conftest import _migrate
from tests.served import get, gunicorn

#: A client's time to send a whole request, shortened so the tests need not wait 30 s.
CLIENT_TIMEOUT = 3


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """One server for the module (how it serves does not depend on the database's kind)."""
    instance = tmp_path_factory.mktemp("served")
    url = f"sqlite:///{instance / 'panel.db'}"
    _migrate(url, instance)
    with gunicorn(url, instance, PANEL_CLIENT_TIMEOUT=str(CLIENT_TIMEOUT)) as port:
        assert get(port, "/readyz", timeout=30)[0] == 200  # the workers are up
        yield port


def _timed(port: int, path: str) -> tuple[int, bytes, float]:
    started = time.monotonic()
    status, body = get(port, path, timeout=30)
    return status, body, time.monotonic() - started


def test_fifty_half_open_connections_leave_healthz_under_a_second(served: int) -> None:
    held = []
    try:
        for i in range(50):
            s = socket.create_connection(("127.0.0.1", served), timeout=10)
            if i % 5:  # most send part of a request head and wait; some send nothing at all
                s.sendall(b"GET /login HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            held.append(s)
        time.sleep(0.5)  # every one is accepted and waiting
        for path in ("/healthz", "/healthz", "/readyz", "/healthz", "/login"):
            status, body, took = _timed(served, path)
            assert status == 200, (path, status, body[:200])
            assert took < 1.0, f"{path} took {took:.2f} s with 50 half-open connections"
        assert get(served, "/healthz")[1] == b"ok\n"
    finally:
        for s in held:
            s.close()


def _send_slowly(port: int, head: bytes, body: bytes, seen: dict[str, float | bytes]) -> None:
    """Send ``head`` at once, then ``body`` one byte a second; note when the server cut us off."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head)
        try:
            for i in range(len(body)):
                s.sendall(body[i:i + 1])
                time.sleep(1)
                s.setblocking(False)
                try:
                    answer = s.recv(65536)
                except BlockingIOError:
                    answer = None
                finally:
                    s.setblocking(True)
                if answer and answer.startswith(b"HTTP/1.1 100 "):  # go on, says the server
                    answer = answer[len(b"HTTP/1.1 100 Continue\r\n\r\n"):] or None
                if answer is not None:  # b"": closed; otherwise the server answered
                    seen["answer"] = answer
                    break
        except OSError:  # reset: cut off
            seen["answer"] = b""
    seen["after"] = time.monotonic() - started


@pytest.mark.parametrize("kind", ["body", "chunked body", "100-continue body", "head"])
def test_a_client_sending_one_byte_a_second_is_cut_off_and_others_are_served(
        served: int, kind: str) -> None:
    body = b"email=someone%40example.test&password=" + b"x" * 40
    if kind == "body":
        head = (b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                b"application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % len(body))
    elif kind == "chunked body":
        head = (b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                b"application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"%x\r\n" % len(body))
    elif kind == "100-continue body":
        head = (b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                b"application/x-www-form-urlencoded\r\nExpect: 100-continue\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body))
    else:
        head, body = b"GET /login HTTP/1.1\r\n", b"Host: localhost\r\nX-Slow: " + b"y" * 60
    clients = []
    for _ in range(12):  # more slow clients than a worker has threads
        seen: dict[str, float | bytes] = {}
        t = threading.Thread(target=_send_slowly, args=(served, head, body, seen), daemon=True)
        t.start()
        clients.append((t, seen))
    time.sleep(1.5)
    for _ in range(3):  # while they trickle, everyone else is served at once
        status, _, took = _timed(served, "/healthz")
        assert status == 200 and took < 1.0, took
        time.sleep(0.3)
    for t, seen in clients:
        t.join(timeout=30)
        assert not t.is_alive(), "a slow client was never cut off"
        # cut off near PANEL_CLIENT_TIMEOUT, long before its body was sent
        assert seen["after"] < CLIENT_TIMEOUT + 4, seen
        assert seen["answer"] == b"" or bytes(seen["answer"])[:10] in (b"HTTP/1.1 4", b"HTTP/1.1 5"), seen
    assert _timed(served, "/login")[0] == 200


def test_a_client_that_expects_100_continue_gets_it_and_its_answer(served: int) -> None:
    body = b"email=someone%40example.test&password=wrong"
    with socket.create_connection(("127.0.0.1", served), timeout=10) as s:
        s.sendall(b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/"
                  b"x-www-form-urlencoded\r\nExpect: 100-continue\r\nConnection: close\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        assert s.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(body)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    final = answer.split(b"HTTP/1.1 ")[-1]
    assert final.startswith(b"400"), answer[:300]  # no CSRF token: refused, but answered
