"""The pure part of reading an access log (P22): a run of whole lines to its counts.

Standard library only, on purpose: `panel logs import` runs this file as its parser
processes (``python -I -S logparse.py``), which start in milliseconds and never import the
panel, its database pool or its logging (a forked copy of a process holding those threads and
locks could hang). ``visitor_logs`` uses the same functions in its own process for small files,
so there is one set of rules.
"""

from __future__ import annotations

import gc
import ipaddress
import pickle
import re
import struct
import sys
from collections import Counter
from dataclasses import dataclass
from itertools import compress
from typing import IO

# host ident user [dd/Mon/yyyy:hh:mm:ss zone] "request" status bytes ["referer" "agent"].
# Matched over a whole chunk (MULTILINE, nothing crosses a newline) with findall: the loop
# per line runs in C. IPv4 arrives already cut to its /24 (the last octet is checked here).
_OCT = rb"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
LINE = re.compile(
    rb"^(?:(" + _OCT + rb"\." + _OCT + rb"\." + _OCT + rb")\." + _OCT
    + rb"|([0-9A-Fa-f.]{0,39}:[0-9A-Fa-f:.]{1,44})) "
    rb'[^ \n]++ [^ \n]++ \[(\d\d/[A-Z][a-z][a-z]/\d{4}):\d\d:\d\d:\d\d [^\]\n]*+\] '
    rb'"(?:[^"\\\n]++|\\[^\n])*+" \d{3} (\d++|-)(?: [^\n]*+)?$', re.MULTILINE)

#: A message between the import and a parser process: its length, then its bytes.
HEADER = struct.Struct("!Q")


def truncate(ip: str) -> str | None:
    """IPv4 to its /24, IPv6 to its /48; None when it is not an address."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if addr.version == 6 and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return str(ipaddress.ip_network(f"{addr}/{24 if addr.version == 4 else 48}", strict=False))


@dataclass
class Block:
    """What one run of lines holds, keyed by the day as written: a pure value, so it can be
    computed in a parser process."""

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
    # whole-column operations per day (a block holds one day, or the end of one and the start
    # of the next): the loops run in C, no Python step per line
    for text in counts:
        if len(counts) == 1:
            day_prefixes, day_six, day_sizes = prefixes, six, sizes
        else:
            mask = list(map(text.__eq__, day_texts))
            day_prefixes, day_six, day_sizes = (tuple(compress(column, mask))
                                                for column in (prefixes, six, sizes))
        out.bytes[text] = sum(map(int, filter(b"-".__ne__, day_sizes)))
        out.v4[text] = set(day_prefixes)
        out.v4[text].discard(b"")  # an IPv6 line
        if not out.v4[text]:
            del out.v4[text]
        if checked and (nets := {checked[a] for a in set(day_six) if a}):
            out.v6[text] = nets  # type: ignore[assignment]
    return out


def dump(block: Block) -> bytes:
    """A block as plain values (no class of this module: the parser runs it as __main__)."""
    return pickle.dumps((block.lines, block.matched, block.requests, block.bytes, block.v4,
                         block.v6), protocol=pickle.HIGHEST_PROTOCOL)


def load(data: bytes) -> Block:
    return Block(*pickle.loads(data))  # noqa: S301 - from the parser process the import started


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """The parser process: read a block, answer its counts, until the import closes the pipe.
    Without the cycle collector: nothing here makes a cycle, and its passes over each block's
    100,000 new tuples cost a third of the parsing."""
    gc.disable()
    while len(head := source.read(HEADER.size)) == HEADER.size:
        (size,) = HEADER.unpack(head)
        block = source.read(size)
        if len(block) < size:
            return
        answer = dump(tally_block(block))
        sink.write(HEADER.pack(len(answer)) + answer)
        sink.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
