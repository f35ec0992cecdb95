"""`python -m bench [--quick] [--only NAME] [--backend B] [--strict] [--no-record]
[--compare REV] [--plot]`: run every benchmark module on SQLite and on a PostgreSQL started for
the run, print one table with both columns, and append the run to bench/history.jsonl."""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import logging
import os
import pkgutil
import re
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import bench
from bench.common import (
    BACKENDS,
    LABELS,
    POSTGRESQL,
    BackendUnavailable,
    Figure,
    current_run,
    run_scope,
)

SKIP = {"__main__", "common"}
HERE = Path(__file__).resolve().parent
HISTORY = HERE / "history.jsonl"
PLOTS = HERE / "plots"


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


# ------------------------------------------------------------------ running both columns


@dataclass
class Results:
    """What one run measured, per module and backend: figures, or why there are none."""

    backends: list[str]
    figures: dict[tuple[str, str], list[Figure]] = field(default_factory=dict)
    errors: dict[tuple[str, str], str] = field(default_factory=dict)  # module failed there
    skipped: dict[tuple[str, str], str] = field(default_factory=dict)  # not measured there
    unavailable: dict[str, str] = field(default_factory=dict)  # backend -> why
    areas: list[str] = field(default_factory=list)

    def rows(self) -> list[tuple[str, str, dict[str, Figure | str]]]:
        """(area, figure name, {backend: Figure or the reason there is none}), in run order."""
        out: list[tuple[str, str, dict[str, Figure | str]]] = []
        for area in self.areas:
            names: list[str] = []
            for backend in self.backends:
                for f in self.figures.get((area, backend), []):
                    if f.name not in names:
                        names.append(f.name)
            if not names and any(k[0] == area for k in self.errors):
                names = ["(module failed)"]
            for name in names:
                cells: dict[str, Figure | str] = {}
                for backend in self.backends:
                    got = [f for f in self.figures.get((area, backend), []) if f.name == name]
                    if got:
                        cells[backend] = got[0]
                    elif backend in self.unavailable:
                        cells[backend] = "not run"
                    elif (area, backend) in self.errors:
                        cells[backend] = "ERROR"
                    else:
                        cells[backend] = "n/a"
                out.append((area, name, cells))
        return out


def verdict(cells: dict[str, Figure | str]) -> tuple[str, bool | None]:
    """Met only when every column that measured it meets it; an error is a miss; "n/a" (the
    figure is not about the database, or only one backend can run it) does not count."""
    if any(c == "ERROR" for c in cells.values()):
        return "MISSES target (error)", False
    figures = [c for c in cells.values() if isinstance(c, Figure)]
    if any(f.ok is False for f in figures):
        return "MISSES target", False
    if not figures or all(f.ok is None for f in figures):
        return "-", None
    if any(c == "not run" for c in cells.values()):
        return "meets target (" + ", ".join(LABELS[b] for b, c in cells.items()
                                            if isinstance(c, Figure)) + " only)", True
    return "meets target", True


def run_all(mods: list[ModuleType], backends: list[str], quick: bool) -> Results:
    """Each module on each backend in turn (SQLite, then PostgreSQL, module by module, so drift
    lands in both columns alike). A module may set ``BACKENDS`` to the ones it is about."""
    results = Results(list(backends))
    run = current_run()
    assert run is not None, "run_all needs run_scope()"
    for module in mods:
        area = module.__name__.rsplit(".", 1)[-1]
        results.areas.append(area)
        for backend in backends:
            if backend in results.unavailable:
                continue
            if backend not in getattr(module, "BACKENDS", BACKENDS):
                results.skipped[(area, backend)] = "not about this backend"
                continue
            if backend == POSTGRESQL:
                try:
                    run.postgres()
                except BackendUnavailable as exc:
                    results.unavailable[backend] = str(exc)
                    print(f"PostgreSQL could not start: {exc}. Running the SQLite column only.",
                          file=sys.stderr, flush=True)
                    continue
            print(f"running bench.{area} on {LABELS[backend]}{' (quick)' if quick else ''}...",
                  file=sys.stderr, flush=True)
            run.backend = backend
            start = time.perf_counter()
            try:
                results.figures[(area, backend)] = list(module.run(quick))
            except Exception as exc:  # noqa: BLE001 - one failing module must not lose the rest
                traceback.print_exc()
                results.errors[(area, backend)] = f"{type(exc).__name__}: {exc}"
            print(f"  done in {time.perf_counter() - start:.1f}s", file=sys.stderr, flush=True)
    return results


def _cell(cell: Figure | str) -> str:
    return cell.measured if isinstance(cell, Figure) else cell


def table(results: Results) -> str:
    head = ("area", "figure", "target", *(LABELS[b] for b in results.backends), "verdict")
    cells = [head]
    for area, name, row in results.rows():
        target = next((c.target for c in row.values() if isinstance(c, Figure)), "-")
        cells.append((area, name, target, *(_cell(row[b]) for b in results.backends),
                      verdict(row)[0]))
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def details(results: Results) -> str:
    """What stands behind each number (times, sizes, repeats), and why a column is empty."""
    out = []
    for _area, name, row in results.rows():
        for backend, cell in row.items():
            if isinstance(cell, Figure) and (cell.detail or cell.repeats > 1):
                reps = f"median of {cell.repeats} paired repeats [min-max]" if cell.repeats > 1 else ""
                out.append(f"- {name} ({LABELS[backend]}): "
                           + "; ".join(p for p in (cell.detail, reps) if p))
    for (area, backend), why in results.errors.items():
        out.append(f"- bench.{area} failed on {LABELS[backend]}: {why}")
    for backend, why in results.unavailable.items():
        out.append(f"- {LABELS[backend]} column not run: {why}")
    return "\n".join(out)


# ------------------------------------------------------------------ history, compare, plots


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(HERE.parent), *args], capture_output=True,
                             text=True, timeout=30)
    except OSError:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def record(results: Results, quick: bool) -> dict[str, Any]:
    """One history line: the run's figures with the commit, the date and the machine."""
    figures = []
    for area, name, row in results.rows():
        for backend, cell in row.items():
            if isinstance(cell, Figure):
                figures.append({"area": area, "name": name, "backend": backend,
                                "median": cell.value, "spread": cell.spread,
                                "repeats": cell.repeats, "target": cell.target, "ok": cell.ok,
                                "measured": cell.measured, "detail": cell.detail})
            elif cell == "ERROR":
                figures.append({"area": area, "name": name, "backend": backend, "median": None,
                                "ok": False, "error": results.errors[(area, backend)]})
    return {"commit": _git("rev-parse", "HEAD"),
            "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "cores": os.cpu_count(), "load": round(os.getloadavg()[0], 2), "quick": quick,
            "backends": results.backends, "unavailable": results.unavailable,
            "figures": figures}


def append_history(entry: dict[str, Any], path: Path = HISTORY) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")


def load_history(path: Path = HISTORY) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def last_run_of(rev: str, history: list[dict[str, Any]], quick: bool) -> dict[str, Any] | None:
    """The last recorded run of ``rev`` (resolved by git; a commit matched by prefix either
    way), of the same kind (quick or full) when there is one."""
    full = (_git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}") or rev).lower()
    runs = [e for e in history if e.get("commit")
            and (e["commit"].startswith(full) or full.startswith(e["commit"]))]
    same = [e for e in runs if e.get("quick") == quick]
    return (same or runs or [None])[-1]


def compare(entry: dict[str, Any], base: dict[str, Any], rev: str) -> str:
    old = {(f["area"], f["name"], f["backend"]): f for f in base["figures"]}
    head = ("figure", "backend", "target", f"{rev} ({base['commit'][:10]})", "this run", "change")
    cells = [head]
    for f in entry["figures"]:
        was = old.get((f["area"], f["name"], f["backend"]))
        before = _number(was)
        now = _number(f)
        change = (f"{(f['median'] / was['median'] - 1) * 100:+.0f}%"
                  if was and was.get("median") and f.get("median") is not None else "")
        cells.append((f["name"], LABELS.get(f["backend"], f["backend"]), f.get("target", "-"),
                      before, now, change))
    widths = [max(len(str(row[i])) for row in cells) for i in range(len(head))]
    lines = [" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    kind = "quick" if base.get("quick") else "full"
    return f"this run against {rev}'s last recorded run ({kind}, {base['date']}):\n" + "\n".join(lines)


def _number(f: dict[str, Any] | None) -> str:
    if f is None:
        return "(not measured)"
    if f.get("error"):
        return "ERROR"
    return f.get("measured") or ("-" if f.get("median") is None else f"{f['median']:.2f}")


TARGET_RE = re.compile(r"([<>]=?)\s*([\d.]+)")
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80]


def plot(history: list[dict[str, Any]], out: Path = PLOTS) -> list[Path]:
    """One SVG per figure: its median over the recorded runs (x: run order), the min-max
    spread as a bar, one line per backend and kind of run, and the target as a dashed line.
    Hand-written SVG: no plotting library needed."""
    series: dict[tuple[str, str], dict[str, list[tuple[int, float, Any, str]]]] = {}
    targets: dict[tuple[str, str], str] = {}
    for i, entry in enumerate(history):
        for f in entry["figures"]:
            if f.get("median") is None:
                continue
            key = (f["area"], f["name"])
            label = LABELS.get(f["backend"], f["backend"]) + (" quick" if entry.get("quick") else "")
            series.setdefault(key, {}).setdefault(label, []).append(
                (i, float(f["median"]), f.get("spread"), entry.get("date", "")[:10]))
            targets[key] = f.get("target", "-")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for (area, name), lines in series.items():
        path = out / f"{_slug(area)}--{_slug(name)}.svg"
        path.write_text(_svg(f"{area}: {name}", lines, targets[(area, name)], len(history)),
                        encoding="utf-8")
        written.append(path)
    return written


def _svg(title: str, lines: dict[str, list[tuple[int, float, Any, str]]], target: str,
         runs: int) -> str:
    from xml.sax.saxutils import escape

    w, h, left, right, top, bottom = 720, 360, 60, 20, 40, 60
    ys = [v for pts in lines.values() for _, v, _, _ in pts]
    ys += [s for pts in lines.values() for *_, sp, _ in pts if sp for s in sp]
    bound = TARGET_RE.search(target)
    if bound:
        ys.append(float(bound.group(2)))
    lo, hi = min(ys + [0.0]), max(ys) * 1.1 or 1.0

    def x(i: int) -> float:
        return left + (w - left - right) * (i / max(runs - 1, 1))

    def y(v: float) -> float:
        return top + (h - top - bottom) * (1 - (v - lo) / ((hi - lo) or 1))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
             f'viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">',
             f'<title>{escape(title)}</title>',
             f'<text x="{left}" y="20" font-size="14">{escape(title)} (target {escape(target)})</text>',
             f'<line x1="{left}" y1="{y(lo):.1f}" x2="{w - right}" y2="{y(lo):.1f}" stroke="#444"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{y(lo):.1f}" stroke="#444"/>']
    for frac in (0, 0.5, 1):
        v = lo + (hi - lo) * frac
        parts.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>')
    if bound:
        tv = float(bound.group(2))
        parts.append(f'<line x1="{left}" y1="{y(tv):.1f}" x2="{w - right}" y2="{y(tv):.1f}" '
                     f'stroke="#888" stroke-dasharray="6 4"/>')
    for n, (label, pts) in enumerate(sorted(lines.items())):
        colour = COLOURS[n % len(COLOURS)]
        coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v, _, _ in pts)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>')
        for i, v, spread, date in pts:
            if spread:
                parts.append(f'<line x1="{x(i):.1f}" y1="{y(spread[0]):.1f}" x2="{x(i):.1f}" '
                             f'y2="{y(spread[1]):.1f}" stroke="{colour}" opacity="0.5"/>')
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}">'
                         f'<title>{escape(date)}: {v:.2f}</title></circle>')
        parts.append(f'<text x="{left + 10 + 160 * n}" y="{h - 15}" fill="{colour}">'
                     f'{escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# ------------------------------------------------------------------ the command


def main(argv: list[str] | None = None, mods: list[ModuleType] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller data (what reviewers run)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this module (e.g. crypto); repeatable")
    parser.add_argument("--backend", action="append", choices=BACKENDS,
                        help="run only this column (default: both); repeatable")
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 1 when a figure's median misses its target")
    parser.add_argument("--no-record", action="store_true",
                        help="do not append this run to bench/history.jsonl")
    parser.add_argument("--compare", metavar="REV",
                        help="print this run against the last recorded run of REV")
    parser.add_argument("--plot", action="store_true",
                        help="draw each figure's history as an SVG in bench/plots/ and exit")
    parser.add_argument("--history", type=Path, default=HISTORY, help=argparse.SUPPRESS)
    parser.add_argument("--plots", type=Path, default=PLOTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.plot:
        written = plot(load_history(args.history), args.plots)
        print(f"{len(written)} plot(s) in {args.plots}")
        return 0
    logging.getLogger("alembic").setLevel(logging.WARNING)
    backends = [b for b in BACKENDS if b in (args.backend or BACKENDS)]
    history = load_history(args.history)
    base = last_run_of(args.compare, history, args.quick) if args.compare else None
    if args.compare and base is None:
        print(f"no recorded run of {args.compare} in {args.history}", file=sys.stderr)
        return 2

    with run_scope():
        results = run_all(mods if mods is not None else modules(args.only), backends,
                          args.quick)
    print(table(results))
    notes = details(results)
    if notes:
        print("\n" + notes)
    missed = [name for _, name, row in results.rows() if verdict(row)[1] is False]
    print(f"\n{len(results.rows())} figure(s), {len(missed)} missing its target"
          + (" (see above)" if missed else ""))
    entry = record(results, args.quick)
    if not args.no_record:
        append_history(entry, args.history)
        print(f"recorded in {args.history}")
    if base is not None:
        print("\n" + compare(entry, base, args.compare))
    return 1 if (missed and args.strict) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted: servers, databases and temporary files removed", file=sys.stderr)
        sys.exit(130)
