"""A gunicorn worker that slow or half-open connections cannot starve.

gunicorn's ``gthread`` worker hands every new connection to a thread, and that thread blocks
until the request's headers are complete: a few clients that send half a request and wait
hold every thread, and ``/healthz`` waited 33 s. Here the main loop reads the request head
(and a body of up to 64 KiB, a form's) without blocking, so a thread is only used once there is
a whole request to answer. A client gets ``PANEL_CLIENT_TIMEOUT`` seconds (default 30) to send
its request, head and body together; after that it is cut off, whether it is waiting in the
main loop or reading a large body in a thread. Each blocking read or write of a thread gives
up after the same time, and closing never waits for a client that keeps its side open.

Use it as ``worker_class = "panel.serving.GuardedThreadWorker"`` (deploy/gunicorn.conf.py).
A proxy in front (deploy/nginx.conf) buffers requests too; this keeps a directly reachable
server answering.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import socket
import time
from functools import partial
from typing import Any

from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, TConn, ThreadWorker

#: The default for PANEL_CLIENT_TIMEOUT: seconds a client has to send a whole request.
CLIENT_TIMEOUT = 30.0
#: A request head longer than this is handed to gunicorn's parser, which refuses it.
MAX_HEAD_BUFFER = 64 * 1024
#: Bodies up to this size (a form) are read in the main loop with their head.
MAX_BODY_BUFFER = 64 * 1024

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d{1,15})[ \t]*\r\n")
_EXPECT_CONTINUE = re.compile(rb"\r\nexpect:[ \t]*100-continue[ \t]*\r\n")
#: Sent from the main loop to a client waiting for it; gunicorn may send its own later, and a
#: client reads any number of 1xx answers before the final one (RFC 9110 15.2).
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def client_timeout() -> float:
    """PANEL_CLIENT_TIMEOUT in seconds, or the default when unset or unusable."""
    try:
        value = float(os.environ.get("PANEL_CLIENT_TIMEOUT", CLIENT_TIMEOUT))
    except ValueError:
        return CLIENT_TIMEOUT
    return value if value > 0 else CLIENT_TIMEOUT


class TimedSocket:
    """A client socket whose blocking calls time out, and whose reads stop at ``deadline``.

    gunicorn switches a socket between non-blocking (main loop) and blocking (thread) with
    ``setblocking``; blocking here means "with a timeout", so no read or write waits forever.
    """

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self._sock = sock
        self._timeout = timeout
        self._closing = False
        self.deadline: float | None = None

    def setblocking(self, flag: bool) -> None:
        self._sock.settimeout(self._timeout if flag else 0.0)

    def shutdown(self, how: int) -> None:
        # gunicorn's graceful close shuts the write side, then waits up to 2 s for the client
        # to close in the main loop; only what has already arrived is drained here.
        self._closing = True
        self._sock.shutdown(how)

    def settimeout(self, value: float | None) -> None:
        self._sock.settimeout(0.0 if self._closing else value)

    def recv(self, size: int, *flags: int) -> bytes:
        if self._closing:
            self._sock.settimeout(0.0)
        elif self.deadline is not None and self._sock.gettimeout() != 0.0:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the client took too long to send its request")
            self._sock.settimeout(min(left, self._timeout))
        return self._sock.recv(size, *flags)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def request_complete(data: bytes | bytearray) -> bool:
    """Whether ``data`` holds a request a thread can answer without waiting on the client:
    the whole head, and a body of up to MAX_BODY_BUFFER bytes (of known length or chunked).
    A larger body goes to a thread once the head is in, its reads bounded by the deadline;
    anything malformed goes to gunicorn's parser, which refuses it."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return len(data) > MAX_HEAD_BUFFER
    fields = bytes(data[:end + 2]).lower()
    body = bytes(data[end + 4:])
    if b"\r\ntransfer-encoding:" in fields:
        return _chunks_complete(body)
    match = _CONTENT_LENGTH.search(fields)
    if match is None:
        return True
    length = int(match.group(1))
    return length > MAX_BODY_BUFFER or len(body) >= length


def _chunks_complete(body: bytes) -> bool:
    if len(body) > MAX_BODY_BUFFER:
        return True
    pos = 0
    while (eol := body.find(b"\r\n", pos)) >= 0:
        try:
            size = int(body[pos:eol].split(b";", 1)[0].strip(), 16)
        except ValueError:
            return True
        if size == 0:  # the last chunk; then trailer fields, if any, and an empty line
            rest = body[eol + 2:]
            return rest.startswith(b"\r\n") or b"\r\n\r\n" in rest
        pos = eol + 2 + size + 2
    return False


def expects_continue(data: bytes | bytearray) -> bool:
    """The head is in and asks for "100 Continue" before the client sends its body."""
    end = data.find(b"\r\n\r\n")
    return end >= 0 and _EXPECT_CONTINUE.search(bytes(data[:end + 2]).lower()) is not None


class GuardedThreadWorker(ThreadWorker):
    """gunicorn's gthread worker, but a thread only ever waits on a client within a deadline."""

    def init_process(self) -> None:
        self.client_timeout = client_timeout()
        super().init_process()

    def accept(self, listener: socket.socket) -> None:
        if self.cfg.is_ssl:  # TLS ends at the proxy; gunicorn's own TLS keeps its behaviour
            super().accept(listener)
            return
        try:
            client, address = listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, TimedSocket(client, self.client_timeout), address,
                     listener.getsockname())
        self._await_request(conn)

    def on_client_socket_readable(self, conn: TConn, client: Any) -> None:
        """A kept-alive connection has data: read its next request in the main loop too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._await_request(conn)

    def _await_request(self, conn: TConn) -> None:
        conn.sock.setblocking(False)
        conn.head = bytearray()
        conn.continued = False
        conn.timeout = time.monotonic() + self.client_timeout  # murder_pending closes it then
        conn.sock.deadline = conn.timeout
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_request_data, conn))

    def _on_request_data(self, conn: TConn, _sock: Any) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            conn.head += data
            if not request_complete(conn.head):
                if not conn.continued and expects_continue(conn.head):
                    conn.continued = True
                    # on failure the client sends its body after a second or so anyway
                    with contextlib.suppress(OSError):
                        conn.sock.send(CONTINUE)
                return
        self.poller.unregister(conn.sock)
        self.pending_conns.remove(conn)
        if not data:  # the client went away before sending a whole request
            self.nr_conns -= 1
            conn.close()
            return
        conn.data_ready = True
        self.enqueue_req(conn)

    def murder_pending(self) -> None:
        """While stopping, a request still arriving gets as long as a kept-alive connection
        does (2 s), not the whole client timeout: a restart does not wait on slow clients."""
        if not self.alive:
            linger = time.monotonic() + STOP_KEEPALIVE_LINGER
            for conn in self.pending_conns:
                conn.timeout = min(conn.timeout, linger)
        super().murder_pending()

    def handle(self, conn: TConn) -> Any:
        head = getattr(conn, "head", None)
        conn.head = None
        if head:
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(bytes(head))
        elif isinstance(conn.sock, TimedSocket):  # pipelined read-ahead: a fresh deadline
            conn.sock.deadline = time.monotonic() + self.client_timeout
        return super().handle(conn)
