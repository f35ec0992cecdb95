"""Issue 8 (retention and visitor logs): each figure a ratio measured side by side.

1. The retention purge deleting 1,000,000 expired sign-in rows out of 2,000,000, in bounded
   batches (one short transaction each), against one bulk ``DELETE ... WHERE at < cutoff`` of
   the same rows. Target: at most 2x. Also the longest single purge transaction: target under
   1,000 ms (the bulk DELETE holds the write lock for its whole run). The rows carry
   time-ordered ids (UUIDv7, as the panel makes them), so a batch deletes neighbouring entries
   of the id index; with random UUIDv4 ids every batch touched nearly every page (4.6x at
   quick size, 3.55x full). On SQLite each side's time ends with a WAL checkpoint, so neither
   leaves its writes for the next statement to pay.
2. ``panel logs import`` of a 1,000,000-line gzip access log against ``gzip -dc FILE | wc -l``
   of the same file; the figure is wc time / import time. Target: at least 0.3x. The log has
   a realistic spread of visitors (50,000 addresses, a few very frequent), 28 days.

Quick mode uses a tenth of the rows and 300,000 lines: at 100,000 the import's fixed costs
(hashing the file, starting its parser processes, writing 28 days of figures) were most
of its time, against a ``wc`` that has none: the quick figure measured set-up, not import.
Run with ``python -m bench --only retention``.
"""

from __future__ import annotations

import gzip
import random
import subprocess
import tempfile
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, text

from bench.common import MIN_REPEATS, Figure, fmt_time, paired, paired_figure, scratch_panel
from panel.auth.models import User
from panel.db_types import uuid7
from panel.domains.models import Domain
from panel.extensions import db
from plugins.privacy.retention.models import SigninEvent
from plugins.privacy.retention.services import schedule as retention
from plugins.privacy.retention.services import visitor_logs

INSERT_BATCH = 50_000


def _insert_signins(user_id: uuid.UUID, count: int, at: datetime) -> None:
    """Rows as the panel makes them: time-ordered ids (uuid7) from their own time."""
    table = SigninEvent.__table__
    with db.engine.begin() as conn:  # the table's own types: the same on both backends
        for start in range(0, count, INSERT_BATCH):
            rows = [{"id": uuid7(at), "user_id": user_id, "at": at, "method": "password"}
                    for _ in range(min(INSERT_BATCH, count - start))]
            conn.execute(table.insert(), rows)


def _settled() -> None:
    """Write the log into the database file (SQLite WAL checkpoint), so each side of the
    comparison pays for its own writes, not the next statement after the clock stops."""
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _clean() -> None:
    """Before a timed side: the table as a fresh one (PostgreSQL: the rows the other side
    deleted vacuumed away, so neither walks the other's dead index entries)."""
    _settled()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE privacy_signin_event")


def _purge(quick: bool, **config: Any) -> list[Figure]:
    total = 200_000 if quick else 2_000_000
    expired = total // 2
    now = datetime.now(UTC)
    old, fresh = now - timedelta(days=200), now - timedelta(days=1)
    with scratch_panel(**config) as app:
        user = User(role="staff", email="bench@example.com", password_hash="x")
        db.session.add(user)
        db.session.commit()
        _insert_signins(user.id, expired, old)
        _insert_signins(user.id, total - expired, fresh)
        cutoff = now - timedelta(days=int(app.config["RETENTION_LOG_DAYS"]))
        with db.engine.begin() as conn:  # the expired rows, kept aside to put back in SQL
            conn.execute(text("CREATE TABLE bench_expired AS SELECT * FROM privacy_signin_event "
                              "WHERE at < :cutoff"), {"cutoff": cutoff})

        def bulk() -> None:
            with db.engine.begin() as conn:
                conn.execute(delete(SigninEvent).where(SigninEvent.at < cutoff))
            _settled()

        target = retention.categories()[0].targets[0]  # sign-in history
        runners: list[retention.Runner] = []

        def batched() -> None:
            runners.append(retention.Runner(now, int(app.config["RETENTION_BATCH_ROWS"])))
            assert runners[-1].purge(target) == expired
            _settled()

        def expire() -> None:
            """Untimed, before each side: the expired rows back (the side before deleted them;
            one INSERT ... SELECT, not a million rows through Python: minutes of a full run),
            and the table settled (and on PostgreSQL vacuumed) as a fresh one."""
            if db.session.scalar(text("SELECT count(*) FROM privacy_signin_event")) < total:
                db.session.execute(text("INSERT INTO privacy_signin_event "
                                        "SELECT * FROM bench_expired"))
                db.session.commit()
            db.session.close()
            _clean()

        result = paired(batched, bulk, before=expire)
        left = db.session.scalar(text("SELECT count(*) FROM privacy_signin_event"))
        assert left == total - expired, left
    ours, bulk_time = result.median(0), result.median(1)
    longest_ms = max(r.longest for r in runners) * 1000
    return [
        paired_figure(f"purge {expired:,} of {total:,} log rows vs one bulk DELETE", result,
                      at_most=2, detail=f"{fmt_time(ours)} in {runners[-1].batches} transactions "
                      f"vs {fmt_time(bulk_time)}"),
        Figure("longest purge transaction", "< 1000 ms", f"{longest_ms:.0f} ms",
               longest_ms < 1000, detail=f"the longest of {len(runners)} purges; the bulk DELETE "
               f"is one of {bulk_time * 1000:.0f} ms", value=longest_ms),
    ]


def make_log(path: Path, lines: int) -> None:
    """A combined-format log: 50,000 visitors with a long-tailed spread, over 28 days."""
    rnd = random.Random(8)
    pool = [f"{rnd.randint(1, 223)}.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}."
            f"{rnd.randint(1, 254)}" for _ in range(50_000)]
    agents = ["Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
              "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/126.0 Safari/537.36"]
    paths = ["/", "/index.html", "/blog/post-1", "/img/logo.png", "/css/site.css"]
    start = date(2025, 10, 1)
    with gzip.open(path, "wt", compresslevel=6) as out:
        for i in range(lines):
            day = start + timedelta(days=i * 28 // lines)
            out.write(f'{pool[int(rnd.paretovariate(0.6)) % 50_000]} - - '
                      f'[{day:%d/%b/%Y}:13:55:{i % 60:02d} +0000] "GET {rnd.choice(paths)} '
                      f'HTTP/1.1" 200 {rnd.randint(100, 50_000)} "https://example.com/" '
                      f'"{rnd.choice(agents)}"\n')


def _import(quick: bool, **config: Any) -> list[Figure]:
    """Paired repeats (wc, import, import, wc...), the median of the ratios; each import is
    of the whole file into a domain of its own, so every one does the same work."""
    lines = 300_000 if quick else 1_000_000
    repeats = MIN_REPEATS
    with tempfile.TemporaryDirectory(prefix="panel-bench-log-") as tmp:
        log = Path(tmp) / "access.log.gz"
        make_log(log, lines)

        def wc() -> None:
            out = subprocess.run(f"gzip -dc '{log}' | wc -l", shell=True, check=True,  # noqa: S602
                                 capture_output=True, text=True)
            assert int(out.stdout) == lines

        with scratch_panel(**config):
            from panel.accounts.models import Account

            account = Account(number=1)
            db.session.add(account)
            db.session.flush()
            domains = [Domain(account_id=account.id, name=f"bench-{n}.test",
                              registered_on=date(2020, 1, 1), expires_on=date(2030, 1, 1))
                       for n in range(repeats)]
            db.session.add_all(domains)
            db.session.commit()
            left = list(domains)

            def load() -> None:
                record = visitor_logs.import_file(log, left.pop(0))  # a domain of its own
                assert record.imported == lines, record.imported

            result = paired(wc, load, repeats=repeats)
            assert not left, f"{len(left)} domains not imported into"
    wc_time, ours = result.median(0), result.median(1)
    return [paired_figure(f"import {lines:,}-line gzip log: wc time / import time", result,
                          at_least=0.3, detail=f"{lines / ours:,.0f} lines/s; import "
                          f"{fmt_time(ours)}, gzip -dc | wc -l {fmt_time(wc_time)}")]


def run(quick: bool) -> list[Figure]:
    return _purge(quick) + _import(quick)
