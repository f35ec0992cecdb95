"""The process's own Prometheus counters, and what gunicorn needs for them to add up.

Under gunicorn each worker is a process: prometheus-client's multi-process mode keeps every
worker's counts in files under ``PROMETHEUS_MULTIPROC_DIR``, and a scrape of any worker sums
them. The mode is fixed when ``prometheus_client`` is first imported, so nothing here imports
it at module level: the gunicorn master (``on_starting``) sets the folder first, and the
workers it forks import the client afterwards, on their first request. Without gunicorn (the
development server, tests) the counts live in this process.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_MADE_ENV = "PANEL_METRICS_MADE_DIR"  # the folder on_starting made, and on_exit removes
#: Request latency buckets, in seconds: a page is fast under 0.1 s and broken over 10 s.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Methods counted by name; anything else is "OTHER", so a client cannot invent label values.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class Reading:
    """One gauge value read at scrape time (from the database), as a plugin reports it."""

    name: str
    help: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)


class _Metrics:
    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        self.requests = Counter("panel_http_requests", "Requests answered, per route rule "
                                "(not the URL), method and status.", ["rule", "method", "status"])
        self.latency = Histogram("panel_http_request_duration_seconds", "Time to answer a "
                                 "request, per route rule and method.", ["rule", "method"],
                                 buckets=BUCKETS)
        self.refused = Counter("panel_rate_limit_refusals", "Requests the rate limiter refused "
                               "(answered 429), per route rule.", ["rule"])
        self.signin_failures = Counter("panel_signin_failures", "Failed sign-ins, per method "
                                       "and reason.", ["method", "reason"])


_made: _Metrics | None = None
_making = threading.Lock()


def _metrics() -> _Metrics:
    """The counters, made once per process. A threaded worker's first requests arrive
    together, and registering the same counter twice is an error: hence the lock."""
    global _made
    if _made is None:
        with _making:
            if _made is None:
                _made = _Metrics()
    return _made


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def observe_request(rule: str, method: str, status: int, seconds: float) -> None:
    m = _metrics()
    method = method if method in METHODS else "OTHER"
    m.requests.labels(rule, method, str(status)).inc()
    m.latency.labels(rule, method).observe(seconds)
    if status == 429:
        m.refused.labels(rule).inc()


def signin_failed(method: str, reason: str) -> None:
    _metrics().signin_failures.labels(method[:32], reason[:32]).inc()


def counters() -> Any:
    """What this process (or, in multi-process mode, every worker) counted: a collector."""
    _metrics()  # the families exist, with no samples yet, from the first scrape on
    from prometheus_client import REGISTRY, CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    if not multiprocess():
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


# --- gunicorn server hooks: `deploy/gunicorn.conf.py` and `make run` load them ------------------

def on_starting(server: Any = None) -> None:
    """In the gunicorn master, before any worker: choose the counts' folder and empty it, so a
    restart starts from zero instead of adding to the last run's files."""
    folder = os.environ.get(MULTIPROC_ENV)
    if not folder:
        folder = os.environ[_MADE_ENV] = tempfile.mkdtemp(prefix="panel-metrics-")
    os.environ[MULTIPROC_ENV] = folder  # the workers inherit it
    path = Path(folder)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for old in path.glob("*.db"):
        old.unlink()


def child_exit(server: Any, worker: Any) -> None:
    """In the gunicorn master, when a worker exits: its live gauges stop counting."""
    if multiprocess():
        from prometheus_client import multiprocess as mp

        mp.mark_process_dead(worker.pid)


def on_exit(server: Any = None) -> None:
    """In the gunicorn master, at shutdown: remove the folder on_starting made (never one the
    operator chose)."""
    made = os.environ.pop(_MADE_ENV, None)
    if made and made == os.environ.get(MULTIPROC_ENV):
        shutil.rmtree(made, ignore_errors=True)
