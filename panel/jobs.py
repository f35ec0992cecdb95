"""`panel cron`: run each due job once, with a database lock so overlapping runs do no double work."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from panel.db_types import utcnow
from panel.extensions import db
from panel.jobs_models import JobLock, JobRun

CRON_LOCK = "cron"


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[], str | None]  # returns a short summary for `panel cron` to print


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire(name: str, ttl: timedelta) -> bool:
    """Take the named lock, or report that a live holder has it. Stale locks are taken over."""
    now = utcnow()
    with db.engine.begin() as conn:
        conn.execute(delete(JobLock).where(JobLock.name == name, JobLock.expires_at < now))
    try:
        with db.engine.begin() as conn:
            conn.execute(insert(JobLock).values(name=name, holder=_holder(), expires_at=now + ttl))
    except IntegrityError:
        return False
    return True


def release(name: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(delete(JobLock).where(JobLock.name == name, JobLock.holder == _holder()))


def due(jobs: list[Job], *, force: bool = False) -> list[Job]:
    last = {r.name: r.last_started_at for r in db.session.execute(select(JobRun)).scalars()}
    now = utcnow()
    return [j for j in jobs if force or last.get(j.name) is None or now - last[j.name] >= j.every]


def run_due(jobs: list[Job], echo: Callable[[str], None], *, force: bool = False,
            lock_ttl: timedelta = timedelta(minutes=30)) -> bool:
    """Run what is due; False (and nothing run) when another `panel cron` holds the lock."""
    if not acquire(CRON_LOCK, lock_ttl):
        echo("another `panel cron` is running; nothing to do")
        return False
    try:
        for job in due(jobs, force=force):
            run = db.session.get(JobRun, job.name) or JobRun(name=job.name)
            run.last_started_at = utcnow()
            db.session.add(run)
            db.session.commit()
            try:
                result = job.run() or "done"
            except Exception as exc:  # noqa: BLE001 - one failing job must not stop the others
                db.session.rollback()
                result = f"failed: {type(exc).__name__}: {exc}"
            run = db.session.get(JobRun, job.name)
            assert run is not None
            run.last_finished_at, run.last_result = utcnow(), result[:500]
            db.session.commit()
            echo(f"{job.name}: {result}")
    finally:
        release(CRON_LOCK)
    return True
