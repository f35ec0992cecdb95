"""The multi-server tests' HTTP client, against a server that dies mid-answer.

``test_killing_one_server_mid_load_loses_no_accepted_write`` tells a server it killed from a
wrong answer by the client raising ``OSError``. An answer torn after its headers once came out
as ``http.client.IncompleteRead``, which is not one, and a CI run failed on it. Every way an
answer can be cut off is walked here.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.cluster import Browser

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
TORN = {
    "closed before a byte": b"",
    "cut in the status line": b"HTTP/1.1 20",
    "cut in the headers": HEAD + b"Content-Length: 15668\r\n",
    "cut in a sized body": HEAD + b"Content-Length: 15668\r\n\r\n<html>",
    "cut in a chunked body": HEAD + b"Transfer-Encoding: chunked\r\n\r\n400\r\n<html>",
    "cut between chunks": HEAD + b"Transfer-Encoding: chunked\r\n\r\n6\r\n<html>\r\n",
    "a garbled status line": b"HTTP/1.1 two hundred\r\n\r\n",
}


@pytest.fixture
def dying_server(request: pytest.FixtureRequest) -> Iterator[int]:
    """Reads each request, writes ``request.param``, and closes: a server killed mid-reply."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(request.param)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    listener.shutdown(socket.SHUT_RDWR)  # wakes the accept (close alone does not, on Linux)
    listener.close()
    thread.join(5)


@pytest.mark.parametrize("dying_server", list(TORN.values()), ids=list(TORN), indirect=True)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_answer_torn_anywhere_is_a_connection_failure_and_the_connection_is_dropped(
        dying_server: int, method: str) -> None:
    browser = Browser([dying_server], "203.0.113.9")
    with pytest.raises(OSError):
        browser.request(method, "/client/", form={"a": "b"} if method == "POST" else None)
    assert browser.last_port == dying_server
    assert dying_server not in browser._conns
