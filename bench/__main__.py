"""`python -m bench [--quick] [--only NAME] [--strict]`: run every benchmark module, print a table."""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
import time
from types import ModuleType

import bench
from bench.common import Figure

SKIP = {"__main__", "common"}


def modules(only: list[str] | None) -> list[ModuleType]:
    """Every bench.<name> module with a ``run`` function (later issues add bench/mail.py...)."""
    found = []
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if info.name in SKIP or (only and info.name not in only):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if callable(getattr(module, "run", None)):
            found.append(module)
    return found


def table(rows: list[tuple[str, Figure]]) -> str:
    head = ("area", "figure", "target", "measured", "verdict")
    cells = [head] + [(area, f.name, f.target, f.measured, f.verdict) for area, f in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller data, fewer repeats")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this module (e.g. crypto); repeatable")
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 1 when a figure misses its target")
    args = parser.parse_args(argv)
    logging.getLogger("alembic").setLevel(logging.WARNING)

    rows: list[tuple[str, Figure]] = []
    for module in modules(args.only):
        area = module.__name__.rsplit(".", 1)[-1]
        print(f"running bench.{area}{' (quick)' if args.quick else ''}...", file=sys.stderr,
              flush=True)
        start = time.perf_counter()
        rows.extend((area, figure) for figure in module.run(args.quick))
        print(f"  done in {time.perf_counter() - start:.1f}s", file=sys.stderr, flush=True)
    print(table(rows))
    missed = [f for _, f in rows if f.ok is False]
    print(f"\n{len(rows)} figure(s), {len(missed)} missing its target"
          + (" (see above)" if missed else ""))
    return 1 if (missed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
