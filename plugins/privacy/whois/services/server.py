"""The public WHOIS server (RFC 3912): one query line ending in CRLF, a text answer, close.

asyncio handles the connections; the database is read in a small thread pool, which keeps the
event loop free under many clients. The queries that arrive while the pool is busy go to it
together, as one batch: one app context (so one session), one counter update per client
address, one read per name. Each query is still counted and answered as if alone: a batch
holds only queries that arrived before its read, so a change committed before a query arrived
shows in its answer.
Hostile input gets a one-line error and a close: an over-long line, an empty line, bytes that
are not UTF-8, a name that is not a domain, or no CRLF before the timeout. A per-address rate
limit (the ``limits`` library, which Flask-Limiter is built on) answers with a clear message;
it counts in the web's store (Redis or the database), so every WHOIS process shares it and a
restart keeps it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from flask import Flask
from limits import parse as parse_limit

from panel.extensions import db
from panel.ratelimit.store import whois_limiter
from plugins.privacy.whois.services import lookup as whois_data
from plugins.privacy.whois.services.lookup import BadName, Record

log = logging.getLogger("panel.whois")

MAX_QUERY_BYTES = 255
DEFAULT_TIMEOUT = 10.0
DEFAULT_RATE = "60 per minute"
ROLE_LABELS = {"registrant": "Registrant", "admin": "Admin", "tech": "Tech", "billing": "Billing"}
FIELD_LABELS = (("name", "Name"), ("organization", "Organization"), ("street", "Street"),
                ("city", "City"), ("state", "State/Province"), ("postcode", "Postal Code"),
                ("country", "Country"), ("phone", "Phone"), ("email", "Email"))

TOO_LONG = "% Error: query too long (at most 255 bytes)."
EMPTY = "% Error: empty query. Send a domain name followed by CRLF."
NOT_TEXT = "% Error: the query is not valid UTF-8 text."
NO_CRLF = "% Error: end the query with CRLF."
TIMEOUT = "% Error: no query received in time."
BUSY = "% Error: the service is temporarily unavailable. Try again later."


def _stamp(value: datetime | date) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{value.isoformat()}T00:00:00Z"


def format_record(r: Record) -> str:
    """The answer in the `Key: value` form registries use (ICANN RDDS field names)."""
    return format_body(r) + footer()


def footer() -> str:
    return f"\r\n>>> Last update of WHOIS database: {_stamp(datetime.now(UTC))} <<<\r\n"


def format_body(r: Record) -> str:
    """Everything of the answer but the time of the query."""
    lines = [f"Domain Name: {r.name.upper()}"]
    if r.unicode_name != r.name:
        lines.append(f"Internationalized Domain Name: {r.unicode_name}")
    lines += [f"Registry Domain ID: {r.handle}",
              f"Registrar: {r.registrar}",
              f"Updated Date: {_stamp(r.updated)}",
              f"Creation Date: {_stamp(r.created)}",
              f"Registry Expiry Date: {_stamp(r.expires)}",
              f"Domain Status: {whois_data.EPP_STATUS.get(r.status, r.status)}"]
    lines += [f"Name Server: {ns.upper()}" for ns in r.nameservers]
    for contact in r.contacts:
        role = ROLE_LABELS[contact.role]
        lines += [f"{role} {label}: {contact.values.get(key, '')}" for key, label in FIELD_LABELS]
    if r.private:
        lines += ["", "This domain uses the privacy service below: the registrant's personal",
                  "data is withheld. To reach the registrant, use the web form:",
                  r.contact_url,
                  "Privacy service: " + ", ".join(r.service.address_lines())]
    return "\r\n".join(lines) + "\r\n"


def printable(text: str) -> str:
    """``text`` safe to echo to a terminal: each C0 or C1 control and DEL (ESC would start an
    escape sequence, BEL ring, NUL cut the line) is written as ``\\xNN`` instead."""
    return "".join(f"\\x{ord(ch):02X}" if ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F else ch
                   for ch in text)


def no_match(name: str) -> str:
    return f'No match for "{printable(name.upper())}".\r\n'


@dataclass
class Settings:
    timeout: float = DEFAULT_TIMEOUT
    rate: str = DEFAULT_RATE
    workers: int = 8  # threads in the pool
    #: batches in the pool at once: the queries that come meanwhile wait to go together (fewer
    #: hand-overs between threads and counter updates, each query no later)
    batches: int = 2


class WhoisServer:
    """``await WhoisServer(app).start(host, port)``; ``serve_forever`` for the CLI."""

    def __init__(self, app: Flask, settings: Settings | None = None) -> None:
        self.app = app
        self.settings = settings or Settings(
            timeout=float(app.config.get("WHOIS_TIMEOUT", DEFAULT_TIMEOUT)),
            rate=str(app.config.get("WHOIS_RATE_LIMIT", DEFAULT_RATE)))
        self.limit = parse_limit(self.settings.rate)
        self.limiter = whois_limiter(app)
        self.pool = ThreadPoolExecutor(max_workers=self.settings.workers,
                                       thread_name_prefix="whois-db")
        self.server: asyncio.Server | None = None
        self.answered = 0
        #: name -> (the rows it was built from, the answer without its time line)
        self.answers: dict[str, tuple[Any, str]] = {}
        #: queries waiting for the pool: (client address, query line, where the answer goes)
        self._waiting: list[tuple[str, bytes, asyncio.Future[str]]] = []
        self._in_pool = 0  # batches in the pool now
        self._sending = False  # a send of the waiting queries is scheduled on the loop

    # --- the database side, in the pool -------------------------------------------------

    def lookup(self, query: str) -> str:
        """The answer to one query, counted nowhere (its own app context)."""
        with self.app.app_context():
            try:
                return self._lookup(query, {})
            finally:
                db.session.remove()

    def _lookup(self, query: str, read: dict[str, str]) -> str:
        """One indexed read per name and batch (``read`` holds this batch's answers); the
        answer built from the same rows last time is reused (``whois_data.kept``)."""
        try:
            name = whois_data.normalise_name(query)
        except BadName:
            return no_match(query)
        if name not in read:
            found = whois_data.fetch(name)
            read[name] = "" if found is None else whois_data.kept(self.answers, found, format_body)
        return read[name] + footer() if read[name] else no_match(query)

    def _allowances(self, peers: Counter[str]) -> dict[str, int]:
        """Count each address's queries of a batch in one update of its counter (in the web's
        store: Redis or the database). An address may send ``n`` of them: those of its ``n``
        queries that one hit each, in turn, would have let through (a fixed window counts
        the same either way). A store that fails lets them through, as a hit would."""
        out = {}
        for peer, n in peers.items():
            count = self.limiter.storage.incr(self.limit.key_for("whois", peer),
                                              self.limit.get_expiry(), amount=n)
            out[peer] = max(0, min(n, self.limit.amount - (count - n)))
        return out

    def _batch(self, queries: list[tuple[str, bytes]]) -> list[str]:
        """Count, then answer, every query of a batch: one trip to the pool, one app context."""
        with self.app.app_context():
            try:
                left = self._allowances(Counter(peer for peer, _ in queries))
                read: dict[str, str] = {}
                answers = []
                for peer, line in queries:
                    if left[peer] > 0:
                        left[peer] -= 1
                        answers.append(self._reply(line, read))
                    else:
                        answers.append(self._refusal())
                return answers
            finally:
                db.session.remove()

    def _refusal(self) -> str:
        return (f"% Error: rate limit exceeded: at most {self.limit.amount} queries per "
                f"{self.limit.GRANULARITY.name} from one address. Try again later.\r\n")

    def _reply(self, line: bytes, read: dict[str, str]) -> str:
        try:
            query = line.decode("utf-8").strip()
        except UnicodeDecodeError:
            return NOT_TEXT + "\r\n"
        if not query:
            return EMPTY + "\r\n"
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in query) or " " in query:
            return no_match(query.encode("ascii", "replace").decode()[:MAX_QUERY_BYTES])
        return self._lookup(query, read)

    # --- the connection side, on the loop -------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = (writer.get_extra_info("peername") or ("?",))[0]
        try:
            answer = await self._answer(reader, peer)
            writer.write(answer.encode("utf-8"))
            await self._flush(writer)
        except (TimeoutError, ConnectionError):
            pass
        except Exception:  # noqa: BLE001 - one bad connection must never stop the server
            log.exception("whois: error answering a query")  # no client address in logs
            with contextlib.suppress(Exception):
                writer.write((BUSY + "\r\n").encode())
        finally:
            with contextlib.suppress(Exception):
                if writer.transport.get_write_buffer_size():
                    writer.transport.abort()  # a client that stopped reading: drop what is left
                else:
                    writer.close()  # all sent: the socket closes on the loop's next pass

    async def _flush(self, writer: asyncio.StreamWriter) -> None:
        """An answer (a few KB) goes to the socket at once: nothing to wait for. Only a client
        that stops reading leaves some of it in the transport, and it gets the timeout."""
        if writer.transport.get_write_buffer_size():
            async with asyncio.timeout(self.settings.timeout):  # no task per call
                await writer.drain()

    async def _answer(self, reader: asyncio.StreamReader, peer: str) -> str:
        try:
            async with asyncio.timeout(self.settings.timeout):
                raw = await reader.readuntil(b"\n")
        except TimeoutError:
            return TIMEOUT + "\r\n"
        except asyncio.LimitOverrunError:
            return TOO_LONG + "\r\n"
        except asyncio.IncompleteReadError as exc:
            return (TOO_LONG if len(exc.partial) > MAX_QUERY_BYTES else NO_CRLF) + "\r\n"
        if len(raw) > MAX_QUERY_BYTES + 2:
            return TOO_LONG + "\r\n"
        if not raw.endswith(b"\r\n"):
            return NO_CRLF + "\r\n"
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        self._waiting.append((peer, raw[:-2], future))
        self._schedule(loop)
        answer = await future
        self.answered += 1
        return answer

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        """Send the waiting queries once this pass of the loop has read what it can, unless
        every worker is busy: then the first batch to come back sends them."""
        if self._waiting and not self._sending and self._in_pool < self.settings.batches:
            self._sending = True
            loop.call_soon(self._send, loop)

    def _send(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sending = False
        batch, self._waiting = self._waiting, []
        self._in_pool += 1
        done = loop.run_in_executor(self.pool, self._batch, [(p, q) for p, q, _ in batch])
        done.add_done_callback(lambda result: self._returned(loop, batch, result))

    def _returned(self, loop: asyncio.AbstractEventLoop,
                  batch: list[tuple[str, bytes, asyncio.Future[str]]],
                  result: asyncio.Future[list[str]]) -> None:
        self._in_pool -= 1
        self._schedule(loop)
        error = None if result.cancelled() else result.exception()
        for i, (_, _, future) in enumerate(batch):
            if future.done():
                continue  # its connection was given up
            if result.cancelled():
                future.cancel()
            elif error is not None:
                future.set_exception(error)
            else:
                future.set_result(result.result()[i])

    async def start(self, host: str, port: int) -> asyncio.Server:
        self.server = await asyncio.start_server(self.handle, host, port,
                                                 limit=MAX_QUERY_BYTES + 2, backlog=512)
        return self.server

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def serve_forever(self, host: str, port: int,
                            ready: Callable[[str], None] | None = None) -> None:
        server = await self.start(host, port)
        if ready:
            ready(", ".join(str(s.getsockname()[:2]) for s in server.sockets))
        try:
            async with server:
                await server.serve_forever()
        finally:
            self.pool.shutdown(wait=False, cancel_futures=True)
