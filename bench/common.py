"""What every benchmark module shares: the Figure row, paired timing, the database backend of
this column, and a throwaway panel, with every server, database and file it makes kept under one
run (`Run`) that cleans up on Ctrl-C and on kill (SIGTERM)."""

from __future__ import annotations

import contextlib
import contextvars
import gc
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient


@dataclass
class Figure:
    """One row of the table: what was measured, the target, the result, and the verdict."""

    name: str
    target: str
    measured: str
    ok: bool | None  # None: reported only, no target; decided by the median, never the spread
    detail: str = ""
    value: float | None = None  # the median (the ratio, for a ratio figure): what history keeps
    spread: tuple[float, float] | None = None  # min and max over the paired repeats
    repeats: int = 1

    @property
    def verdict(self) -> str:
        return {True: "meets target", False: "MISSES target", None: "-"}[self.ok]


def _bound(value: float, at_most: float | None, at_least: float | None) -> tuple[str, bool | None]:
    if at_most is not None:
        return f"<= {at_most:g}x", value <= at_most
    if at_least is not None:
        return f">= {at_least:g}x", value >= at_least
    return "-", None


# --- paired repeats: A B, B A, A B ... ------------------------------------------------------

#: At least this many pairs behind every ratio, quick runs included (issue 16).
MIN_REPEATS = 5


def call(fn: Callable[[], Any]) -> float:
    """A `paired` measure for sides that return their own number (requests/s, fields/s)."""
    return float(fn())


@dataclass
class Paired:
    """Samples of two or more sides taken in turns; ``ratio`` pairs them repeat by repeat."""

    sides: list[list[float]]

    def ratios(self, i: int = 0, j: int = 1) -> list[float]:
        return [a / b if b else float("inf") for a, b in zip(self.sides[i], self.sides[j],
                                                              strict=True)]

    def ratio(self, i: int = 0, j: int = 1) -> float:
        """The median of the per-repeat ratios: one slow repeat moves it less than a mean."""
        return statistics.median(self.ratios(i, j))

    def spread(self, i: int = 0, j: int = 1) -> tuple[float, float]:
        values = self.ratios(i, j)
        return min(values), max(values)

    def median(self, i: int) -> float:
        return statistics.median(self.sides[i])

    @property
    def repeats(self) -> int:
        return len(self.sides[0])


def paired(*sides: Callable[[], Any], repeats: int = MIN_REPEATS,
           measure: Callable[[Callable[[], Any]], float] | None = None,
           before: Callable[[], Any] | None = None) -> Paired:
    """Measure the sides in turns, ``repeats`` (at least `MIN_REPEATS`) times, so that load
    from elsewhere hits every side alike: A B, then B A (the order alternates, so neither side
    always runs on the caches the other warmed). ``measure`` turns a side into its number
    (default: seconds, collector held off; `call` for sides that return a rate); ``before``
    runs untimed before every side (e.g. put back the rows a purge deletes)."""
    measure = measure or timed
    samples: list[list[float]] = [[] for _ in sides]
    order = list(enumerate(sides))
    for r in range(max(repeats, MIN_REPEATS)):
        for i, fn in (order if r % 2 == 0 else order[::-1]):
            if before is not None:
                before()
            samples[i].append(measure(fn))
    return Paired(samples)


def paired_figure(name: str, result: Paired, *, at_most: float | None = None,
                  at_least: float | None = None, detail: str = "", i: int = 0,
                  j: int = 1) -> Figure:
    """A ratio figure (side i over side j) from paired repeats: the verdict is the median's."""
    ratio, spread = result.ratio(i, j), result.spread(i, j)
    target, ok = _bound(ratio, at_most, at_least)
    measured = f"{ratio:.2f}x [{spread[0]:.2f}-{spread[1]:.2f}]"
    return Figure(name, target, measured, ok, detail=detail, value=ratio, spread=spread,
                  repeats=result.repeats)


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Like timeit: keep the collector from landing in one side of a comparison only."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def timed(fn: Callable[[], Any]) -> float:
    with no_gc():
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


# --- the run: one temporary root, the backend of each column, clean-up on interrupt ----------

SQLITE, POSTGRESQL = "sqlite", "postgresql"
BACKENDS = (SQLITE, POSTGRESQL)
LABELS = {SQLITE: "SQLite", POSTGRESQL: "PostgreSQL"}
#: Set in the environment of the bench and every process it starts, so leftovers can be found.
MARK = "BENCH_RUN_ID"  # not PANEL_*: tests/cluster.py passes no PANEL_ variable on


class BackendUnavailable(RuntimeError):
    """The database of a column cannot be had (PostgreSQL did not start); says why."""


@dataclass
class Run:
    """Everything one `python -m bench` makes: files under ``root`` (the temporary folder of
    this process and of its children), servers and processes on ``stack``; `run_scope`
    closes it whatever happens."""

    root: Path
    stack: contextlib.ExitStack
    backend: str = SQLITE
    mark: str = field(default_factory=lambda: uuid.uuid4().hex)
    _postgres: Any = None

    def postgres(self) -> Any:
        """This run's PostgreSQL (tests/pg.py's, as the tests start it), started on first use."""
        if self._postgres is None:
            from tests.pg import PG_BIN, PostgresServer

            if not (PG_BIN / "initdb").exists():
                raise BackendUnavailable(f"{PG_BIN / 'initdb'} is missing (Debian's postgresql; "
                                         "`make deps-system` installs it)")
            server = PostgresServer()
            self.stack.callback(_quietly, server.stop)  # a half-started server goes too
            try:
                server.start()
            except subprocess.CalledProcessError as exc:
                why = (exc.stderr or b"").decode(errors="replace").strip().splitlines()[-3:]
                program = next((Path(a).name for a in exc.cmd if str(PG_BIN) in a), "?")
                raise BackendUnavailable(f"{program} exited {exc.returncode}: "
                                         f"{' / '.join(why)}") from None
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise BackendUnavailable(str(exc)) from None
            self._postgres = server
        return self._postgres


def _quietly(stop: Callable[[], Any]) -> None:
    """Clean-up that must not hide the results: a failure is reported, not raised."""
    try:
        stop()
    except Exception as exc:  # noqa: BLE001
        print(f"bench clean-up: {type(exc).__name__}: {exc}", file=sys.stderr)


_run: Run | None = None


def current_run() -> Run | None:
    return _run


def current_backend() -> str:
    """The column being measured: figures that are about the database follow it."""
    return _run.backend if _run is not None else SQLITE


_owner = os.getpid()


def _raise_interrupt(signum: int, frame: Any) -> None:
    """SIGTERM in the bench: unwind as Ctrl-C does. A forked child (a multiprocessing worker
    that Pool.terminate() stops) inherits the handler: there it dies as it would have."""
    if os.getpid() != _owner:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def run_scope(parent: str | None = None) -> Iterator[Run]:
    """One run: a temporary root that `tempfile` and every child process (TMPDIR) use, kill
    (SIGTERM) turned into KeyboardInterrupt so the same clean-up runs as for Ctrl-C, and on the
    way out every registered resource closed, every process still carrying this run's mark
    killed, and the root deleted. A second Ctrl-C during clean-up is ignored."""
    global _run, _owner
    root = Path(tempfile.mkdtemp(prefix="panel-bench-run-", dir=parent))
    root.chmod(0o711)  # PostgreSQL runs as `postgres` when we are root: it must pass through
    saved = {k: os.environ.get(k) for k in ("TMPDIR", MARK)}
    saved_tempdir = tempfile.tempdir
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    run = Run(root, contextlib.ExitStack())
    since = _ticks_now()
    previous, _run = _run, run
    os.environ["TMPDIR"], os.environ[MARK] = str(root), run.mark
    tempfile.tempdir = str(root)
    _owner = os.getpid()
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield run
    finally:
        for sig in handlers:
            signal.signal(sig, signal.SIG_IGN)
        try:
            run.stack.close()
        finally:
            kill_marked(run.mark, root, since)
            shutil.rmtree(root, ignore_errors=True)
            tempfile.tempdir = saved_tempdir
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            _run = previous
            for sig, handler in handlers.items():
                signal.signal(sig, handler)


def _ticks_now() -> int:
    """Now, in the unit of /proc/PID/stat's start time (clock ticks since boot)."""
    return int(float(Path("/proc/uptime").read_text().split()[0]) * os.sysconf("SC_CLK_TCK"))


def proc_stats() -> Iterator[tuple[int, list[str]]]:
    """Each process now, with the fields of its /proc/PID/stat after the command name (state,
    ppid, ...: ``fields[1]`` is the parent, ``fields[11]`` and ``[12]`` its CPU ticks)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                yield int(entry.name), (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # gone meanwhile


def leftovers(mark: str, root: Path, since: int) -> list[int]:
    """Pids of processes the run started: our descendants started since ``since``, those whose
    environment carries ``mark`` or whose command line names ``root`` (PostgreSQL and Redis
    write their process titles over their environment; a daemon leaves our tree), and all
    their descendants."""
    needle, where, me = f"{MARK}={mark}".encode(), str(root).encode(), os.getpid()
    parents: dict[int, int] = {}
    found: set[int] = set()
    for pid, fields in proc_stats():
        if pid == me:
            continue
        entry = Path("/proc", str(pid))
        try:
            parents[pid] = int(fields[1])
            ours = int(fields[19]) >= since and parents[pid] == me
            if ours or where in (entry / "cmdline").read_bytes() or \
                    needle in (entry / "environ").read_bytes().split(b"\0"):
                found.add(pid)
        except (OSError, ValueError, IndexError):
            continue
    grew = True
    while grew:
        more = {pid for pid, ppid in parents.items() if ppid in found and pid not in found}
        found |= more
        grew = bool(more)
    return sorted(found)


def kill_marked(mark: str, root: Path, since: int) -> None:
    """The last net: whatever this run started and did not stop (a server daemonised by a
    child, a worker of a killed master) is killed, and reaped if it is our child."""
    for pid in leftovers(mark, root, since):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def spawn(cmd: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """Start a server in a process group of its own, stopped with its whole group (SIGTERM,
    then SIGKILL after 10 s) when the run ends, however it ends."""
    proc = subprocess.Popen(cmd, start_new_session=True, **kwargs)

    def stop() -> None:
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    if _run is not None:
        _run.stack.callback(stop)
    proc.stop = stop  # type: ignore[attr-defined]
    return proc


def _drop(admin: str, name: str) -> None:
    import psycopg

    with contextlib.suppress(psycopg.Error), psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """A new, empty database on this column's backend; yields its URL and drops it after."""
    if current_backend() == POSTGRESQL:
        import psycopg

        server = _run.postgres()  # type: ignore[union-attr]
        name = f"bench_{secrets.token_hex(6)}"
        admin = server.url().replace("+psycopg", "")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        try:
            yield server.url(name)
        except KeyboardInterrupt:
            raise  # no waiting on DROP: the server and its folder go with the run
        except BaseException:
            _drop(admin, name)
            raise
        _drop(admin, name)
    else:
        with tempfile.TemporaryDirectory(prefix="panel-bench-db-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"


@contextlib.contextmanager
def scratch_panel(**config: Any) -> Iterator[Flask]:
    """A panel on a new database of this column's backend (SQLite, or the run's PostgreSQL),
    built by the migrations, with its key ring, and an app context pushed. Deleted afterwards.
    A ``DATABASE_URL`` in ``config`` is used instead."""
    from panel import migrate
    from panel.app import create_app
    from panel.config import new_master_key
    from panel.crypto.keyring import initialise
    from panel.extensions import db

    with tempfile.TemporaryDirectory(prefix="panel-bench-") as tmp, \
            contextlib.ExitStack() as stack:
        url = config.pop("DATABASE_URL", None) or stack.enter_context(scratch_database())
        app = create_app({"SECRET_KEY": secrets.token_urlsafe(32), "MASTER_KEY": new_master_key(),
                          "DATABASE_URL": url, "INSTANCE_PATH": tmp, **config})
        with app.app_context():
            migrate.upgrade(app)
            initialise(db.engine, app.extensions["panel.keyring"].master)
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()


# --- requests as a browser sends them -----------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


class IsolatedClient(FlaskClient):
    """Each request in its own app context (its own ``g`` and database session), as in
    production; Flask would otherwise reuse the bench's app context for every request."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        return contextvars.Context().run(super().open, *args, **kwargs)


def post_form(client: FlaskClient, url: str, data: dict[str, str]) -> Any:
    """GET the page for its CSRF token, then POST the form with it."""
    page = client.get(url).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {url}"
    return client.post(url, data={"csrf_token": match.group(1) or match.group(2), **data})
