"""P02 / issue 16: a subscriber's profile is one envelope per row, and databases written before
that convert online (`panel keys regroup`), resumably, without losing or exposing a value."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from panel import migrate
from panel.accounts.models import Account
from panel.crypto import keyring
from panel.crypto.keyring import Keyring
from panel.extensions import db
from panel.keys import regroup
from tests.conftest import TEST_MASTER_KEY, TEST_PLUGINS, TEST_SECRET_KEY
from tests.core.crypto.util import add_accounts, stored_plaintexts

PANEL = str(Path(sys.executable).parent / "panel")
MEMBERS = [Account.__table__.c[m.column] for m in Account.profile.members.values()]


def as_before_regrouping() -> int:
    """Put every profile back into the per-field columns, as a database written before the
    group existed holds it (the migration's downgrade does the same)."""
    with db.engine.begin() as conn:
        return regroup.ungroup(conn, keyring.current_keyring())


def layout() -> tuple[int, int]:
    """(rows holding a profile envelope, rows with any value in the per-field columns)."""
    table = Account.__table__
    with db.engine.connect() as conn:
        grouped = conn.execute(select(func.count()).select_from(table)
                               .where(table.c.profile.is_not(None))).scalar_one()
        legacy = conn.execute(select(func.count()).select_from(table).where(
            func.coalesce(*MEMBERS).is_not(None))).scalar_one()
    return grouped, legacy


def test_p02_listing_opens_one_envelope_per_account_whatever_it_reads(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    add_accounts(30)
    opened: list[str] = []
    real_open = Keyring.open

    def counting(self: Keyring, sealed: str, aad: str) -> str:
        opened.append(aad)
        return real_open(self, sealed, aad)

    monkeypatch.setattr(Keyring, "open", counting)
    db.session.expunge_all()
    accounts = db.session.execute(select(Account)).scalars().all()
    assert len(accounts) == 30
    for account in accounts:
        assert account.first_name and account.tax_id and account.date_of_birth
        assert account.name and account.city and account.phone
    assert len(opened) == 30
    assert all(aad.startswith("account|profile|") for aad in opened)


def test_p02_rows_written_before_the_group_read_the_same_and_move_on_their_next_write(
        app: Flask) -> None:
    add_accounts(12)
    expected = stored_plaintexts()
    assert as_before_regrouping() == 12
    assert layout() == (0, 12)
    assert stored_plaintexts() == expected  # read from the per-field columns

    db.session.expunge_all()
    account = db.session.execute(select(Account).limit(1)).scalar_one()
    old_phone_index = account.phone_bidx
    account.city = "Neustadt"
    db.session.commit()
    assert layout() == (1, 11)  # the whole profile moved, the old columns emptied
    expected[("account", "city", str(account.id))] = "Neustadt"
    assert stored_plaintexts() == expected
    db.session.expunge_all()
    moved = db.session.get(Account, account.id)
    assert moved.phone_bidx == old_phone_index  # still found by phone
    assert db.session.execute(select(Account).where(Account.phone.matches(moved.phone))
                              ).scalar_one().id == account.id


def test_p02_regroup_command_converts_every_row_and_says_so_without_plaintext(
        app: Flask, factories: Any) -> None:
    factories.subscriber(first_name="Wilhelmina", city="Castellón")
    add_accounts(23)
    expected = stored_plaintexts()
    as_before_regrouping()
    result = app.test_cli_runner().invoke(args=["keys", "regroup", "--batch-size", "5"])
    assert result.exit_code == 0, result.output
    assert "24 row(s) to regroup" in result.output
    assert "regrouped 24 row(s)" in result.output
    assert "verified: every row is regrouped" in result.output
    assert "Wilhelmina" not in result.output and "Castellón" not in result.output
    assert layout() == (24, 0)
    assert stored_plaintexts() == expected

    again = app.test_cli_runner().invoke(args=["keys", "regroup"])
    assert again.exit_code == 0 and "regrouped 0 row(s)" in again.output


def test_p02_regroup_leaves_a_damaged_row_as_it_is_and_names_it(app: Flask) -> None:
    ids = add_accounts(6)
    as_before_regrouping()
    with db.engine.begin() as conn:
        conn.execute(Account.__table__.update().where(Account.id == ids[2])
                     .values(city="v1:dnosuchkey01:AAAA"))
    result = app.test_cli_runner().invoke(args=["keys", "regroup"])
    assert result.exit_code != 0
    assert f"cannot open account.city of row {ids[2]}" in result.output
    assert layout() == (5, 1)


def test_p02_schema_downgrade_keeps_every_value(app: Flask) -> None:
    add_accounts(8)
    expected = stored_plaintexts()
    db.session.remove()
    migrate.downgrade(app, "0012_brand_slug")
    migrate.upgrade(app)
    assert layout() == (0, 8)
    assert stored_plaintexts() == expected


def _env(app: Flask, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANEL_")}
    env.update(PANEL_DATABASE_URL=app.config["DATABASE_URL"], PANEL_SECRET_KEY=TEST_SECRET_KEY,
               PANEL_MASTER_KEY=TEST_MASTER_KEY, PANEL_INSTANCE_PATH=str(tmp_path / "cli"),
               PANEL_PLUGINS=TEST_PLUGINS)
    return env


def test_p02_regroup_killed_mid_way_then_rerun_converts_each_row_once(
        app: Flask, tmp_path: Path) -> None:
    add_accounts(300)
    expected = stored_plaintexts()
    as_before_regrouping()
    db.session.remove()
    env = _env(app, tmp_path)
    command = [PANEL, "keys", "regroup", "--batch-size", "5", "--pause", "0.05"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while layout()[0] < 60:
            assert proc.poll() is None, "the conversion finished before it could be killed"
            assert time.monotonic() < deadline, "the conversion made no progress"
            time.sleep(0.01)
        time.sleep(random.uniform(0, 0.03))  # anywhere: in a batch, a commit or a pause
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    before, legacy = layout()
    assert 60 <= before < 300 and before + legacy == 300  # each row in one layout, not both
    assert stored_plaintexts() == expected  # half converted, every value reads

    done = subprocess.run(command[:3], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    converted = int(re.search(r"regrouped (\d+) row", done.stdout).group(1))
    assert converted == 300 - before  # none converted twice, none skipped
    assert layout() == (300, 0)
    assert stored_plaintexts() == expected
