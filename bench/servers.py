"""Issue 17 (several app servers): what a second app server adds.

100 clients run a mixed workload (sign-in, subscriber pages, one-click unsubscribe, RDAP)
against one gunicorn server, then against two taking turns (round robin, as the proxy does),
all on one PostgreSQL and one Redis started for the run (tests/cluster.py). Every server has
the same settings: one gthread worker with 4 threads, so one server is one Python process
(one CPU at most, by the GIL) and two servers may use two. The phases are interleaved and the
order alternates, so drift hits both. Target: two servers serve at least 1.7x the requests per
second of one; the p95 latency at 100 clients is reported for both.

What the ratio can reach depends on the CPUs left over: the load generator (this process),
PostgreSQL and Redis share the machine with the servers. On 2 CPUs, two servers cannot get
two whole CPUs.

Run with ``python -m bench --only servers [--quick]``.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import POSTGRESQL, Figure, call, paired, paired_figure, scratch_database
from tests.cluster import Browser, Cluster, Tally, load, redis_server

#: The figure is about several servers on one PostgreSQL; the SQLite column shows n/a.
BACKENDS = (POSTGRESQL,)

CLIENTS = 100
PASSWORD = "demo-password"
PAGES = ["/client/", "/client/domains", "/client/invoices", "/client/profile"]


class Workload:
    """What one client does, step by step: mostly subscriber pages, then RDAP lookups and
    one-click unsubscribes from mail, and now and then a fresh sign-in."""

    def __init__(self, subscribers: list[str], domains: list[str], tokens: list[str]) -> None:
        self.subscribers, self.domains, self.tokens = subscribers, domains, tokens
        self.signed_in: set[int] = set()

    def step(self, i: int, browser: Browser) -> None:
        roll = random.random()
        if i not in self.signed_in or roll < 0.04:
            browser.cookies.clear()
            reply = browser.sign_in(self.subscribers[i % len(self.subscribers)], PASSWORD)
            _expect(reply.status, 302, "sign-in")
            self.signed_in.add(i)
        elif roll < 0.60:
            path = random.choice(PAGES)
            _expect(browser.get(path, port=browser.next_port()).status, 200, path)
        elif roll < 0.85:
            path = f"/rdap/domain/{random.choice(self.domains)}"
            _expect(browser.get(path, port=browser.next_port()).status, 200, "RDAP")
        else:
            reply = browser.request("POST", f"/unsubscribe/{random.choice(self.tokens)}",
                                    port=browser.next_port(),
                                    form={"List-Unsubscribe": "One-Click"})
            _expect(reply.status, 200, "one-click")


def _expect(status: int, wanted: int, what: str) -> None:
    if status != wanted:
        raise RuntimeError(f"{what} answered {status}")


def _demo(cluster: Cluster) -> Workload:
    """The demo subscribers, their domains, and a one-click link per subscriber."""
    from sqlalchemy import select

    from panel.auth.models import SUBSCRIBER, User
    from panel.domains.models import Domain
    from panel.extensions import db
    from plugins.privacy.email.services import unsubscribe

    logins = json.loads(cluster.panel("demo", "--json").stdout)
    app = cluster.open_app()
    with app.app_context():
        users = db.session.execute(select(User).where(User.role == SUBSCRIBER)).scalars().all()
        tokens = [unsubscribe.make(u.account_id, "newsletter") for u in users]
        domains = list(db.session.execute(select(Domain.name)).scalars())
        db.session.remove()
        db.engine.dispose()
    subscribers = [item["email"] for item in logins if item["role"] == "subscriber"]
    return Workload(subscribers, domains, tokens)


def _phase(clients: list[Browser], ports: list[int], work: Workload, seconds: float) -> Tally:
    for browser in clients:
        browser.ports = ports
    with load(clients, work.step) as tally:
        time.sleep(seconds)
    if tally.error_count:
        raise RuntimeError(f"{tally.error_count} request(s) failed: {tally.errors[:3]}")
    return tally


def two_servers_against_one(quick: bool) -> list[Figure]:
    seconds = 4.0 if quick else 10.0
    busy = os.getloadavg()[0]  # other work on the machine takes CPUs the second server needs
    root = Path(tempfile.mkdtemp(prefix="panel-bench-servers-"))
    try:
        with scratch_database() as url, redis_server() as redis_url, \
                contextlib.ExitStack() as stack:
            cluster = Cluster(url, root, redis_url, workers=1, threads=4)
            stack.callback(cluster.stop)
            cluster.setup()
            work = _demo(cluster)
            a, b = cluster.start_servers(2)
            clients = [Browser([a.port], f"10.5.{i // 200}.{i % 200 + 1}")
                       for i in range(CLIENTS)]
            _phase(clients, [a.port, b.port], work, 3.0)  # warm-up: everyone signs in once
            sides: dict[str, list[Tally]] = {"one": [], "two": []}

            def phase(side: str, ports: list[int]) -> Any:
                def go() -> float:
                    sides[side].append(_phase(clients, ports, work, seconds))
                    return sides[side][-1].per_second
                return go

            result = paired(phase("two", [a.port, b.port]), phase("one", [a.port]), measure=call)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rps = {side: statistics.median(t.per_second for t in tallies)
           for side, tallies in sides.items()}
    p95 = {side: statistics.median(t.p95() for t in tallies) for side, tallies in sides.items()}
    return [
        paired_figure("requests/s, mixed workload, 2 app servers vs 1 (PostgreSQL, Redis)",
                      result, at_least=1.7,
                      detail=f"{rps['two']:.0f} vs {rps['one']:.0f} req/s; {CLIENTS} clients, "
                             f"{seconds:.0f} s phases; {os.cpu_count()} CPUs, load "
                             f"average {busy:.1f} at the start"),
        _p95_figure(p95),
    ]


def _p95_figure(p95: dict[str, float]) -> Figure:
    return Figure(f"p95 latency at {CLIENTS} clients, 2 servers (1 server)", "-",
                  f"{p95['two'] * 1000:.0f} ms ({p95['one'] * 1000:.0f} ms)", None)


def run(quick: bool) -> list[Any]:
    return two_servers_against_one(quick)
