"""Several app servers on one PostgreSQL and one Redis, tested for real (issue 17).

PostgreSQL, ``redis-server``, two gunicorn servers on their own ports (one database, one
instance folder and keys, ``PANEL_REDIS_URL`` set) and the WHOIS server, all started here.
Then: a limit counts across both servers; a sign-in on one is valid on the other and a
sign-out on one ends it on both; `panel cron` started on both at once runs each job once; a
key rotation while both serve 100 clients of every role gives no error and no wrong answer;
killing one server mid-load loses no write it accepted. The tests share the servers and run
in file order (the last one kills a server). ``pytest -m multiserver`` selects them.
"""

from __future__ import annotations

import html
import json
import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select

from panel.accounts.models import CONTACT_FIELDS
from panel.auth.models import SUBSCRIBER, User
from panel.extensions import db
from tests.cluster import Browser, Cluster, Reply, load, redis_server, whois
from tests.pg import PostgresServer

pytestmark = pytest.mark.multiserver

PASSWORD = "demo-password"
CLIENTS = 100
INPUT_RE = re.compile(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"')
ROW_RE = re.compile(r'<td[^>]*>(\d+)</td>\s*<td[^>]*><a href="/(?:reseller|admin)/customers/([0-9a-f-]+)">'
                    r"([^<]*)</a>")


@dataclass
class Customer:
    email: str
    number: int
    account_id: str
    reseller: str | None
    contact: dict[str, str]

    @property
    def name(self) -> str:
        return f"{self.contact['first_name']} {self.contact['last_name']}"


@dataclass
class Person:
    """A demo login, signed in once (a second step's code is good once per 30 s); the clients
    acting for it share that session from the same address, like tabs of one browser (the
    session is bound to its address and browser)."""

    email: str
    role: str
    ip: str
    cookies: dict[str, str]
    customer: Customer | None = None


@dataclass
class Writes:
    """What one writing client sent and what the servers acknowledged (2xx/3xx)."""

    acked: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)


class Panel:
    """The cluster, its demo logins and the truth read straight from the database."""

    def __init__(self, cluster: Cluster, logins: list[dict[str, Any]], whois_port: int) -> None:
        self.cluster, self.logins, self.whois_port = cluster, logins, whois_port
        self.app = cluster.open_app()

    @property
    def ports(self) -> list[int]:
        return [s.port for s in self.cluster.servers if s.proc.poll() is None]

    def secret(self, email: str) -> str | None:
        return next(item.get("totp_secret") for item in self.logins if item["email"] == email)

    def customers(self) -> dict[str, Customer]:
        with self.app.app_context():
            found = {}
            for user in db.session.execute(select(User).where(User.role == SUBSCRIBER)).scalars():
                account = user.account
                found[user.email] = Customer(
                    user.email, account.number, str(account.id),
                    account.reseller.email if account.reseller else None,
                    {f: getattr(account, f) or "" for f in CONTACT_FIELDS})
            db.session.remove()
            return found

    def user_exists(self, email: str) -> bool:
        with self.app.app_context():
            found = db.session.execute(select(User.id).where(User.email.matches(email))).first()
            db.session.remove()
            return found is not None


@pytest.fixture(scope="module")
def panel(pg_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Panel]:
    name = f"multi_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.url().replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    with redis_server() as redis_url:
        cluster = Cluster(pg_server.url(name), tmp_path_factory.mktemp("multi"), redis_url)
        try:
            cluster.setup()
            logins = json.loads(cluster.panel("demo", "--json").stdout)
            cluster.start_servers(2)
            yield Panel(cluster, logins, cluster.start_whois())
        finally:
            cluster.stop()


def _form(reply: Reply) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in INPUT_RE.findall(reply.text)}


def test_a_limit_counts_across_both_servers(panel: Panel) -> None:
    """Five wrong passwords a minute per account, in all: not five per server."""
    a, b = panel.ports
    answers = []
    for attempt in range(8):
        browser = Browser([a, b], f"10.1.0.{attempt + 1}")  # the per-address limit stays out
        reply = browser.post_form("/login", {"email": "nobody@example.net", "password": "wrong"},
                                  port=(a, b)[attempt % 2])
        answers.append(reply.status)
    assert answers[:5] == [200] * 5, answers
    assert answers[5:] == [429] * 3, f"{answers}: the servers count separately"


def test_a_sign_in_on_one_server_holds_on_the_other_and_a_sign_out_ends_it_on_both(
        panel: Panel) -> None:
    a, b = panel.ports
    browser = Browser([a, b], "10.2.0.1")
    assert browser.sign_in("client3@demo.test", PASSWORD, port=a).location == "/client/"
    first = panel.customers()["client3@demo.test"].contact["first_name"]
    page = browser.get("/client/", port=b)
    assert page.status == 200 and f"Welcome, {html.escape(first)}" in page.text
    copied = dict(browser.cookies)  # a copy of the cookie, as someone who took it would keep
    out = browser.post_form("/logout", {}, port=a, token_from="/client/")
    assert out.location == "/login/harbour-web"  # client3's reseller's brand: Harbour Web
    for port in (a, b):
        again = Browser([port], "10.2.0.1", copied).get("/client/", port=port)
        assert again.status == 302 and again.location == "/login", (port, again.status)


def test_cron_started_on_both_servers_at_once_runs_each_job_once(panel: Panel) -> None:
    subjects = [f"multi-server cron check {n}" for n in range(60)]
    with panel.app.app_context():
        from panel.mail.outbox import queue

        for subject in subjects:
            queue(to="client1@demo.test", subject=subject, body="One copy only, please.")
        db.session.commit()
        db.session.remove()
    runs = [panel.cluster.panel_async("cron") for _ in range(2)]
    outputs = []
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        outputs.append(out)
    lines = [line.split(":", 1)[0] for out in outputs for line in out.splitlines()
             if ":" in line and not line.startswith("another")]
    assert lines, outputs
    assert [job for job, n in Counter(lines).items() if n > 1] == [], outputs
    delivered = Counter()
    for path in (panel.cluster.instance / "mail").rglob("*"):
        if path.is_file() and path.parent.name in ("new", "cur"):
            match = re.search(r"^Subject: (multi-server cron check \d+)$",
                              path.read_text(errors="replace"), re.M)
            if match:
                delivered[match.group(1)] += 1
    assert delivered == Counter(subjects), "a message went out twice, or not at all"


def _sign_in_everyone(panel: Panel) -> list[Person]:
    customers = panel.customers()

    def sign_in(n: int) -> Person:
        item = panel.logins[n]
        browser = Browser(panel.ports, f"10.3.{n // 200}.{n % 200 + 1}")
        reply = browser.sign_in(item["email"], PASSWORD, panel.secret(item["email"]),
                                port=panel.ports[n % len(panel.ports)])
        assert reply.status == 302, (item["email"], reply.status)
        browser.close()
        return Person(item["email"], item["role"], browser.ip, browser.cookies,
                      customers.get(item["email"]))

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(sign_in, range(len(panel.logins))))


class Mix:
    """The load: 100 clients over every demo login (subscribers, resellers, staff, admin).
    Each checks that what it reads is the signed-in person's own data, and the first client of
    each subscriber and reseller also writes: its profile, or a new customer."""

    def __init__(self, panel: Panel, people: list[Person]) -> None:
        self.panel, self.people = panel, people
        self.customers = [p.customer for p in people if p.customer]
        self.writes: dict[int, Writes] = {}
        self.dead: set[int] = set()  # ports of servers killed on purpose

    def clients(self) -> list[Browser]:
        people = [self.people[i % len(self.people)] for i in range(CLIENTS)]
        return [Browser(self.panel.ports, p.ip, p.cookies) for p in people]

    def step(self, i: int, browser: Browser) -> None:
        person = self.people[i % len(self.people)]
        writer = i < len(self.people)
        try:
            {"subscriber": self.subscriber, "reseller": self.reseller}.get(
                person.role, self.staff)(i, browser, person, writer)
        except (OSError, ConnectionError) as exc:
            if browser.last_port not in self.dead:
                raise
            browser.ports = [p for p in browser.ports if p not in self.dead]  # as a proxy would
            assert browser.ports, f"no server left: {exc}"

    def subscriber(self, i: int, browser: Browser, person: Person, writer: bool) -> None:
        expected = person.customer
        assert expected is not None
        page = browser.get("/client/profile", port=browser.next_port())
        if page.status != 200:
            raise RuntimeError(f"/client/profile answered {page.status}")
        shown = _form(page)
        for name in ("first_name", "last_name", "phone", "city"):
            assert shown.get(name) == expected.contact[name], \
                f"{person.email} was shown {name}={shown.get(name)!r}"
        writes = self.writes.setdefault(i, Writes())
        if writer and writes.acked:
            assert shown.get("address2") == writes.acked[-1], \
                f"{person.email}'s own accepted write is not shown: {shown.get('address2')!r}"
        overview = browser.get("/client/", port=browser.next_port())
        if overview.status != 200:
            raise RuntimeError(f"/client/ answered {overview.status}")
        assert f"<dt>Client id</dt><dd>{expected.number}</dd>" in overview.text, \
            f"{person.email} was shown another client id"
        assert f"Welcome, {html.escape(expected.contact['first_name'])}<" in overview.text, \
            f"{person.email} was welcomed by another name"
        if writer:
            value = f"Suite {i}-{uuid.uuid4().hex[:8]}"
            writes.sent.append(value)
            form = {**expected.contact, "address2": value, "csrf_token": shown["csrf_token"]}
            reply = browser.request("POST", "/client/profile", port=browser.next_port(),
                                    form=form)
            if reply.status != 302:
                problems = re.findall(r'<p class="error"[^>]*>([^<]*)', reply.text)
                raise RuntimeError(f"saving the profile answered {reply.status}: {problems}")
            writes.acked.append(value)

    def reseller(self, i: int, browser: Browser, person: Person, writer: bool) -> None:
        page = browser.get("/reseller/", port=browser.next_port())
        if page.status != 200:
            raise RuntimeError(f"/reseller/ answered {page.status}")
        shown = {int(n): html.unescape(name) for n, _, name in ROW_RE.findall(page.text)}
        own = {c.number: c.name for c in self.customers if c.reseller == person.email}
        others = {c.number for c in self.customers if c.reseller != person.email}
        assert own and all(shown.get(n) == name for n, name in own.items()), \
            f"{person.email} did not see its own customers as they are"
        assert not others & set(shown), f"{person.email} was shown another's customers"
        if writer and random.random() < 0.5:
            email = f"load-{uuid.uuid4().hex[:12]}@example.net"
            writes = self.writes.setdefault(i, Writes())
            writes.sent.append(email)
            reply = browser.post_form("/reseller/add-customer", {
                "email": email, "first_name": "Load", "last_name": "Customer",
                "phone": "+442079460958"})
            if reply.status != 302:
                raise RuntimeError(f"adding a customer answered {reply.status}")
            writes.acked.append(email)

    def staff(self, i: int, browser: Browser, person: Person, writer: bool) -> None:
        wanted = random.choice(self.customers)
        reply = browser.post_form("/admin/", {"q": wanted.email})
        if reply.status != 200:
            raise RuntimeError(f"the customer search answered {reply.status}")
        found = [(int(n), account) for n, account, _ in ROW_RE.findall(reply.text)]
        assert found == [(wanted.number, wanted.account_id)], \
            f"{person.email} searched for client {wanted.number} and got {found}"




def _whois_checks(panel: Panel, stop: threading.Event, problems: list[str]) -> None:
    """The WHOIS server answers throughout (kept under its per-address limit)."""
    while not stop.wait(2.0):
        try:
            answer = whois(panel.whois_port, "client1-site1.example")
            if "CLIENT1-SITE1.EXAMPLE" not in answer.upper():
                problems.append(f"WHOIS answered {answer[:200]!r}")
        except OSError as exc:
            problems.append(f"WHOIS: {exc}")


def _report(tally: Any) -> str:
    return (f"{tally.requests} requests, {tally.per_second:.0f}/s, p95 {tally.p95() * 1000:.0f} "
            f"ms; errors {tally.error_count}: {tally.errors[:5]}; wrong {tally.wrong_count}: "
            f"{tally.wrong[:5]}")


@pytest.fixture(scope="module")
def people(panel: Panel) -> list[Person]:
    return _sign_in_everyone(panel)


def test_a_key_rotation_under_load_on_both_servers_gives_no_error_and_no_wrong_answer(
        panel: Panel, people: list[Person]) -> None:
    mix = Mix(panel, people)
    stop, whois_problems = threading.Event(), []
    watcher = threading.Thread(target=_whois_checks, args=(panel, stop, whois_problems))
    watcher.start()
    try:
        with load(mix.clients(), mix.step) as tally:
            time.sleep(3)
            rotation = panel.cluster.panel_async("keys", "rotate", "--batch-size", "25",
                                                 "--pause", "0.05", "--settle-seconds", "5")
            out, err = rotation.communicate(timeout=150)
            time.sleep(2)  # and on for a moment under the new key
    finally:
        stop.set()
        watcher.join()
    assert rotation.returncode == 0, err
    assert "verified: every stored value is under key" in out, out
    assert tally.error_count == 0 and tally.wrong_count == 0, _report(tally)
    assert whois_problems == []
    writes = [w for w in mix.writes.values() if w.acked]
    assert tally.requests > 300 and len(writes) >= 10, _report(tally)
    _check_writes(panel, mix)


def _check_writes(panel: Panel, mix: Mix) -> list[str]:
    """Every accepted write is in the database: the new customers all exist, and each profile
    holds its writer's last accepted value (or the one sent after it, if that reached the
    database but its answer was lost with the server)."""
    customers = panel.customers()
    lost = []
    for i, writes in mix.writes.items():
        person = mix.people[i % len(mix.people)]
        if person.role == "reseller":
            lost += [email for email in writes.acked if not panel.user_exists(email)]
        elif writes.acked:
            stored = customers[person.email].contact["address2"]
            sent_after = writes.sent[writes.sent.index(writes.acked[-1]) + 1:]
            if stored not in [writes.acked[-1], *sent_after[:1]]:
                lost.append(f"{person.email}: {stored!r}, last accepted {writes.acked[-1]!r}")
    assert lost == [], f"accepted writes missing from the database: {lost[:10]}"
    return lost


def test_killing_one_server_mid_load_loses_no_accepted_write(panel: Panel,
                                                            people: list[Person]) -> None:
    mix = Mix(panel, people)
    victim = panel.cluster.servers[1]
    with load(mix.clients(), mix.step) as tally:
        time.sleep(4)
        mix.dead.add(victim.port)
        victim.kill()
        time.sleep(1)
        before = sum(len(w.acked) for w in mix.writes.values())
        deadline = time.monotonic() + 20  # a busy machine: give the survivor time to accept one
        after = before
        while after <= before and time.monotonic() < deadline:
            time.sleep(1)
            after = sum(len(w.acked) for w in mix.writes.values())
    assert tally.error_count == 0 and tally.wrong_count == 0, _report(tally)
    assert after > before, "the remaining server accepted no write after the kill"
    _check_writes(panel, mix)
    assert not Path(victim.log).read_text().count("Traceback"), victim.log.read_text()[-2000:]
