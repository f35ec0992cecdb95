"""Issue 7 (WHOIS privacy): the public WHOIS server and RDAP, each against a baseline in one run.

1. WHOIS queries per second with 50 concurrent clients (each query a new TCP connection, as
   RFC 3912 has it), against an asyncio echo server that reads the same query line and writes
   an answer of the same size. Both servers run the same way (their own event loop on a
   thread); the load generator is the same asyncio client. Target: at least 0.5x (issue 16).
2. RDAP response time for a private domain (GET /rdap/domain/<name>: redaction, jCard,
   RFC 9537 members, JSON) against a bare Flask JSON endpoint on the same app that reads the
   same domain row and its contacts and returns them as JSON. Target: at most 2x.

Ports 12000-12999. Run with ``python -m bench --only whois [--quick]``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import date
from typing import Any

from flask import jsonify

from bench.common import Figure, call, fmt_time, paired, paired_figure, scratch_panel
from panel.accounts.services import create_subscriber
from panel.auth.passwords import hash_password
from panel.domains.models import CONTACT_FIELDS, CONTACT_ROLES, Domain, DomainContact
from panel.extensions import db
from plugins.privacy.whois.services.server import Settings, WhoisServer

WHOIS_PORT, ECHO_PORT = 12043, 12044
CLIENTS = 50


def _seed() -> None:
    user = create_subscriber(email="bench@example.com", password=None,
                             password_hash=hash_password("bench horse battery"), actor=None,
                             first_name="Henrietta", last_name="Swan", phone="+442079460123",
                             city="London", country="GB")
    for name, private in (("private-swan.test", True), ("public-swan.test", False)):
        domain = Domain(account_id=user.account_id, name=name, registered_on=date(2020, 1, 1),
                        expires_on=date(2030, 1, 1), nameservers="ns1.panel.test ns2.panel.test",
                        privacy_enabled=private)
        for role in CONTACT_ROLES:
            domain.contacts.append(DomainContact(
                role=role, name="Henrietta Swan", organization="Swan Trading Ltd",
                email=f"{role}@swan.test", phone="+442079460123", street="1 High Street",
                city="London", state="Greater London", postcode="SW1A 1AA", country="GB"))
        db.session.add(domain)
    db.session.commit()
    db.session.close()


class Background:
    """An asyncio server on its own thread and loop."""

    def __init__(self, start: Any) -> None:
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.server = self.loop.run_until_complete(start())
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert ready.wait(5)

    def stop(self) -> None:
        self.server.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


async def _echo_server(answer: bytes) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", ECHO_PORT, backlog=512)


async def _one(port: int, query: bytes) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(query)
    await writer.drain()
    data = await reader.read()
    writer.close()
    return len(data)


async def _load(port: int, total: int) -> tuple[float, int]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(b"private-swan.test\r\n" if i % 2 else b"public-swan.test\r\n")
    sizes: list[int] = []

    async def worker() -> None:
        while not queue.empty():
            sizes.append(await _one(port, queue.get_nowait()))

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    return total / (time.perf_counter() - start), min(sizes)


def _whois_figure(app: Any, quick: bool) -> Figure:
    server = WhoisServer(app, Settings(timeout=10, rate="1000000 per minute", workers=8))
    ours = Background(lambda: server.start("127.0.0.1", WHOIS_PORT))
    answer = server.lookup("private-swan.test").encode()
    echo = Background(lambda: _echo_server(answer))
    total = 1000 if quick else 4000
    smallest: list[int] = []

    def qps(port: int) -> Any:
        def go() -> float:
            rate, least = asyncio.run(_load(port, total))
            smallest.append(least)
            return rate
        return go

    try:
        asyncio.run(_load(WHOIS_PORT, 100))  # warm up both
        asyncio.run(_load(ECHO_PORT, 100))
        result = paired(qps(WHOIS_PORT), qps(ECHO_PORT), measure=call)
    finally:
        ours.stop()
        echo.stop()
        server.pool.shutdown(wait=True)
    assert min(smallest) > 500, "a WHOIS answer came back short"
    our_qps, echo_qps = result.median(0), result.median(1)
    return paired_figure(f"WHOIS queries/s, {CLIENTS} concurrent clients vs asyncio echo",
                         result, at_least=0.5,
                         detail=f"{our_qps:,.0f} vs {echo_qps:,.0f} q/s")


def _rdap_figure(app: Any, quick: bool) -> Figure:
    @app.get("/bench/bare/<name>")
    def bare(name: str) -> Any:
        domain = db.session.execute(db.select(Domain).where(Domain.name == name)).scalar_one()
        return jsonify({"name": domain.name, "registered_on": domain.registered_on.isoformat(),
                        "expires_on": domain.expires_on.isoformat(),
                        "nameservers": domain.nameservers.split(),
                        "contacts": [{f: getattr(c, f) for f in ("role", *CONTACT_FIELDS)}
                                     for c in domain.contacts]})

    client = app.test_client()
    for url in ("/rdap/domain/private-swan.test", "/bench/bare/private-swan.test"):
        assert client.get(url).status_code == 200
    n = 100 if quick else 400

    def run(url: str) -> Any:
        return lambda: [client.get(url) for _ in range(n)]

    result = paired(run("/rdap/domain/private-swan.test"), run("/bench/bare/private-swan.test"),
                    repeats=5 if quick else 9)
    ours, bare_t = result.median(0) / n, result.median(1) / n
    return paired_figure("RDAP domain answer vs bare Flask JSON of the same row", result,
                         at_most=2.0, detail=f"{fmt_time(ours)} vs {fmt_time(bare_t)}")


def run(quick: bool) -> list[Figure]:
    with scratch_panel(RDAP_RATE_LIMIT="1000000 per minute") as app:
        _seed()
        figures = [_whois_figure(app, quick)]
        figures.append(_rdap_figure(app, quick))
    return figures
