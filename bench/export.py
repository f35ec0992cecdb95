"""Issue 5 (subscriber privacy center): the data export (P06) against a plain SELECT.

A subscriber with 50,000 sign-in entries and 2,000 invoices (10,000 and 2,000 with --quick).
Each format is written by the streaming export service to a file, and timed against a plain
SELECT that fetches the same rows of the same tables in this run (no decryption, no writing).
Target: at most 2x the time for the HTML document (3x for JSON and the ZIP of CSV files), the
median of paired, interleaved runs; and peak memory under 20 MB while exporting (tracemalloc,
in a separate run so its overhead does not land in the timing).

Run with ``python -m bench --only export [--quick]``.
"""

from __future__ import annotations

import tempfile
import tracemalloc
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from bench.common import Figure, fmt_time, paired, paired_figure, scratch_panel
from panel.accounts.models import Account
from panel.accounts.services import create_subscriber
from panel.billing.models import Invoice, PaymentMethod, Service
from panel.crypto.keyring import current_holder
from panel.db_types import utcnow
from panel.domains.models import CONTACT_ROLES, Domain, DomainContact
from panel.extensions import db
from plugins.privacy.access.models import AccessSession, AuditEntry, SupportCredential
from plugins.privacy.center.services import export
from plugins.privacy.processing.services import count
from plugins.privacy.retention.models import SigninEvent

MEMORY_LIMIT_MB = 20
TARGETS = {"json": 3.0, "zip": 3.0, "html": 2.0}  # at most this many times a plain SELECT
BROWSERS = ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36")


def _subscriber(signins: int, invoices: int) -> Account:
    """One subscriber with realistic, sealed data: the sign-ins and invoices in bulk."""
    user = create_subscriber(email="heavy.user@example.test", password=None, password_hash="x",
                             first_name="Ada", last_name="Lovelace", phone="+44 20 7946 0000",
                             actor=None, city="London", country="GB", address1="1 High Street")
    account = user.account
    assert account is not None
    for n in range(3):
        domain = Domain(account_id=account.id, name=f"lovelace{n}.test", registered_on=date(2020, 1, 1),
                        expires_on=date(2030, 1, 1), nameservers="ns1.panel.test")
        for role in CONTACT_ROLES:
            domain.contacts.append(DomainContact(role=role, name="Ada Lovelace", email="ada@example.test",
                                                 phone="+442079460000", street="1 High Street",
                                                 city="London", postcode="SW1A 1AA", country="GB"))
        db.session.add(domain)
        db.session.add(Service(account_id=account.id, product="Shared hosting",
                               domain_name=domain.name, started_on=date(2020, 1, 1), price_cents=500))
    db.session.add(PaymentMethod(account_id=account.id, gateway="stripe", gateway_token="tok_x",
                                 brand="visa", last4="4242", exp_month=12, exp_year=2030))
    db.session.commit()
    ring = current_holder().get()
    start = utcnow() - timedelta(days=80)
    for first in range(0, signins, 10_000):
        rows = []
        for i in range(first, min(first + 10_000, signins)):
            rid = uuid.uuid4()
            rows.append({"id": rid, "user_id": user.id, "account_id": account.id,
                         "at": start + timedelta(seconds=i * 97),
                         "ip": ring.seal(f"198.51.{i % 256}.{i * 7 % 256}", SigninEvent.ip.aad(rid)),
                         "user_agent": BROWSERS[i % 3], "referrer": "https://panel.example/login",
                         "method": "password" if i % 4 else "password+totp"})
        db.session.execute(insert(SigninEvent.__table__), rows)  # by column: ip is sealed
    rows = []
    for i in range(invoices):
        rid = uuid.uuid4()
        issued = date(2020, 1, 1) + timedelta(days=i)
        rows.append({"id": rid, "account_id": account.id, "number": f"INV-{i:07d}",
                     "issued_on": issued, "due_on": issued + timedelta(days=14), "status": "paid",
                     "currency": "GBP", "total_cents": 1000 + i, "description": "Web hosting",
                     "billing_name": ring.seal("Ada Lovelace", Invoice.billing_name.aad(rid)),
                     "billing_address": ring.seal("1 High Street, London SW1A 1AA",
                                                  Invoice.billing_address.aad(rid)),
                     "billing_tax_id": ring.seal("GB123456789", Invoice.billing_tax_id.aad(rid)),
                     "created_at": utcnow()})
    db.session.execute(insert(Invoice.__table__), rows)
    db.session.commit()
    # An ORM insert keyed "ip" drops it silently (the attribute is the column ``_ip``): every
    # sealed value must really be there, or the export would decrypt nothing.
    sealed = (count(SigninEvent, SigninEvent.account_id == account.id, SigninEvent._ip.is_not(None))
              + count(Invoice, Invoice.account_id == account.id, Invoice._billing_name.is_not(None)))
    assert sealed == signins + invoices, sealed
    if db.engine.dialect.name == "postgresql":
        # What autovacuum does within a minute of a bulk load, so the tables are as a running
        # panel's are: with no statistics yet, the planner takes the 10,000 sign-ins for 10
        # and reads and sorts all of them for the export's first page of 1,000.
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return account


def _plain_select(account: Account) -> int:
    """The baseline: every row the export reads, fetched with plain SELECTs and nothing else."""
    aid = account.id
    domain_ids = select(Domain.id).where(Domain.account_id == aid)
    n = 0
    with db.engine.connect() as conn:
        for table, where in (
                (Account.__table__, Account.__table__.c.id == aid),
                (Domain.__table__, Domain.__table__.c.account_id == aid),
                (DomainContact.__table__, DomainContact.__table__.c.domain_id.in_(domain_ids)),
                (Service.__table__, Service.__table__.c.account_id == aid),
                (Invoice.__table__, Invoice.__table__.c.account_id == aid),
                (PaymentMethod.__table__, PaymentMethod.__table__.c.account_id == aid),
                (SupportCredential.__table__, SupportCredential.__table__.c.account_id == aid),
                (AccessSession.__table__, AccessSession.__table__.c.account_id == aid),
                (AuditEntry.__table__, AuditEntry.__table__.c.account_id == aid),
                (SigninEvent.__table__, SigninEvent.__table__.c.account_id == aid)):
            n += len(conn.execute(select(table).where(where)).all())
    return n


KEY = bytes(32)  # the benchmark's file key; real exports get a fresh random one


def _peak_mb(account: Account, fmt: str, path: Path) -> float:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        export.write(account, fmt, path, KEY, "bench")
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def run(quick: bool) -> list[Figure]:
    return export_figures(quick)


def export_figures(quick: bool, **config: Any) -> list[Figure]:
    signins, invoices = (10_000, 2_000) if quick else (50_000, 2_000)
    figures: list[Figure] = []
    with scratch_panel(PLUGINS="privacy", BASE_URL="http://localhost", **config) as app, \
            app.test_request_context(), tempfile.TemporaryDirectory(prefix="export-") as tmp:
        account = _subscriber(signins, invoices)
        account_id = account.id
        expected = _plain_select(account)
        for fmt in ("json", "zip", "html"):
            path = Path(tmp) / f"out.{fmt}"
            rows: list[int] = []

            def ours(fmt: str = fmt, path: Path = path, rows: list[int] = rows) -> None:
                account = db.session.get(Account, account_id)
                assert account is not None
                rows.append(export.write(account, fmt, path, KEY, "bench"))  # encrypted, as served
                db.session.close()

            def plain() -> None:
                _plain_select(db.session.get(Account, account_id))  # type: ignore[arg-type]
                db.session.close()

            ours()  # warm-up: templates compiled, statements cached, pages in the OS cache
            result = paired(ours, plain)
            t_ours, t_plain = result.median(0), result.median(1)
            assert rows[-1] >= expected - 1, (rows[-1], expected)  # the profile is one row
            size = path.stat().st_size / 1e6
            figures.append(paired_figure(
                f"export {fmt.upper()}: {signins:,} sign-ins + {invoices:,} invoices vs plain SELECT",
                result, at_most=TARGETS[fmt],
                detail=f"{fmt_time(t_ours)} vs {fmt_time(t_plain)}, {rows[-1]:,} rows, {size:.1f} MB"))
            peak = _peak_mb(db.session.get(Account, account_id), fmt, path)  # type: ignore[arg-type]
            db.session.close()
            figures.append(Figure(f"export {fmt.upper()}: peak memory while exporting",
                                  f"< {MEMORY_LIMIT_MB} MB", f"{peak:.1f} MB (tracemalloc)",
                                  peak < MEMORY_LIMIT_MB, value=peak))
    return figures
