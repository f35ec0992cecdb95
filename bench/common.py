"""What every benchmark module shares: the Figure row, timing, and a throwaway panel."""

from __future__ import annotations

import contextlib
import contextvars
import gc
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
    ok: bool | None  # None: reported only, no target

    @property
    def verdict(self) -> str:
        return {True: "meets target", False: "MISSES target", None: "-"}[self.ok]


def ratio_figure(name: str, ours: float, baseline: float, *, at_most: float | None = None,
                 at_least: float | None = None, detail: str = "") -> Figure:
    """A figure whose number is ours / baseline, with the target as a bound on that ratio."""
    ratio = ours / baseline if baseline else float("inf")
    if at_most is not None:
        target, ok = f"<= {at_most:g}x", ratio <= at_most
    elif at_least is not None:
        target, ok = f">= {at_least:g}x", ratio >= at_least
    else:
        target, ok = "-", None
    measured = f"{ratio:.2f}x" + (f" ({detail})" if detail else "")
    return Figure(name, target, measured, ok)


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


def best_of(repeat: int, *fns: Callable[[], Any]) -> list[float]:
    """Run the functions in turn ``repeat`` times (interleaved, so drift hits both) and return
    each one's best time."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], timed(fn))
    return best


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


@contextlib.contextmanager
def scratch_panel(**config: Any) -> Iterator[Flask]:
    """A panel on a new SQLite database built by the migrations, with its key ring, and an
    app context pushed. Deleted afterwards."""
    from panel import migrate
    from panel.app import create_app
    from panel.config import new_master_key
    from panel.crypto.keyring import initialise
    from panel.extensions import db

    with tempfile.TemporaryDirectory(prefix="panel-bench-") as tmp:
        app = create_app({"SECRET_KEY": secrets.token_urlsafe(32), "MASTER_KEY": new_master_key(),
                          "DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}",
                          "INSTANCE_PATH": tmp, **config})
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
