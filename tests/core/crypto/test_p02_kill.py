"""P02: `panel keys rotate` killed with SIGKILL at any point loses nothing and resumes."""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from flask import Flask

from panel.extensions import db
from panel.keys import rotation
from tests.conftest import TEST_MASTER_KEY, TEST_PLUGINS, TEST_SECRET_KEY
from tests.core.crypto.util import add_accounts, envelope_count, stored_plaintexts

PANEL = str(Path(sys.executable).parent / "panel")
# Slow enough to be killed mid-way even on a loaded machine: a batch is 5 rows, so the few
# hundred rows (each account's profile is one envelope) take 60+ batches 0.1 s apart.
ROTATE = [PANEL, "keys", "rotate", "--batch-size", "5", "--pause", "0.1", "--settle-seconds", "0"]


def _env(app: Flask, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANEL_")}
    env.update(PANEL_DATABASE_URL=app.config["DATABASE_URL"], PANEL_SECRET_KEY=TEST_SECRET_KEY,
               PANEL_MASTER_KEY=TEST_MASTER_KEY, PANEL_INSTANCE_PATH=str(tmp_path / "cli"),
               PANEL_PLUGINS=TEST_PLUGINS)  # the plugins the database was migrated for
    return env


def _kill_mid_way(env: dict[str, str], old: set[str], wanted_done: int) -> None:
    """Start a rotation, wait until its progress shows and at least ``wanted_done`` more values
    have left the old keys, then SIGKILL it."""
    before = sum(rotation.usage(db.engine)[k] for k in old)
    proc = subprocess.Popen(ROTATE, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "the rotation printed nothing"
        line = proc.stdout.readline().decode()
        assert "to re-encrypt" in line, line
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            left = sum(rotation.usage(db.engine)[k] for k in old)
            if before - left >= wanted_done:
                break
            assert proc.poll() is None, "the rotation finished before it could be killed"
            time.sleep(0.01)
        else:
            raise AssertionError("the rotation made no progress")
        time.sleep(random.uniform(0, 0.03))  # land anywhere: in a batch, a commit or a pause
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_p02_rotation_killed_twice_then_rerun_loses_nothing(app: Flask, factories: Any,
                                                              tmp_path: Path) -> None:
    for _ in range(3):
        user = factories.subscriber()
        factories.domain(user.account)
    add_accounts(300)  # 300 x 12 fields, plus the subscribers: a few thousand values
    expected = stored_plaintexts()
    assert len(expected) > 3000
    envelopes = envelope_count()
    first = rotation.primary_data_kid(db.engine)
    env = _env(app, tmp_path)
    db.session.remove()

    _kill_mid_way(env, {first}, wanted_done=100)  # of some 330 envelopes (a profile is one)
    second = rotation.primary_data_kid(db.engine)
    assert second != first
    counts = rotation.usage(db.engine)
    assert counts[first] > 0 and counts[second] >= 100  # really killed half-way
    assert counts[first] + counts[second] == envelopes

    _kill_mid_way(env, {first}, wanted_done=100)  # the second run resumes, adds no key
    assert rotation.primary_data_kid(db.engine) == second
    assert rotation.usage(db.engine)[first] > 0

    done = subprocess.run(ROTATE, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"resuming rotation to key {second}" in done.stdout
    assert f"verified: every stored value is under key {second}" in done.stdout

    counts = rotation.usage(db.engine)
    assert counts == {first: 0, second: envelopes, None: 0}
    assert stored_plaintexts() == expected  # every value opens, none lost or swapped
