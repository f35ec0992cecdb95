"""Issue 16: a benchmark interrupted by Ctrl-C or by kill leaves no server, database or
temporary file behind. The servers figure is interrupted once its PostgreSQL, redis-server and
gunicorn servers all run; everything the run made lives under the TMPDIR given here, and every
process it started carries that TMPDIR in its environment, so both are easy to check."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def started_under(base: Path, bench: int | None = None) -> dict[int, str]:
    """pid -> command line of every process whose TMPDIR lies under ``base``, or whose
    command line names it (PostgreSQL and Redis write their process titles over their
    environment), and of their descendants and the bench's."""
    needle, where = f"TMPDIR={base}/".encode(), str(base).encode()
    found: dict[int, str] = {}
    parents: dict[int, int] = {}
    cmdlines: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            cmdlines[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace")
            parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if where in cmdline or any(v.startswith(needle) for v in
                                       (entry / "environ").read_bytes().split(b"\0")):
                found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
    if bench is not None:
        found[bench] = "the bench"
    for pid, ppid in parents.items():  # a server's workers (descendants of one found)
        chain = ppid
        while chain in parents and chain not in found:
            chain = parents[chain]
        if chain in found and pid not in found:
            found[pid] = cmdlines[pid]
    found.pop(bench, None)  # type: ignore[arg-type]
    return found


def still_running(seen: dict[int, str]) -> dict[int, str]:
    """Those of ``seen`` that still run (the same pid with the same command line)."""
    left = {}
    for pid, cmdline in seen.items():
        try:
            now = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
        except OSError:
            continue
        if now == cmdline:
            left[pid] = now
    return left


def _sigint_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("how", ["ctrl-c", "kill"])
def test_interrupted_bench_leaves_no_server_database_or_temporary_file(how: str) -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-interrupt-", dir="/tmp"))
    base.chmod(0o711)  # PostgreSQL (as `postgres` when we are root) passes through it
    log = Path(tempfile.mkstemp(prefix="bench-interrupt-", suffix=".log")[1])
    env = {**os.environ, "TMPDIR": str(base), "PYTHONPATH": str(ROOT)}
    seen: dict[int, str] = {}
    try:
        with log.open("wb") as out:
            bench = subprocess.Popen(
                [sys.executable, "-m", "bench", "--quick", "--only", "servers", "--no-record"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                # as from a terminal, whatever started this test: a shell's background job
                # (`cmd &`) ignores SIGINT, and its children would inherit that
                preexec_fn=_sigint_as_in_a_terminal)
        deadline = time.monotonic() + 240
        wanted = ("postgres", "redis-server", "gunicorn")
        while True:
            seen = started_under(base, bench.pid)
            running = " | ".join(seen.values())
            if all(name in running for name in wanted):
                break
            assert bench.poll() is None, f"the bench ended early:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"servers did not start:\n{running}"
            time.sleep(0.5)
        time.sleep(1)  # into the measuring
        seen = started_under(base, bench.pid)
        if how == "ctrl-c":  # a terminal sends SIGINT to its whole foreground process group
            os.killpg(bench.pid, signal.SIGINT)
        else:
            os.kill(bench.pid, signal.SIGTERM)
        bench.wait(timeout=120)
        assert bench.returncode == 130, log.read_text()[-3000:]
        assert "interrupted" in log.read_text()
        assert still_running(seen) == {}, "servers left running"
        assert started_under(base) == {}, "servers left running"
        assert list(base.iterdir()) == [], "files left behind"
    finally:
        for pid in {**still_running(seen), **started_under(base)}:
            os.kill(pid, signal.SIGKILL)
        if bench.poll() is None:
            bench.kill()
        shutil.rmtree(base, ignore_errors=True)
        log.unlink()
