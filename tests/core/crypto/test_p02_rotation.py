"""P02: `panel keys status|rotate|retire|rewrap` keep every value readable, and say so."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import or_, select, update

from panel.accounts.models import Account
from panel.app import NotReady, ensure_ready
from panel.config import new_master_key
from panel.crypto import keyring
from panel.crypto.keyring import Keyring
from panel.crypto.models import CryptoKey
from panel.extensions import db
from panel.keys import rotation
from tests.core.crypto.util import (
    add_accounts,
    envelope_count,
    raw_sealed_rows,
    stored_plaintexts,
)


def keys(cli: Any, *args: str) -> Any:
    return cli.invoke(args=["keys", *args], catch_exceptions=False)


def status_rows(cli: Any) -> dict[str, tuple[str, str, str]]:
    """kid -> (purpose, state, values) as `panel keys status` prints them."""
    result = keys(cli, "status")
    assert result.exit_code == 0, result.output
    rows = {}
    for line in result.output.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 4 and parts[0][0] in "dia" and parts[1] in {"data", "index", "audit"}:
            rows[parts[0]] = (parts[1], parts[2], parts[3])
    return rows


def data_keys() -> dict[str, str]:
    with db.engine.connect() as conn:
        return dict(conn.execute(select(CryptoKey.kid, CryptoKey.state)
                                 .where(CryptoKey.purpose == "data")).all())


@pytest.fixture
def people(app: Flask, factories: Any) -> dict[tuple[str, str, str], str]:
    """A few subscribers with domains and invoices, and many accounts: the plaintexts."""
    for i in range(3):
        user = factories.subscriber(email=f"Rotation{i}@Example.com", address1="1 Rue Ünïcödé")
        factories.domain(user.account)
        factories.invoice(user.account)
    add_accounts(40)
    values = stored_plaintexts()
    assert len(values) > 500
    return values


def test_p02_status_counts_every_stored_value_by_key(app: Flask, people: dict) -> None:
    cli = app.test_cli_runner()
    rows = status_rows(cli)
    [primary] = [kid for kid, (purpose, state, _) in rows.items()
                 if purpose == "data" and state == "primary"]
    assert rows[primary][2] == str(envelope_count())
    assert {r[0] for r in rows.values()} == {"data", "index", "audit"}
    assert all(r[2] == "-" for r in rows.values() if r[0] != "data")


def test_p02_rotate_reencrypts_everything_and_values_stay_readable(
        app: Flask, people: dict) -> None:
    cli = app.test_cli_runner()
    old = rotation.primary_data_kid(db.engine)
    result = keys(cli, "rotate", "--batch-size", "7", "--settle-seconds", "0")
    assert result.exit_code == 0, result.output
    new = rotation.primary_data_kid(db.engine)
    assert new != old
    assert f"verified: every stored value is under key {new}" in result.output
    assert f"panel keys retire {old}" in result.output
    for plain in people.values():  # nothing personal in what an operator sees or logs
        if len(plain) > 3:
            assert plain not in result.output

    assert stored_plaintexts() == people  # same plaintexts, decrypted by this (older) process
    rows = status_rows(cli)
    assert rows[new] == ("data", "primary", str(envelope_count()))
    assert rows[old] == ("data", "decrypt-only", "0")
    raw = raw_sealed_rows()["account"]
    assert raw and all(c.startswith(f"v1:{new}:") for r in raw for c in r if
                       isinstance(c, str) and c.startswith("v1:"))

    # a second run is a new rotation (nothing left to resume), and again loses nothing
    result = keys(cli, "rotate", "--settle-seconds", "0")
    assert result.exit_code == 0, result.output
    assert len(data_keys()) == 3
    assert stored_plaintexts() == people


def test_p02_a_rotation_reads_each_sealed_table_once_for_its_plan_and_once_to_check(
        app: Flask, people: dict) -> None:
    """What makes `panel keys rotate` cost more than rewriting the rows (bench/crypto.py):
    beyond the batches, one statement to plan (resume or new key, how many values) and one to
    confirm, each reading every sealed table once; no pass that only finds nothing, and no
    batch query of a table the plan found nothing to do in."""
    import re

    from sqlalchemy import event

    tables = rotation.sealed_tables()
    scans: list[str] = []
    batches: list[str] = []

    def note(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        if re.search(r"\b(count|sum)\(", statement, re.IGNORECASE):
            scans.append(statement)  # a whole-table aggregate: the plan or the check
        elif re.search(r"\bLIMIT\b", statement, re.IGNORECASE):
            batches.append(statement)  # a batch of rows to re-encrypt

    envelopes = envelope_count()  # a profile's fields share one
    with db.engine.connect() as conn:
        busy = {name for name, cols in tables.items()
                if conn.execute(select(cols[0].table.c.id).where(
                    or_(*(sc.column.is_not(None) for sc in cols))).limit(1)).first()}
    event.listen(db.engine, "before_cursor_execute", note)
    try:
        report = rotation.rotate(db.engine, app.extensions["panel.keyring"].master,
                                 batch_size=50, settle_seconds=0)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert report.passes == 1 and report.remaining == 0 and report.to_do == envelopes
    assert report.reencrypted == envelopes
    assert len(scans) == 2, scans  # plan + check
    for scan in scans:
        for name in tables:
            assert len(re.findall(rf'FROM "?{name}"?\s', scan + " ")) == 1, (name, scan)
    read = {name for name in tables for b in batches if re.search(rf'FROM "?{name}"?\s', b)}
    assert "account" in busy and read == busy  # empty tables are not read batch by batch
    assert stored_plaintexts() == people


def test_p02_retire_refused_while_in_use_and_accepted_after(
        app: Flask, people: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = app.test_cli_runner()
    master = app.extensions["panel.keyring"].master
    old = rotation.primary_data_kid(db.engine)

    refused = keys(cli, "retire", old)
    assert refused.exit_code != 0
    assert "primary" in refused.output

    keyring.add_primary_data_key(db.engine, master)  # a rotation that stopped before any batch
    new = rotation.primary_data_kid(db.engine)
    refused = keys(cli, "retire", old)
    assert refused.exit_code != 0
    assert f"still encrypts {envelope_count()} stored value(s)" in refused.output
    assert data_keys()[old] == "decrypt-only"

    index_kid = next(k for k, (p, _, _) in status_rows(cli).items() if p == "index")
    assert keys(cli, "retire", index_kid).exit_code != 0

    resumed = keys(cli, "rotate", "--settle-seconds", "0")
    assert resumed.exit_code == 0, resumed.output
    assert f"resuming rotation to key {new}" in resumed.output
    assert set(data_keys()) == {old, new}  # resumed: no third key

    monkeypatch.setattr(rotation, "SETTLE_SECONDS", 3600.0)  # workers might still use it
    too_soon = keys(cli, "retire", old)
    assert too_soon.exit_code != 0 and "try again in" in too_soon.output

    monkeypatch.setattr(rotation, "SETTLE_SECONDS", 0.0)
    accepted = keys(cli, "retire", old)
    assert accepted.exit_code == 0, accepted.output
    with db.engine.connect() as conn:
        row = conn.execute(select(CryptoKey).where(CryptoKey.kid == old)).one()
    assert row.state == "retired" and row.wrapped is None and row.retired_at is not None
    assert "retired" in status_rows(cli)[old]
    assert stored_plaintexts() == people
    assert keys(cli, "retire", old).exit_code == 0  # repeating it is harmless


def test_p02_retire_refused_when_an_unknown_column_still_uses_the_key(
        app: Flask, people: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """A disabled plugin's sealed column still counts: destroying its key would lose it."""
    master = app.extensions["panel.keyring"].master
    old = rotation.primary_data_kid(db.engine)
    stray = keyring.current_keyring().seal("plugin data", "job_run|last_result|x")
    rotation.rotate(db.engine, master, settle_seconds=0)
    with db.engine.begin() as conn:
        conn.execute(db.metadata.tables["job_run"].insert().values(name="x", last_result=stray))
    monkeypatch.setattr(rotation, "SETTLE_SECONDS", 0.0)
    result = keys(app.test_cli_runner(), "retire", old)
    assert result.exit_code != 0
    assert "job_run.last_result (1)" in result.output
    assert data_keys()[old] == "decrypt-only"


def test_p02_user_edit_during_rotation_is_kept(app: Flask, people: dict,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The guarded UPDATE never overwrites a value changed between its SELECT and UPDATE."""
    master = app.extensions["panel.keyring"].master
    target = next(row_id for (t, c, row_id) in people if (t, c) == ("account", "city"))
    edit_ring = Keyring.load(db.engine, master)  # a worker still on the old primary key
    real_reseal = rotation._reseal
    edited = []
    envelopes = envelope_count()

    def user_edits_meanwhile(ring: Keyring, primary: Any, stored: str, aad: bytes,
                             nonce: bytes) -> str:
        if aad == f"account|profile|{target}".encode() and not edited:
            edited.append(True)
            profile = Account.profile.parse(edit_ring.open(stored, aad.decode()), target)
            profile["city"] = "Edited City"
            with db.engine.begin() as conn:
                conn.execute(update(Account).where(Account.id == uuid.UUID(target)).values(
                    {Account._profile: edit_ring.seal(Account.profile.format(profile),
                                                      aad.decode())}))
        return real_reseal(ring, primary, stored, aad, nonce)

    monkeypatch.setattr(rotation, "_reseal", user_edits_meanwhile)
    report = rotation.rotate(db.engine, master, batch_size=5, settle_seconds=0)
    assert edited and report.conflicts == 1
    assert report.remaining == 0 and not report.failures
    after = stored_plaintexts()
    assert after[("account", "city", target)] == "Edited City"
    del after[("account", "city", target)]
    del people[("account", "city", target)]
    assert after == people
    assert rotation.usage(db.engine)[report.primary] == envelopes  # the edit replaced one


def test_p02_rewrap_leaves_data_rows_identical_and_app_runs_on_new_master(
        app: Flask, people: dict, make_app: Any, tmp_path: Path) -> None:
    before = raw_sealed_rows()
    with db.engine.connect() as conn:
        wrapped_before = dict(conn.execute(select(CryptoKey.kid, CryptoKey.wrapped)).all())
    key_file = tmp_path / "new-master.key"
    key_file.write_text(new_master_key() + "\n")
    os.chmod(key_file, 0o600)

    result = keys(app.test_cli_runner(), "rewrap", "--new-master-key-file", str(key_file))
    assert result.exit_code == 0, result.output
    assert "PANEL_MASTER_KEY_FILE=" in result.output and str(key_file) in result.output
    assert "restart" in result.output

    after = raw_sealed_rows()
    # not one stored data byte changed; the trail only gained the entry recording the rewrap
    trail_before, trail_after = before.pop("privacy_audit_entry", []), after.pop("privacy_audit_entry", [])
    assert after == before
    assert all(row in trail_after for row in trail_before)
    assert len(trail_after) <= len(trail_before) + 1
    with db.engine.connect() as conn:
        wrapped_after = dict(conn.execute(select(CryptoKey.kid, CryptoKey.wrapped)).all())
    assert wrapped_after.keys() == wrapped_before.keys()
    assert all(wrapped_after[k] != wrapped_before[k] for k in wrapped_before)

    new_app = make_app(MASTER_KEY=None, MASTER_KEY_FILE=str(key_file))
    with new_app.app_context():
        ensure_ready()
        assert stored_plaintexts() == people
        login_email = next(v for (t, c, _), v in people.items() if (t, c) == ("user", "email"))
        from panel.auth.models import User
        assert db.session.execute(select(User).where(User.email.matches(login_email))).scalar()
        db.session.remove()

    old_app = make_app()  # a process restarted on the old master key refuses to serve
    with old_app.app_context(), pytest.raises(NotReady, match="master key"):
        ensure_ready()
    assert old_app.test_client().get("/login").status_code == 503


def test_p02_rewrap_refuses_an_unusable_key_file(app: Flask, tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    result = keys(app.test_cli_runner(), "rewrap", "--new-master-key-file", str(bad))
    assert result.exit_code != 0
    assert "PANEL_MASTER_KEY_FILE" in result.output
    ensure_ready()
