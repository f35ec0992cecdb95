"""Visitor logs (P22): combined format, plain or gzip, truncated networks, broken input counted."""

from __future__ import annotations

import gzip
import io
import os

import pytest
from sqlalchemy import select

from panel.extensions import db
from plugins.privacy.retention.models import LogImport, VisitorDay, VisitorNet
from plugins.privacy.retention.services import visitor_logs
from plugins.privacy.retention.services.visitor_logs import CHUNK, MAX_LINE, parse, truncate

GOOD = ('198.51.100.{n} - - [{d}/Oct/2025:13:55:36 +0200] "GET /a?q=\\"x\\" HTTP/1.1" 200 {b} '
        '"https://ref.example/" "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"\n')


def _lines(n: int, day: str = "10", size: int = 100) -> bytes:
    return "".join(GOOD.format(n=i % 250, d=day, b=size) for i in range(n)).encode()


def test_truncation_ipv4_24_and_ipv6_48():
    assert truncate("203.0.113.77") == "203.0.113.0/24"
    assert truncate("2001:db8:abcd:12:1:2:3:4") == "2001:db8:abcd::/48"
    assert truncate("::ffff:192.0.2.9") == "192.0.2.0/24"
    assert truncate("999.1.1.1") is None and truncate("nonsense") is None


def test_p22_combined_and_common_format_counted_per_day():
    data = _lines(5, "10", 100) + _lines(2, "11", 7) + (
        b'2001:db8:1:2::5 - frank [11/Oct/2025:01:00:00 -0700] "GET / HTTP/1.0" 304 -\n')
    tally = parse(io.BytesIO(data))
    assert (tally.lines, tally.malformed) == (8, 0)
    days = sorted(tally.requests)
    assert [tally.requests[d] for d in days] == [5, 3]
    assert [tally.bytes[d] for d in days] == [500, 14]
    assert tally.nets[days[0]] == {"198.51.100.0/24"}
    assert tally.nets[days[1]] == {"198.51.100.0/24", "2001:db8:1::/48"}


def test_p22_broken_binary_and_huge_lines_are_counted_never_fatal():
    huge_in_chunk = b"1.2.3.4 - - [" + b"x" * (MAX_LINE * 2) + b"\n"
    huge_across_chunks = b"A" * (CHUNK * 2 + 17) + b"\n"
    data = b"".join([
        _lines(3),
        b"this is not a log line\n",
        os.urandom(4096).replace(b"\n", b"") + b"\n",  # binary junk, one line
        b'300.1.1.1 - - [10/Oct/2025:13:55:36 +0000] "GET / HTTP/1.1" 200 1\n',  # no address
        b'1.2.3.4 - - [31/Feb/2025:13:55:36 +0000] "GET / HTTP/1.1" 200 1\n',  # no such day
        b'1.2.3.4 - - [10/Oct/2025:13:55:36 +0000] "GET / HTTP/1.1" 200\n',  # cut short
        b"\x00\xff\xfe\n",
        huge_in_chunk,
        huge_across_chunks,
        _lines(2),
        b'1.2.3.4 - - [10/Oct/2025:13:55:36 +0000] "GET /no-newline-at-end HTTP/1.1" 200 5',
    ])
    tally = parse(io.BytesIO(data))
    assert tally.imported == 6
    assert tally.malformed == 8
    assert sum(tally.requests.values()) == 6


def test_p22_cli_imports_gzip_reports_and_refuses_the_same_file_twice(app, factories, tmp_path):
    user = factories.subscriber()
    factories.domain(user.account, "blog.test")
    path = tmp_path / "access.log.gz"
    path.write_bytes(gzip.compress(_lines(4) + b"garbage\n"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["logs", "import", str(path), "--domain", "BLOG.test"])
    assert result.exit_code == 0, result.output
    assert "5 lines" in result.output and "4 counted, 1 malformed" in result.output
    again = runner.invoke(args=["logs", "import", str(path), "--domain", "blog.test"])
    assert again.exit_code != 0 and "already imported" in again.output
    assert runner.invoke(args=["logs", "import", str(path), "--domain", "blog.test",
                               "--force"]).exit_code == 0
    day = db.session.execute(select(VisitorDay)).scalar_one()
    assert (day.requests, day.visitors) == (8, 1)  # the same network counted once per day
    nets = db.session.execute(select(VisitorNet.net)).scalars().all()
    assert nets == ["198.51.100.0/24"]  # no full address, no line stored anywhere
    assert db.session.execute(select(LogImport.malformed)).scalars().all() == [1, 1]
    missing = runner.invoke(args=["logs", "import", str(path), "--domain", "nope.test"])
    assert missing.exit_code != 0 and "no hosted domain" in missing.output
    absent = runner.invoke(args=["logs", "import", str(tmp_path / "none.log"), "--domain",
                                 "blog.test"])
    assert absent.exit_code != 0 and "not a readable file" in absent.output
    broken_gz = tmp_path / "broken.gz"
    broken_gz.write_bytes(gzip.compress(_lines(50))[:60])
    cut = runner.invoke(args=["logs", "import", str(broken_gz), "--domain", "blog.test"])
    assert cut.exit_code != 0 and "cannot be read" in cut.output


def test_p22_subscriber_sees_visits_chart_for_own_domains_only(app, client, factories, login_as,
                                                               tmp_path):
    other = factories.subscriber()
    theirs = factories.domain(other.account, "theirs.test")
    path = tmp_path / "a.log"
    path.write_bytes(_lines(3, day=f"{visitor_logs.utcnow():%d}").replace(
        b"Oct/2025", visitor_logs.utcnow().strftime("%b/%Y").encode()))
    visitor_logs.import_file(path, theirs)
    me = login_as("subscriber")
    mine = factories.domain(me.account, "mine.test")
    visitor_logs.import_file(path, mine)
    page = client.get("/client/privacy/activity/visits").get_data(as_text=True)
    assert "mine.test" in page and "theirs.test" not in page
    assert page.count("<svg") == 2 and "Requests per day to mine.test" in page


def test_p22_an_import_writes_its_figures_in_a_few_statements_whatever_the_days(
        app, factories, tmp_path):
    """The figures of a month-long log are written with a handful of statements, not four per
    day (which cost as much as parsing the lines), and a second file adds to the same days."""
    from sqlalchemy import event

    domain = factories.domain(factories.subscriber().account, "month.test")
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    first.write_bytes(b"".join(_lines(3, f"{d:02d}") for d in range(1, 21)))
    second.write_bytes(_lines(2, "20", 5) + _lines(2, "21", 5)
                       + b'203.0.113.9 - - [20/Oct/2025:01:00:00 +0000] "GET / HTTP/1.0" 200 1\n')
    seen: list[str] = []

    def note(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        if "privacy_visitor" in statement:
            seen.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        visitor_logs.import_file(first, domain)
        assert len(seen) <= 4, seen  # existing nets, existing days, nets, days
        visitor_logs.import_file(second, domain)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert len(seen) <= 9, seen
    days = {d.day.day: (d.requests, d.bytes, d.visitors)
            for d in db.session.execute(select(VisitorDay)).scalars()}
    assert len(days) == 21 and days[1] == (3, 300, 1)
    assert days[20] == (6, 311, 2) and days[21] == (2, 10, 1)  # 20th: added to, a new network


def _big_log(tmp_path):
    """A plain log over PARALLEL_BYTES, so the import hands it to parser processes: four days,
    a few hundred networks, an IPv6 visitor and a broken line in every day."""
    path = tmp_path / "big.log"
    with path.open("wb") as out:
        for day in ("10", "11", "12", "13"):
            for n in range(3000):
                out.write(GOOD.format(n=n % 250, d=day, b=n).replace(
                    "198.51.100.", f"198.51.{n % 7}.").encode())
            out.write(b'2001:db8:1:2::5 - - [' + day.encode()
                      + b'/Oct/2025:01:00:00 +0000] "GET / HTTP/1.0" 304 -\nbroken\n')
    assert path.stat().st_size > visitor_logs.PARALLEL_BYTES
    return path


def _started(monkeypatch, command=None) -> list:
    """Every parser process the import starts (optionally running ``command`` instead)."""
    import subprocess

    started: list[subprocess.Popen] = []
    popen = subprocess.Popen

    def spy(args, **kwargs):  # noqa: ANN001, ANN003
        started.append(popen(command or args, **kwargs))
        return started[-1]

    monkeypatch.setattr(visitor_logs.subprocess, "Popen", spy)
    return started


def test_p22_a_large_log_is_parsed_in_fresh_parser_processes_that_all_exit(app, factories,
                                                                           tmp_path, monkeypatch):
    """The parser processes are new interpreters on logparse.py (never forks of the panel,
    whose locks a fork could inherit held: the import hung twice), they count exactly what one
    process counts, and none is left running."""
    path = _big_log(tmp_path)
    started = _started(monkeypatch)
    domain = factories.domain(factories.subscriber().account, "big.test")
    record = visitor_logs.import_file(path, domain)
    assert started and all(p.args[:3] == [visitor_logs.sys.executable, "-I", "-S"]
                           and p.args[3].endswith("logparse.py") for p in started)
    assert all(p.poll() is not None for p in started)  # every one exited
    with path.open("rb") as stream:
        alone = parse(stream)
    assert (record.lines, record.imported, record.malformed) == (
        alone.lines, alone.imported, alone.malformed) == (12_008, 12_004, 4)
    days = {d.day.day: (d.requests, d.bytes, d.visitors)
            for d in db.session.execute(select(VisitorDay)).scalars()}
    assert days == {d.day: (alone.requests[d], alone.bytes[d], len(alone.nets[d]))
                    for d in alone.requests}
    assert days[10] == (3001, sum(range(3000)), 8)  # 7 IPv4 /24s and one IPv6 /48


@pytest.mark.parametrize("command", [
    "import sys; sys.exit(3)",  # dies at once
    "import sys; sys.stdin.buffer.read(100); sys.exit(9)",  # dies in the middle of a block
    "import sys, time; sys.stdin.buffer.read(100); time.sleep(600)",  # never answers
    "import time; time.sleep(600)",  # never reads
])
def test_p22_a_parser_that_dies_or_hangs_fails_the_import_cleanly(app, factories, tmp_path,
                                                                   monkeypatch, command):
    """A parser process that exits or stops answering ends the import with an error within
    PARSER_TIMEOUT (never a hang), stores nothing, and leaves no process behind."""
    import sys
    import time

    path = _big_log(tmp_path)
    monkeypatch.setattr(visitor_logs, "PARSER_TIMEOUT", 2.0)
    started = _started(monkeypatch, [sys.executable, "-c", command])
    domain = factories.domain(factories.subscriber().account, "stuck.test")
    began = time.monotonic()
    with pytest.raises(visitor_logs.ImportError_, match="was not imported: a log parser process"):
        visitor_logs.import_file(path, domain)
    assert time.monotonic() - began < 10
    assert started and all(p.poll() is not None for p in started)
    db.session.rollback()
    assert db.session.execute(select(LogImport)).first() is None
    assert db.session.execute(select(VisitorDay)).first() is None
    runner = app.test_cli_runner()
    result = runner.invoke(args=["logs", "import", str(path), "--domain", "stuck.test"])
    assert result.exit_code == 1 and "was not imported" in result.output
