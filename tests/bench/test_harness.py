"""The bench harness (issue 16), driven with tiny fake figures: both columns, paired repeats,
the verdict by the median, history, --compare and --plot. No database is started: the fake
modules measure nothing, and PostgreSQL is stood in for where a column needs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import types
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

import bench.__main__ as cli
from bench import common
from bench.common import POSTGRESQL, SQLITE, Figure, Paired, paired, paired_figure

ROOT = Path(__file__).resolve().parents[2]


def fake(name: str, values: dict[str, list[float]], *, at_most: float = 1.5,
         backends: tuple[str, ...] | None = None, fails_on: str | None = None) -> Any:
    """A bench module whose one figure pairs two sides returning fixed numbers per backend."""
    module = types.ModuleType(f"bench.{name}")

    def run(quick: bool) -> list[Figure]:
        backend = common.current_backend()
        if backend == fails_on:
            raise RuntimeError("the server would not start")
        ratios = iter(values[backend])
        result = paired(lambda: None, lambda: None, measure=lambda fn: 1.0)
        result.sides[0] = [next(ratios) for _ in result.sides[1]]
        return [paired_figure(f"{name} figure", result, at_most=at_most, detail="fake")]

    module.run = run  # type: ignore[attr-defined]
    if backends:
        module.BACKENDS = backends  # type: ignore[attr-defined]
    return module


@pytest.fixture
def no_postgres_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake modules never touch a database: the PostgreSQL column needs no server."""
    monkeypatch.setattr(common.Run, "postgres", lambda self: object())


def bench(tmp_path: Path, *args: str, mods: list[Any]) -> int:
    return cli.main(["--history", str(tmp_path / "history.jsonl"),
                     "--plots", str(tmp_path / "plots"), *args], mods=mods)


def test_paired_interleaves_both_sides_alternating_order_at_least_five_times() -> None:
    calls: list[str] = []
    result = paired(lambda: calls.append("A"), lambda: calls.append("B"), repeats=2,
                    measure=lambda fn: fn() or float(len(calls)))
    assert calls == ["A", "B", "B", "A", "A", "B", "B", "A", "A", "B"]
    assert result.repeats == 5
    # A is measured at calls 1, 4, 5, 8, 9; B at 2, 3, 6, 7, 10: ratios per pair
    assert result.ratios() == [1 / 2, 4 / 3, 5 / 6, 8 / 7, 9 / 10]
    assert result.ratio() == pytest.approx(9 / 10)
    assert result.spread() == (0.5, 4 / 3)


def test_paired_runs_before_untimed_before_every_side() -> None:
    log: list[str] = []
    paired(lambda: log.append("a"), lambda: log.append("b"),
           before=lambda: log.append("reset"))
    assert log[:4] == ["reset", "a", "reset", "b"] and len(log) == 20


def test_figure_reports_median_and_spread_and_is_judged_by_the_median() -> None:
    f = paired_figure("x", Paired([[1.0, 1.0, 3.0, 1.0, 1.0], [1.0] * 5]), at_most=1.5)
    assert f.ok is True and f.value == 1.0 and f.spread == (1.0, 3.0) and f.repeats == 5
    assert f.measured == "1.00x [1.00-3.00]"


def test_both_columns_printed_and_a_figure_is_met_only_when_both_meet_it(
        tmp_path: Path, no_postgres_needed: None, capsys: pytest.CaptureFixture[str]) -> None:
    mods = [fake("good", {SQLITE: [1.0] * 5, POSTGRESQL: [1.2] * 5}),
            fake("pgslow", {SQLITE: [1.0] * 5, POSTGRESQL: [2.0] * 5})]
    assert bench(tmp_path, "--no-record", mods=mods) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    assert "SQLite" in header and "PostgreSQL" in header
    good = next(line for line in out.splitlines() if "good figure" in line)
    slow = next(line for line in out.splitlines() if "pgslow figure" in line)
    assert "1.00x" in good and "1.20x" in good and good.rstrip().endswith("meets target")
    assert "2.00x" in slow and slow.rstrip().endswith("MISSES target")
    assert "1 missing its target" in out
    assert bench(tmp_path, "--no-record", "--strict", mods=mods) == 1


def test_strict_fails_only_when_the_median_misses_not_the_spread(
        tmp_path: Path, no_postgres_needed: None) -> None:
    noisy = fake("noisy", {SQLITE: [1.0, 1.0, 1.0, 9.0, 0.5], POSTGRESQL: [1.4, 3.0, 1.0, 1.0, 1.2]})
    assert bench(tmp_path, "--no-record", "--strict", mods=[noisy]) == 0
    missing = fake("missing", {SQLITE: [1.6, 1.6, 1.6, 0.1, 0.1], POSTGRESQL: [1.0] * 5})
    assert bench(tmp_path, "--no-record", "--strict", mods=[missing]) == 1


def test_postgresql_that_cannot_start_says_why_and_the_sqlite_column_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    def broken(self: Any) -> Any:
        raise common.BackendUnavailable("initdb exited 1: could not create directory")

    monkeypatch.setattr(common.Run, "postgres", broken)
    assert bench(tmp_path, "--no-record", "--strict",
                 mods=[fake("a", {SQLITE: [1.0] * 5})]) == 0
    captured = capsys.readouterr()
    assert "PostgreSQL could not start: initdb exited 1: could not create directory" in captured.err
    line = next(line for line in captured.out.splitlines() if "a figure" in line)
    assert "1.00x" in line and "not run" in line and "meets target (SQLite only)" in line


def test_postgresql_failing_to_start_for_real_says_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """An initdb that fails as a broken installation's does: its message reaches the operator,
    the SQLite column is printed, and nothing of the failed server is left behind."""
    import tests.pg

    bin_dir = Path(tempfile.mkdtemp(prefix="bench-fake-pg-", dir="/tmp"))
    try:
        bin_dir.chmod(0o755)  # as root, initdb runs as `postgres`
        initdb = bin_dir / "initdb"
        initdb.write_text("#!/bin/sh\necho 'initdb: error: could not create directory: "
                          "Permission denied' >&2\nexit 1\n")
        initdb.chmod(0o755)
        monkeypatch.setattr(tests.pg, "PG_BIN", bin_dir)
        base = Path(tempfile.mkdtemp(prefix="bench-fake-pg-run-", dir="/tmp"))
        monkeypatch.setattr(tempfile, "tempdir", str(base))
        assert bench(tmp_path, "--no-record", "--strict",
                     mods=[fake("a", {SQLITE: [1.0] * 5})]) == 0
        captured = capsys.readouterr()
        assert "PostgreSQL could not start" in captured.err
        assert "initdb exited 1: initdb: error: could not create directory: Permission denied" \
            in captured.err
        assert "meets target (SQLite only)" in captured.out
        assert list(base.iterdir()) == []
    finally:
        shutil.rmtree(bin_dir, ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)


def test_a_failing_module_is_a_miss_in_its_column_and_the_others_still_run(
        tmp_path: Path, no_postgres_needed: None, capsys: pytest.CaptureFixture[str]) -> None:
    mods = [fake("broken", {SQLITE: [1.0] * 5}, fails_on=POSTGRESQL),
            fake("fine", {SQLITE: [1.0] * 5, POSTGRESQL: [1.0] * 5})]
    assert bench(tmp_path, "--no-record", "--strict", mods=mods) == 1
    out = capsys.readouterr().out
    broken = next(line for line in out.splitlines() if "broken figure" in line)
    assert "ERROR" in broken and "MISSES target (error)" in broken
    assert "the server would not start" in out
    assert next(line for line in out.splitlines() if "fine figure" in line).endswith("meets target")


def test_a_module_about_one_backend_shows_na_in_the_other(
        tmp_path: Path, no_postgres_needed: None, capsys: pytest.CaptureFixture[str]) -> None:
    pg_only = fake("cluster", {POSTGRESQL: [1.0] * 5}, backends=(POSTGRESQL,))
    assert bench(tmp_path, "--no-record", "--strict", mods=[pg_only]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if "cluster figure" in line)
    assert "n/a" in line and line.endswith("meets target")


def test_each_run_is_appended_to_the_history_with_commit_date_and_cores(
        tmp_path: Path, no_postgres_needed: None) -> None:
    mods = [fake("a", {SQLITE: [1.0] * 5, POSTGRESQL: [2.0] * 5})]
    bench(tmp_path, "--quick", mods=mods)
    bench(tmp_path, mods=mods)
    bench(tmp_path, "--no-record", mods=mods)
    lines = (tmp_path / "history.jsonl").read_text().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert first["commit"] == head and first["quick"] is True and second["quick"] is False
    assert isinstance(first["cores"], int) and first["date"][:2] == "20"
    by_backend = {f["backend"]: f for f in first["figures"]}
    assert by_backend[SQLITE] | {"spread": None} == {
        "area": "a", "name": "a figure", "backend": SQLITE, "median": 1.0, "spread": None,
        "repeats": 5, "target": "<= 1.5x", "ok": True, "measured": "1.00x [1.00-1.00]",
        "detail": "fake"}
    assert by_backend[SQLITE]["spread"] == [1.0, 1.0]
    assert by_backend[POSTGRESQL]["ok"] is False and by_backend[POSTGRESQL]["median"] == 2.0


def test_the_committed_history_is_valid_json_lines() -> None:
    for line in (ROOT / "bench" / "history.jsonl").read_text().splitlines():
        entry = json.loads(line)
        assert {"commit", "date", "cores", "quick", "figures"} <= entry.keys()


def test_compare_prints_this_run_against_the_last_recorded_run_of_a_revision(
        tmp_path: Path, no_postgres_needed: None, capsys: pytest.CaptureFixture[str]) -> None:
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    history = tmp_path / "history.jsonl"
    old = {"commit": head[:12], "date": "2026-01-01T00:00:00+00:00", "cores": 2, "quick": False,
           "figures": [{"area": "a", "name": "a figure", "backend": SQLITE, "median": 2.0,
                        "measured": "2.00x [1.90-2.10]", "target": "<= 1.5x", "ok": False}]}
    older = {**old, "figures": [{**old["figures"][0], "median": 9.0, "measured": "9.00x"}]}
    other = {**old, "commit": "0" * 40}
    history.write_text("".join(json.dumps(e) + "\n" for e in (older, old, other)))
    mods = [fake("a", {SQLITE: [1.0] * 5, POSTGRESQL: [1.0] * 5})]
    assert bench(tmp_path, "--no-record", "--compare", "HEAD", mods=mods) == 0
    out = capsys.readouterr().out
    assert "against HEAD's last recorded run" in out
    row = next(line for line in out.splitlines() if "a figure" in line and "SQLite" in line
               and "2.00x" in line)
    assert "1.00x" in row and "-50%" in row and "9.00x" not in row
    assert bench(tmp_path, "--no-record", "--compare", "deadbeef", mods=mods) == 2


def test_plot_draws_each_figure_over_time_as_svg(tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    entries = [{"commit": f"{i:040x}", "date": f"2026-11-0{i + 1}T00:00:00+00:00", "cores": 2,
                "quick": False,
                "figures": [{"area": "crypto", "name": "load 10,000 subscribers", "backend": b,
                             "median": 4.0 - i, "spread": [3.5 - i, 4.5 - i],
                             "target": "<= 1.5x", "ok": i == 3} for b in (SQLITE, POSTGRESQL)]}
               for i in range(4)]
    history.write_text("".join(json.dumps(e) + "\n" for e in entries))
    assert bench(tmp_path, "--plot", mods=[]) == 0
    svgs = list((tmp_path / "plots").glob("*.svg"))
    assert [p.name for p in svgs] == ["crypto--load-10-000-subscribers.svg"]
    svg = ET.parse(svgs[0]).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    lines = svg.findall(f"{ns}polyline")
    assert len(lines) == 2 and all(len(p.get("points", "").split()) == 4 for p in lines)
    assert svg.findall(f"{ns}line[@stroke-dasharray]"), "the target is drawn"


def test_every_bench_module_reports_its_ratios_from_paired_repeats() -> None:
    """A single measurement of each side (or the best of a few) is what made the figures
    noisy: every ratio with a target goes through bench.common.paired."""
    for path in sorted((ROOT / "bench").glob("*.py")):
        if path.name in {"__init__.py", "__main__.py", "common.py"}:
            continue
        source = path.read_text()
        assert "best_of" not in source and "ratio_figure" not in source, path.name
        if "at_most=" in source or "at_least=" in source:
            assert "paired(" in source and "paired_figure(" in source, path.name
