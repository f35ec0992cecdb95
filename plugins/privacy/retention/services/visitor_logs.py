"""Visitor statistics from a hosted site's access log (seed 000 "log information", P22).

Reads Apache/nginx combined (or common) log format, plain or gzip, in 1 MiB chunks. Only
aggregates are kept: requests and bytes per domain and day, and the visitor's network
truncated to IPv4 /24 or IPv6 /48 (to count distinct visitors). The raw line is never stored,
and nothing links a figure to a person. Malformed lines (binary junk, cut or huge lines,
impossible dates or addresses) are counted and reported, never fatal.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import bindparam, func, insert, select, update

from panel.bulk import insert_rows
from panel.db_types import utcnow, uuid7
from panel.domains.models import Domain
from panel.extensions import db
from plugins.privacy.retention.models import LogImport, VisitorDay, VisitorNet
from plugins.privacy.retention.services import logparse
from plugins.privacy.retention.services.logparse import Block, tally_block, truncate  # noqa: F401

CHUNK = 1 << 20
MAX_LINE = 16 * 1024  # longer than any sane request line: counted as malformed, skipped
PARALLEL_BYTES = 1 << 20  # larger files are parsed by parser processes
#: The longest a parser process may take to answer one block (it takes milliseconds): past
#: it the import stops with an error instead of waiting for ever.
PARSER_TIMEOUT = 60.0

MONTHS = {m.encode(): i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


class ImportError_(ValueError):  # noqa: N801 - not the builtin
    """The file cannot be imported at all (missing, unreadable, already imported)."""


def _day(text: bytes) -> date | None:
    try:
        return date(int(text[7:11]), MONTHS[text[3:6]], int(text[0:2]))
    except (KeyError, ValueError):
        return None


@dataclass
class Tally:
    lines: int = 0
    malformed: int = 0
    requests: dict[date, int] = field(default_factory=dict)
    bytes: dict[date, int] = field(default_factory=dict)
    nets: dict[date, set[str]] = field(default_factory=dict)

    @property
    def imported(self) -> int:
        return self.lines - self.malformed


def _open(path: Path) -> IO[bytes]:
    raw = path.open("rb")
    magic = raw.read(2)
    raw.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    return raw


def _blocks(stream: IO[bytes], tally: Tally) -> Iterator[bytes]:
    """Runs of whole lines, about CHUNK bytes each. A line longer than MAX_LINE that has not
    ended within a chunk is counted as malformed and skipped without ever being held whole."""
    rest = b""
    skipping = False
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        if skipping:
            cut = chunk.find(b"\n")
            if cut < 0:
                continue
            chunk, skipping = chunk[cut + 1:], False
            tally.lines += 1
            tally.malformed += 1
        buf = rest + chunk
        cut = buf.rfind(b"\n")
        if cut < 0:
            rest = buf
        else:
            yield buf[:cut + 1]
            rest = buf[cut + 1:]
        if len(rest) > MAX_LINE:
            rest, skipping = b"", True
    if skipping:
        tally.lines += 1
        tally.malformed += 1
    elif rest:
        yield rest + b"\n"


def _merge(tally: Tally, block: Block, days: dict[bytes, date | None]) -> None:
    tally.lines += block.lines
    tally.malformed += block.lines - block.matched
    for text, n in block.requests.items():
        day = days.get(text, False)
        if day is False:
            day = days[text] = _day(text)
        if day is None:  # 31/Feb and the like
            tally.malformed += n
            continue
        tally.requests[day] = tally.requests.get(day, 0) + n
        tally.bytes[day] = tally.bytes.get(day, 0) + block.bytes.get(text, 0)
        nets = tally.nets.setdefault(day, set())
        nets.update(p.decode() + ".0/24" for p in block.v4.get(text, ()))
        nets.update(block.v6.get(text, ()))


def parse(stream: IO[bytes], progress: Callable[[int], None] | None = None,
          workers: int = 1) -> Tally:
    """Count what the log holds: requests, bytes and distinct networks per day. With
    ``workers`` > 1 the regex work runs in that many processes while this one decompresses."""
    tally = Tally()
    days: dict[bytes, date | None] = {}
    next_report = 100_000

    def merged(blocks: Iterator[Block]) -> None:
        nonlocal next_report
        for block in blocks:
            _merge(tally, block, days)
            if progress is not None and tally.lines >= next_report:
                progress(tally.lines)
                next_report = tally.lines + 100_000

    if workers <= 1 or not sys.executable:  # no interpreter to start (embedded): parse here
        merged(tally_block(b) for b in _blocks(stream, tally))
        return tally
    merged(_parsed(_blocks(stream, tally), workers))
    return tally


def parser_command() -> list[str]:
    """A parser process: this interpreter on logparse.py alone, isolated (-I: no environment,
    no user site, not its folder) and without site-packages (-S): standard library only."""
    return [sys.executable, "-I", "-S", logparse.__file__]


class ParserFailed(OSError):
    """A parser process died, or did not answer within PARSER_TIMEOUT."""


def _parsed(blocks: Iterator[bytes], workers: int) -> Iterator[Block]:
    """``tally_block`` of each block, in ``workers`` new processes (not forks of this one: the
    fork pool this replaces hung when a child inherited a held lock). One block in flight per
    process while this one decompresses the next; every wait is bounded by PARSER_TIMEOUT, and
    whatever happens the processes are gone when this returns or raises."""
    procs = [subprocess.Popen(parser_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              bufsize=0) for _ in range(workers)]
    answers = {p.stdout.fileno(): bytearray() for p in procs}  # type: ignore[union-attr]
    failed = False
    try:
        with selectors.DefaultSelector() as sel:
            for p in procs:
                for pipe in (p.stdin, p.stdout):
                    os.set_blocking(pipe.fileno(), False)  # type: ignore[union-attr]
                    _widen(pipe.fileno())  # type: ignore[union-attr]
            idle = list(procs)
            busy = 0
            pending = next(blocks, None)
            while True:
                while idle and pending is not None:
                    proc = idle.pop()
                    _send(proc, logparse.HEADER.pack(len(pending)) + pending)
                    sel.register(proc.stdout, selectors.EVENT_READ, proc)  # type: ignore[arg-type]
                    busy += 1
                    pending = next(blocks, None)  # decompressed while the parsers work
                if not busy:
                    return
                ready = sel.select(PARSER_TIMEOUT)
                if not ready:
                    raise ParserFailed(f"a log parser process gave no answer in {PARSER_TIMEOUT:.0f} s")
                for key, _ in ready:
                    proc = key.data
                    block = _receive(proc, answers[key.fd])
                    if block is None:
                        continue
                    sel.unregister(proc.stdout)  # type: ignore[arg-type]
                    busy -= 1
                    idle.append(proc)
                    yield block
    except BaseException:
        failed = True
        raise
    finally:
        for p in procs:
            if failed:
                p.kill()
            p.stdin.close()  # type: ignore[union-attr] - end of input: the parser exits
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            p.stdout.close()  # type: ignore[union-attr]


def _widen(fd: int) -> None:
    """A pipe that holds a whole block (Linux; elsewhere, or past the system's limit, it keeps
    its 64 KiB), so a block passes in one write instead of a parser being woken 16 times."""
    try:
        import fcntl
    except ImportError:
        return
    for size in (CHUNK + MAX_LINE + logparse.HEADER.size, CHUNK):  # the second: not as root
        try:
            fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), size)
            return
        except OSError:
            continue


def _send(proc: subprocess.Popen[bytes], data: bytes) -> None:
    """Write all of ``data`` to an idle parser, never waiting longer than PARSER_TIMEOUT."""
    view, fd = memoryview(data), proc.stdin.fileno()  # type: ignore[union-attr]
    deadline = time.monotonic() + PARSER_TIMEOUT
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_WRITE)
        while view:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                if not sel.select(max(0.0, deadline - time.monotonic())):
                    raise ParserFailed("a log parser process stopped reading") from None
            except BrokenPipeError:
                raise ParserFailed(f"a log parser process exited ({proc.poll()})") from None


def _receive(proc: subprocess.Popen[bytes], buf: bytearray) -> Block | None:
    """Read what the parser has written; its block once the whole answer is there."""
    while True:
        try:
            data = os.read(proc.stdout.fileno(), 1 << 20)  # type: ignore[union-attr]
        except BlockingIOError:
            break
        if not data:
            raise ParserFailed(f"a log parser process exited ({proc.poll()})")
        buf += data
    size = logparse.HEADER.size
    if len(buf) < size or len(buf) < size + logparse.HEADER.unpack_from(buf)[0]:
        return None
    end = size + logparse.HEADER.unpack_from(buf)[0]
    block = logparse.load(bytes(buf[size:end]))
    del buf[:end]
    return block


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def find_domain(name: str) -> Domain | None:
    return db.session.execute(select(Domain).where(
        func.lower(Domain.name) == name.strip().lower().rstrip("."))).scalar_one_or_none()


def import_file(path: Path, domain: Domain, *, force: bool = False,
                progress: Callable[[int], None] | None = None) -> LogImport:
    """Parse ``path`` and add its figures to ``domain``'s statistics in one transaction."""
    if not path.is_file():
        raise ImportError_(f"{path} is not a readable file")
    digest = file_digest(path)
    seen = db.session.execute(select(LogImport.id).where(
        LogImport.domain_id == domain.id, LogImport.sha256 == digest)).first()
    if seen and not force:
        raise ImportError_(f"{path.name} was already imported for {domain.name} "
                           "(same content); use --force to count it again")
    try:
        workers = min(4, os.cpu_count() or 1) if path.stat().st_size > PARALLEL_BYTES else 1
        with _open(path) as stream:
            tally = parse(stream, progress, workers)
    except ParserFailed as exc:
        raise ImportError_(f"{path.name} was not imported: {exc}") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise ImportError_(f"{path.name} cannot be read: {exc}") from None
    _store(domain, tally)
    record = LogImport(domain_id=domain.id, sha256=digest, at=utcnow(), lines=tally.lines,
                       imported=tally.imported, malformed=tally.malformed)
    db.session.add(record)
    db.session.commit()
    return record


def _store(domain: Domain, tally: Tally) -> None:
    """Add the tally to the domain's figures with a handful of statements for the whole file
    (not four per day: at 28 days those round trips cost as much as parsing 100,000 lines)."""
    days = sorted(tally.requests)
    if not days:
        return
    day_table, net_table = VisitorDay.__table__, VisitorNet.__table__
    domain_id = domain.id
    known: dict[date, set[str]] = {}
    for day, net in db.session.execute(select(net_table.c.day, net_table.c.net).where(
            net_table.c.domain_id == domain_id, net_table.c.day.in_(days))):
        known.setdefault(day, set()).add(net)
    stored = dict(db.session.execute(select(day_table.c.day, day_table.c.id).where(
        day_table.c.domain_id == domain_id, day_table.c.day.in_(days))).all())
    fresh: list[dict[str, Any]] = []
    new_days: list[dict[str, Any]] = []
    bumps: list[dict[str, Any]] = []
    for day in days:
        seen = known.get(day, set())
        nets = [n for n in tally.nets.get(day, ()) if n not in seen]
        fresh.extend({"id": uuid7(), "domain_id": domain_id, "day": day, "net": n} for n in nets)
        figures = {"requests": tally.requests[day], "bytes": tally.bytes.get(day, 0),
                   "visitors": len(seen) + len(nets)}
        if day in stored:
            bumps.append({"_id": stored[day], **{f"_{k}": v for k, v in figures.items()}})
        else:
            new_days.append({"id": uuid7(), "domain_id": domain_id, "day": day, **figures})
    insert_rows(db.session.connection(), net_table, fresh)
    if new_days:
        db.session.execute(insert(day_table), new_days)
    if bumps:
        db.session.execute(update(day_table).where(day_table.c.id == bindparam("_id")).values(
            requests=day_table.c.requests + bindparam("_requests"),
            bytes=day_table.c.bytes + bindparam("_bytes"), visitors=bindparam("_visitors")),
            bumps)


def daily(domain_ids: list[Any], days: int = 90) -> dict[Any, list[tuple[date, int, int]]]:
    """(day, requests, visitors) per domain for the last ``days`` days, oldest first."""
    since = utcnow().date() - timedelta(days=days)
    out: dict[Any, list[tuple[date, int, int]]] = {d: [] for d in domain_ids}
    if not domain_ids:
        return out
    for row in db.session.execute(select(VisitorDay).where(
            VisitorDay.domain_id.in_(domain_ids), VisitorDay.day >= since)
            .order_by(VisitorDay.day)).scalars():
        out[row.domain_id].append((row.day, row.requests, row.visitors))
    return out
