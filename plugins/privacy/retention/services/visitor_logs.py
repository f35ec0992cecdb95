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
import ipaddress
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import bindparam, func, insert, select, update

from panel.db_types import utcnow, uuid7
from panel.domains.models import Domain
from panel.extensions import db
from plugins.privacy.retention.models import LogImport, VisitorDay, VisitorNet

CHUNK = 1 << 20
MAX_LINE = 16 * 1024  # longer than any sane request line: counted as malformed, skipped
INSERT_ROWS = 5000
PARALLEL_BYTES = 1 << 20  # larger files are parsed by worker processes

# host ident user [dd/Mon/yyyy:hh:mm:ss zone] "request" status bytes ["referer" "agent"].
# Matched over a whole chunk (MULTILINE, nothing crosses a newline) with findall: the loop
# per line runs in C. IPv4 arrives already cut to its /24 (the last octet is checked here).
_OCT = rb"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
LINE = re.compile(
    rb"^(?:(" + _OCT + rb"\." + _OCT + rb"\." + _OCT + rb")\." + _OCT
    + rb"|([0-9A-Fa-f.]{0,39}:[0-9A-Fa-f:.]{1,44})) "
    rb'[^ \n]++ [^ \n]++ \[(\d\d/[A-Z][a-z][a-z]/\d{4}):\d\d:\d\d:\d\d [^\]\n]*+\] '
    rb'"(?:[^"\\\n]++|\\[^\n])*+" \d{3} (\d++|-)(?: [^\n]*+)?$', re.MULTILINE)
MONTHS = {m.encode(): i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


class ImportError_(ValueError):  # noqa: N801 - not the builtin
    """The file cannot be imported at all (missing, unreadable, already imported)."""


def truncate(ip: str) -> str | None:
    """IPv4 to its /24, IPv6 to its /48; None when it is not an address."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if addr.version == 6 and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return str(ipaddress.ip_network(f"{addr}/{24 if addr.version == 4 else 48}", strict=False))


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


@dataclass
class Block:
    """What one run of lines holds, keyed by the day as written: a pure value, so it can be
    computed in a worker process."""

    lines: int
    matched: int
    requests: dict[bytes, int]
    bytes: dict[bytes, int]
    v4: dict[bytes, set[bytes]]  # IPv4 /24 prefixes per day
    v6: dict[bytes, set[str]]  # IPv6 /48 networks per day


def tally_block(block: bytes) -> Block:
    lines = block.count(b"\n")
    rows = LINE.findall(block)
    if rows and any(row[1] for row in rows):  # IPv6 is rarer: check each distinct address
        checked = {a: truncate(a.decode("ascii")) for a in {row[1] for row in rows if row[1]}}
        rows = [row for row in rows if not row[1] or checked[row[1]] is not None]
    else:
        checked = {}
    out = Block(lines, len(rows), {}, {}, {}, {})
    if not rows:
        return out
    prefixes, six, day_texts, sizes = zip(*rows, strict=True)
    counts = Counter(day_texts)
    out.requests = dict(counts)
    if len(counts) == 1:  # the usual case: whole-column operations, no tuple per line
        text = day_texts[0]
        out.bytes = {text: sum(map(int, filter(b"-".__ne__, sizes)))}
        out.v4 = {text: set(prefixes)}
        out.v4[text].discard(b"")
        if checked:
            out.v6 = {text: {checked[a] for a in set(six) if a}}  # type: ignore[misc]
        return out
    for text, prefix, addr, size in zip(day_texts, prefixes, six, sizes, strict=True):
        if size != b"-":
            out.bytes[text] = out.bytes.get(text, 0) + int(size)
        if prefix:
            out.v4.setdefault(text, set()).add(prefix)
        else:
            out.v6.setdefault(text, set()).add(checked[addr])  # type: ignore[arg-type]
    return out


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

    if workers <= 1:
        merged(tally_block(b) for b in _blocks(stream, tally))
        return tally
    import multiprocessing

    # fork: workers run only tally_block, and leave through os._exit (no inherited
    # connection is touched or closed)
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        merged(pool.imap(tally_block, _blocks(stream, tally), chunksize=1))
    return tally


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
    known: dict[date, set[str]] = {}
    for day, net in db.session.execute(select(net_table.c.day, net_table.c.net).where(
            net_table.c.domain_id == domain.id, net_table.c.day.in_(days))):
        known.setdefault(day, set()).add(net)
    stored = dict(db.session.execute(select(day_table.c.day, day_table.c.id).where(
        day_table.c.domain_id == domain.id, day_table.c.day.in_(days))).all())
    fresh: list[dict[str, Any]] = []
    new_days: list[dict[str, Any]] = []
    bumps: list[dict[str, Any]] = []
    for day in days:
        seen = known.get(day, set())
        nets = [n for n in tally.nets.get(day, ()) if n not in seen]
        fresh.extend({"id": uuid7(), "domain_id": domain.id, "day": day, "net": n} for n in nets)
        figures = {"requests": tally.requests[day], "bytes": tally.bytes.get(day, 0),
                   "visitors": len(seen) + len(nets)}
        if day in stored:
            bumps.append({"_id": stored[day], **{f"_{k}": v for k, v in figures.items()}})
        else:
            new_days.append({"id": uuid7(), "domain_id": domain.id, "day": day, **figures})
    for start in range(0, len(fresh), INSERT_ROWS):
        db.session.execute(insert(net_table), fresh[start:start + INSERT_ROWS])
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
