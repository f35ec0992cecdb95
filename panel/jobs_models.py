"""Bookkeeping for `panel cron`: which job ran when, and who holds the run lock."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from panel.db_types import UTCDateTime
from panel.extensions import db


class JobLock(db.Model):
    """One row per held lock; the primary key makes taking it atomic on every backend."""

    __tablename__ = "job_lock"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JobRun(db.Model):
    __tablename__ = "job_run"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_result: Mapped[str | None] = mapped_column(Text)


class PluginState(db.Model):
    """Whether an allow-listed plugin is activated (WHMCS addon style)."""

    __tablename__ = "plugin_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    active: Mapped[bool] = mapped_column(default=True)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
