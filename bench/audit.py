"""Issue 4 (audit trail): what the trail costs, each figure a ratio measured side by side.

1. A staff member opens a customer page (``GET /admin/customers/<id>`` inside a live access
   session) with the trail recording the view, against the very same view with the trail's
   append switched off. The access-session gate still runs, so it is the same page, queries
   and all; the difference is the chained, HMAC'd entry and the write that commits it.
   Target: at most 1.2x. The panel runs SQLite in WAL mode with synchronous=NORMAL
   (panel/app.py), as here: with the rollback journal, or WAL with an fsync per commit, the
   durable commit of each entry cost 1.3-1.5x. The entry itself is three prebuilt statements.
2. ``panel audit verify`` (``trail.verify``) over 1,000,000 entries against a plain
   ``SELECT * ... ORDER BY seq`` of the same rows, fetched in the same keyset pages, so the
   ratio is the chain work (canonical JSON and one HMAC per entry), not the paging.
   Target: at most 3x.

Run with ``python -m bench --only audit [--quick]``.
"""

from __future__ import annotations

import contextlib
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from bench.common import (
    Figure,
    IsolatedClient,
    fmt_time,
    no_gc,
    paired,
    paired_figure,
    post_form,
    scratch_panel,
)
from panel.accounts.services import create_subscriber
from panel.auth.models import STAFF, User
from panel.auth.passwords import hash_password
from panel.billing.models import Invoice, Service
from panel.crypto import current_keyring
from panel.domains.models import CONTACT_ROLES, Domain, DomainContact
from panel.extensions import db
from plugins.privacy.access.models import GENESIS, AuditEntry, AuditHead
from plugins.privacy.access.services import sessions as access
from plugins.privacy.access.services import trail

PASSWORD = "bench horse battery staple"


# ------------------------------------------------------------------ 1. a staff page view


def _seed_customer() -> Any:
    """A customer as support meets them: contact details, a few domains, a service, invoices."""
    user = create_subscriber(email="henrietta@example.com", password=None,
                             password_hash=hash_password(PASSWORD), actor=None,
                             first_name="Henrietta", last_name="Swan", phone="+442079460123",
                             company="Swan Trading Ltd", address1="1 High Street",
                             city="London", postcode="SW1A 1AA", country="GB")
    account = user.account
    for n in range(3):
        domain = Domain(account_id=account.id, name=f"swan-{n}.test",
                        registered_on=date(2020, 1, 1), expires_on=date(2030, 1, 1),
                        nameservers="ns1.panel.test ns2.panel.test", privacy_enabled=True)
        for role in CONTACT_ROLES:
            domain.contacts.append(DomainContact(
                role=role, name=f"{role.title()} Person", organization=None,
                email=f"{role}@swan-{n}.test", phone="+442079460000", street="1 High Street",
                city="London", state=None, postcode="SW1A 1AA", country="GB"))
        db.session.add(domain)
    db.session.add(Service(account_id=account.id, product="Shared hosting", status="active",
                           started_on=date(2023, 1, 1), price_cents=500))
    for n in range(6):
        issued = date(2024, 1 + n, 1)
        db.session.add(Invoice(account_id=account.id, number=f"INV-B{n:06d}", issued_on=issued,
                               due_on=issued + timedelta(days=14), status="paid",
                               total_cents=500, description="Web hosting",
                               billing_name="Swan Trading Ltd",
                               billing_address="1 High Street, London", billing_tax_id=None))
    db.session.commit()
    return account


def _staff_client(app: Flask) -> tuple[FlaskClient, str]:
    """Seed a customer and a staff member (with an authenticator secret), sign the staff
    member in through both steps, open an access session; return the client and the URL."""
    account = _seed_customer()
    secret = pyotp.random_base32()
    staff = User(role=STAFF, email="grace@panel.test", display_name="Grace Support",
                 password_hash=hash_password(PASSWORD), totp_secret=secret)
    db.session.add(staff)
    db.session.commit()
    access.request_access(staff, account, reason="support", ticket="T-4711",
                          note="Customer cannot reach their site", minutes=access.MAX_MINUTES)
    url = f"/admin/customers/{account.id}"
    db.session.close()

    app.test_client_class = IsolatedClient
    client = app.test_client()
    response = post_form(client, "/login", {"email": "grace@panel.test", "password": PASSWORD})
    assert response.headers.get("Location", "").endswith("/login/verify"), response.status
    response = post_form(client, "/login/verify", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(url)
    assert page.status_code == 200 and "Henrietta" in page.get_data(as_text=True), page.status
    return client, url


@contextlib.contextmanager
def trail_off() -> Iterator[None]:
    """The privacy plugin's ``panel_audit_event`` hook still runs; its append does nothing."""
    real = trail.append
    trail.append = lambda event: None  # type: ignore[assignment,return-value]
    try:
        yield
    finally:
        trail.append = real  # type: ignore[assignment]


def _entries_count() -> int:
    count = db.session.execute(select(db.func.count()).select_from(AuditEntry)).scalar_one()
    db.session.close()
    return int(count)


def _clock(fn: Callable[[], None]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one call, the collector held off."""
    with no_gc():
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        return time.perf_counter() - wall, time.process_time() - cpu


def _wal(app: Flask) -> None:
    """Switch the scratch database to SQLite's write-ahead log (it stays on the file)."""
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode=WAL").scalar() == "wal"
    db.engine.dispose()


def staff_view(quick: bool, *, wal: bool = False, **config: Any) -> Figure:
    views = 40 if quick else 200
    rounds = 5 if quick else 9
    with scratch_panel(**config) as app:
        if wal:
            _wal(app)
        client, url = _staff_client(app)

        def browse() -> None:
            for _ in range(views):
                response = client.get(url)
                assert response.status_code == 200, response.status_code

        def without() -> None:
            with trail_off():
                browse()

        dialect = db.engine.dialect.name
        before = _entries_count()
        browse()  # warm-up: templates compiled, statements cached, pages in the OS cache
        without()
        assert _entries_count() == before + views, "the trail did not record the views"
        cpu: dict[Any, list[float]] = {browse: [], without: []}

        def wall(fn: Callable[[], None]) -> float:
            seconds, processor = _clock(fn)
            cpu[fn].append(processor)
            return seconds

        result = paired(browse, without, repeats=rounds, measure=wall)
        assert _entries_count() == before + views * (result.repeats + 1), \
            "views lost or recorded twice"
        verdict = trail.verify()
        db.session.close()
        assert verdict.ok, verdict.message
    w_on, w_off = result.median(0) / views, result.median(1) / views
    c_on, c_off = (statistics.median(cpu[fn]) / views for fn in (browse, without))
    detail = (f"{fmt_time(w_on)} vs {fmt_time(w_off)} per view, CPU {fmt_time(c_on)} vs "
              f"{fmt_time(c_off)}; {views} GETs a side")
    if wal:
        return paired_figure("same view, SQLite in WAL mode (not the panel's default)", result,
                             detail=detail + "; for context, no target")
    where = "SQLite in WAL mode (the panel's default)" if dialect == "sqlite" else dialect
    return paired_figure("staff customer-page view, trail on vs off", result, at_most=1.2,
                         detail=f"{detail}, {where}")


# ------------------------------------------------------------------ 2. verify the chain


ACTIONS = [  # (action, actor kind, object, fields), roughly as often as a panel produces them
    ("account.view", "staff", "customer page", []),
    ("account.view", "staff", "customer page", []),
    ("account.view", "staff", "customer page", []),
    ("user.login", "subscriber", "sign-in", []),
    ("user.login", "subscriber", "sign-in", []),
    ("account.update", "subscriber", "account contact details", ["phone", "address1", "city"]),
    ("domain_contact.update", "subscriber", "domain {d} contact admin", ["email", "phone"]),
    ("access.start", "staff", "access session {s}", []),
    ("credential.reveal", "staff", "ssh credential {c}", ["secret"]),
    ("access.expire", "system", "access session {s}", []),
]
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
]
STAFF_NAMES = ["Grace Support", "Alan Support", "Zoë Müller", "Ngozi Okafor", "山田 太郎"]


def _rows(n: int, batch: int) -> Iterator[list[dict[str, Any]]]:
    """``n`` valid, chained entries in batches of rows for ``AuditEntry.__table__``, hashed
    exactly as ``trail.append`` hashes them (the IP sealed, the chain over its digest)."""
    ring = current_keyring()
    key = ring.audit_key()
    rnd = random.Random(4)
    staff = [(uuid.uuid4(), name) for name in STAFF_NAMES]
    customers = [(uuid.uuid4(), uuid.uuid4()) for _ in range(5_000)]  # (user id, account id)
    sessions = [uuid.uuid4() for _ in range(2_000)]
    ips = [f"203.0.113.{i}" for i in range(1, 255)] + [f"2001:db8::{i:x}" for i in range(1, 200)]
    digests = {ip: ring.blind_index(AuditEntry.__tablename__, "ip", ip) for ip in ips}
    start = datetime(2025, 1, 1, tzinfo=UTC)
    prev = GENESIS
    out: list[dict[str, Any]] = []
    for seq in range(1, n + 1):
        action, kind, obj, fields = ACTIONS[seq % len(ACTIONS)]
        user_id, account_id = customers[rnd.randrange(len(customers))]
        session_id = reason = ticket = None
        if kind == "staff":
            actor_id, label = staff[seq % len(staff)]
            session_id, reason, ticket = sessions[seq % len(sessions)], "support", f"T-{seq % 9000}"
        elif kind == "subscriber":
            actor_id, label = user_id, "Ada Lovelace"
        else:
            actor_id, label = None, "system"
        ip = None if kind == "system" else ips[seq % len(ips)]
        row_id = uuid.uuid4()
        row = {"id": row_id, "seq": seq,
               "at": start + timedelta(seconds=seq * 20, microseconds=rnd.randrange(1_000_000)),
               "actor_id": actor_id, "actor_role": kind, "actor_label": label,
               "on_behalf_of": None, "account_id": account_id, "action": action,
               "object": obj.format(d=f"swan-{seq % 7}.test", s=session_id, c=row_id),
               "fields": fields, "reason_code": reason, "ticket": ticket,
               "session_id": session_id,
               "ip": ring.seal(ip, AuditEntry.ip.aad(row_id)) if ip else None,
               "ip_digest": digests[ip] if ip else None,
               "user_agent": None if ip is None else USER_AGENTS[seq % len(USER_AGENTS)],
               "request_id": None if ip is None else uuid.uuid4().hex,
               "result": "ok", "prev_hash": prev}
        row["entry_hash"] = prev = trail.chain_hash(key, prev, trail.canonical(SimpleNamespace(**row)))
        out.append(row)
        if len(out) == batch:
            yield out
            out = []
    if out:
        yield out


def fill(n: int, batch: int = 50_000) -> str:
    """Write ``n`` chained entries with executemany and set the head; return the head hash."""
    table = AuditEntry.__table__
    head = GENESIS
    for rows in _rows(n, batch):
        with db.engine.begin() as conn:
            conn.execute(table.insert(), rows)
        head = rows[-1]["entry_hash"]
    with db.engine.begin() as conn:
        conn.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=n, head_hash=head))
        if db.engine.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
    return head


def plain_select(batch: int = trail.VERIFY_BATCH) -> int:
    """The rows verify reads, read the way verify reads them, and nothing else done."""
    table = AuditEntry.__table__
    last, n = 0, 0
    while True:
        rows = db.session.execute(select(table).where(table.c.seq > last)
                                  .order_by(table.c.seq).limit(batch)).all()
        if not rows:
            return n
        for _row in rows:
            n += 1
        last = rows[-1].seq


def verify_cost(quick: bool) -> Figure:
    n = 100_000 if quick else 1_000_000
    rounds = 5
    with scratch_panel():
        start = time.perf_counter()
        head = fill(n)
        filled = time.perf_counter() - start
        results: list[trail.Verdict] = []

        def plain() -> None:
            assert plain_select() == n
            db.session.close()

        def verify() -> None:
            results.append(trail.verify())
            db.session.close()

        plain()  # warm-up: the whole table into the OS cache, the statement compiled
        result = paired(verify, plain, repeats=rounds)
        for verdict in results:
            assert verdict.ok and verdict.checked == n, verdict.message
        assert head[:16] in results[-1].message
    ours, base = result.median(0), result.median(1)
    return paired_figure(
        f"audit verify over {n:,} entries vs plain SELECT", result, at_most=3.0,
        detail=f"{fmt_time(ours)} vs {fmt_time(base)}, verdict ok; fill took {filled:.0f} s")


def run(quick: bool) -> list[Figure]:
    return [staff_view(quick), verify_cost(quick)]
