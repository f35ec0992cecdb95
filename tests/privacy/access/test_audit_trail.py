"""The tamper-evident trail (P16, P17): chained, verifiable, and naming fields, never values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import event, text, update

from panel import audit
from panel.audit import AuditEvent
from panel.extensions import db
from plugins.privacy.access.models import AuditEntry, AuditHead
from plugins.privacy.access.services import trail
from tests.conftest import TEST_MASTER_KEY, TEST_SECRET_KEY, post_form


def _events(n: int, actor=None) -> None:
    for i in range(n):
        audit.record(AuditEvent("test.event", actor=actor, object=f"thing {i}", fields=["a"]))
        db.session.commit()


def _verify(app) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def test_p17_an_untouched_trail_verifies(app, factories):
    _events(5, factories.staff())
    code, output = _verify(app)
    assert code == 0 and "OK: the trail verifies: 5 entries" in output


def test_p17_verify_names_an_altered_entry(app):
    _events(6)
    db.session.execute(update(AuditEntry).where(AuditEntry.seq == 4).values(object="nothing here"))
    db.session.commit()
    code, output = _verify(app)
    assert code == 1 and "entry 4 was altered" in output


def test_p17_verify_names_a_deleted_entry(app):
    _events(6)
    db.session.execute(AuditEntry.__table__.delete().where(AuditEntry.seq == 3))
    db.session.commit()
    code, output = _verify(app)
    assert code == 1 and "entry 3 is missing (deleted)" in output


def test_p17_verify_names_an_inserted_entry(app):
    _events(4)
    db.session.execute(update(AuditEntry).where(AuditEntry.seq >= 3).values(seq=AuditEntry.seq + 10))
    forged = AuditEntry(seq=3, at=trail.utcnow(), actor_role="staff", actor_label="Mallory",
                        action="account.view", object="forged", fields=[], result="ok",
                        prev_hash=AuditEntry.query.filter_by(seq=2).one().entry_hash, entry_hash="f" * 64)
    db.session.add(forged)
    db.session.execute(update(AuditEntry).where(AuditEntry.seq >= 13).values(seq=AuditEntry.seq - 9))
    db.session.execute(update(AuditHead).values(seq=5))
    db.session.commit()
    code, output = _verify(app)
    assert code == 1 and "entry 3 was altered (or forged and inserted)" in output


def test_p17_verify_names_reordered_entries(app):
    _events(6)
    db.session.execute(update(AuditEntry).where(AuditEntry.seq == 4).values(seq=-1))
    db.session.execute(update(AuditEntry).where(AuditEntry.seq == 5).values(seq=4))
    db.session.execute(update(AuditEntry).where(AuditEntry.seq == -1).values(seq=5))
    db.session.commit()
    code, output = _verify(app)
    assert code == 1 and "entry 4 does not follow entry 3" in output


def test_p17_checkpoint_catches_a_truncated_and_patched_chain(app, tmp_path):
    _events(5)
    point = tmp_path / "outside" / "checkpoints.jsonl"
    result = app.test_cli_runner().invoke(args=["audit", "checkpoint", "--file", str(point)])
    assert result.exit_code == 0 and "checkpoint: entry 5" in result.output
    assert json.loads(point.read_text())["seq"] == 5
    # Someone with the database only drops the last two entries and patches the head to match.
    keep = db.session.execute(text("select entry_hash from privacy_audit_entry where seq = 3")).scalar()
    db.session.execute(AuditEntry.__table__.delete().where(AuditEntry.seq > 3))
    db.session.execute(update(AuditHead).values(seq=3, head_hash=keep))
    db.session.commit()
    assert _verify(app)[0] == 0  # the chain alone cannot tell...
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--checkpoint", str(point)])
    assert result.exit_code == 1 and "entry 5 no longer matches the checkpoint" in result.output


def test_p16_entries_name_fields_never_their_values_and_seal_the_ip(app, client, login_as):
    client.environ_base["REMOTE_ADDR"] = "203.0.113.77"
    user = login_as("subscriber")
    response = post_form(client, "/client/profile", {
        "first_name": "Quintessa", "last_name": "Vandermolen", "phone": "+14155550199"})
    assert response.status_code == 302
    entry = AuditEntry.query.filter_by(action="account.update").one()
    assert entry.fields == ["first_name", "last_name", "phone", "city", "country"]
    assert entry.account_id == user.account_id and entry.actor_id == user.id
    assert entry.ip == "203.0.113.77" and entry.request_id
    raw = db.session.execute(text("select * from privacy_audit_entry")).all()
    dump = repr(raw)
    for secret in ("Quintessa", "Vandermolen", "4155550199", "203.0.113.77"):
        assert secret not in dump


def test_p17_an_entry_is_three_statements_in_the_callers_transaction(app):
    """What the trail adds to every staff page view (bench/audit.py): move the head, insert
    the entry, set the head's hash. Nothing else is read or written, and it commits (or rolls
    back) with the caller's change."""
    _events(1)
    seen: list[str] = []

    def note(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        if "plugin_state" not in statement:  # the plugin host's own check, not the trail's
            seen.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        audit.record(AuditEvent("test.event", object="thing", ip="203.0.113.9"))
        assert seen == ["UPDATE", "INSERT", "UPDATE"], seen
        db.session.rollback()
        audit.record(AuditEvent("test.event", object="kept", ip="203.0.113.9"))
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    entries = AuditEntry.query.order_by(AuditEntry.seq).all()
    assert [(e.seq, e.object) for e in entries] == [(1, "thing 0"), (2, "kept")]
    assert entries[1].ip == "203.0.113.9" and entries[1].id.version == 7
    verdict = trail.verify()
    assert verdict.ok and verdict.checked == 2, verdict.message


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # a SQLite setting
def test_p17_a_staff_page_view_does_not_wait_for_a_disk_sync(app):
    """WAL with synchronous=NORMAL: a commit is an append, synced at checkpoints. FULL made
    every staff page view (its trail entry) wait for an fsync, 1.2-1.5x the page's time."""
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


APPEND_SCRIPT = textwrap.dedent("""
    import sys
    from panel.app import create_app
    from panel import audit
    from panel.audit import AuditEvent
    from panel.extensions import db
    app = create_app({"DATABASE_URL": sys.argv[1], "SECRET_KEY": sys.argv[2],
                      "MASTER_KEY": sys.argv[3], "INSTANCE_PATH": sys.argv[4]})
    with app.app_context():
        for i in range(int(sys.argv[5])):
            audit.record(AuditEvent("load.event", object=f"worker {sys.argv[6]} item {i}"))
            db.session.commit()
""")


def test_p17_parallel_writers_keep_the_chain_valid_and_in_order(app, tmp_path):
    url = app.config["DATABASE_URL"]
    workers, each = 4, 40
    procs = [subprocess.Popen([sys.executable, "-c", APPEND_SCRIPT, url, TEST_SECRET_KEY,
                               TEST_MASTER_KEY, str(tmp_path), str(each), str(w)],
                              cwd=Path(__file__).resolve().parents[2], env=dict(os.environ),
                              stderr=subprocess.PIPE)
             for w in range(workers)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()[-2000:]
    db.session.expire_all()
    verdict = trail.verify()
    assert verdict.ok, verdict.message
    assert verdict.checked == workers * each
    seqs = [s for (s,) in db.session.execute(text("select seq from privacy_audit_entry order by seq"))]
    assert seqs == list(range(1, workers * each + 1))


def test_p17_admin_area_shows_whether_the_chain_verifies(app, client, login_as):
    _events(3)
    login_as("admin")
    app.test_cli_runner().invoke(args=["cron"])
    page = client.get("/admin/audit/").get_data(as_text=True)
    assert "OK: the trail verifies" in page
    db.session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(result="edited"))
    db.session.commit()
    checked = post_form(client, "/admin/audit/").get_data(as_text=True)
    assert "BROKEN" in checked and "entry 2 was altered" in checked


def test_p17_only_admins_see_the_audit_page(client, login_as):
    login_as("staff")
    assert client.get("/admin/audit/").status_code == 404


def test_p17_key_rotation_and_retirement_are_on_the_trail(app, factories, monkeypatch):
    factories.subscriber()
    runner = app.test_cli_runner()
    old = runner.invoke(args=["keys", "status"]).output
    result = runner.invoke(args=["keys", "rotate", "--settle-seconds", "0"])
    assert result.exit_code == 0, result.output
    old_kid = next(line.split()[0] for line in old.splitlines() if " data " in line)
    from panel.keys import rotation

    monkeypatch.setattr(rotation, "SETTLE_SECONDS", 0)
    assert runner.invoke(args=["keys", "retire", old_kid]).exit_code == 0
    actions = [e.action for e in AuditEntry.query.order_by(AuditEntry.seq)]
    assert actions[-2:] == ["keys.rotate", "keys.retire"]
    assert trail.verify().ok


def test_p02_cron_finishes_an_interrupted_rotation(app, factories):
    from panel.crypto.keyring import add_primary_data_key
    from panel.keys.rotation import rotation_under_way

    factories.subscriber()
    add_primary_data_key(db.engine, app.extensions["panel.keyring"].master)  # as if killed here
    assert rotation_under_way(db.engine)
    output = app.test_cli_runner().invoke(args=["cron"]).output
    assert "crypto.reencrypt: re-encrypted" in output
    assert not rotation_under_way(db.engine)
    assert AuditEntry.query.filter_by(action="keys.rotate").count() == 1


def _verify_with(app, point) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--checkpoint", str(point)])
    return result.exit_code, result.output + result.stderr


def test_p17_a_missing_checkpoint_file_is_an_error_not_a_pass(app, tmp_path):
    _events(2)
    code, output = _verify_with(app, tmp_path / "nowhere.jsonl")
    assert code == 2, output
    assert "does not exist; nothing was verified" in output and "OK" not in output


def test_p17_an_unreadable_checkpoint_file_is_an_error(app, tmp_path, monkeypatch):
    _events(2)
    app.test_cli_runner().invoke(args=["audit", "checkpoint", "--file", str(tmp_path / "c.jsonl")])
    folder = tmp_path / "a-folder.jsonl"
    folder.mkdir()
    code, output = _verify_with(app, folder)  # unreadable even as root
    assert code == 2 and "is a directory" in output and "OK" not in output, output
    if os.geteuid() == 0:  # root reads a file whatever its mode: the refusal is simulated
        def refuse(self, *args, **kwargs):
            raise PermissionError(13, "Permission denied", str(self))

        monkeypatch.setattr(Path, "read_text", refuse)
    (tmp_path / "c.jsonl").chmod(0)
    try:
        code, output = _verify_with(app, tmp_path / "c.jsonl")
    finally:
        (tmp_path / "c.jsonl").chmod(0o600)
    assert code == 2 and "cannot be read (Permission denied)" in output, output


def test_p17_a_malformed_checkpoint_file_is_an_error(app, tmp_path):
    _events(2)
    good = json.dumps({"seq": 2, "hash": "0" * 64, "at": "2024-01-01T00:00:00+00:00"})
    point = tmp_path / "c.jsonl"
    for content, says in [
            ("", "holds no checkpoint"),
            (good + "\n{not json\n", "line 2 is not a checkpoint"),
            ('{"seq": "2", "hash": "x", "at": "y"}\n', "line 1 is not a checkpoint"),
            ('[1, 2]\n', "line 1 is not a checkpoint"),
            ('{"hash": "x", "at": "y"}\n', "line 1 is not a checkpoint")]:
        point.write_text(content)
        code, output = _verify_with(app, point)
        assert code == 2 and says in output and "OK" not in output, (content, output)
    point.write_bytes(b"\xff\xfe\n")
    code, output = _verify_with(app, point)
    assert code == 2 and "cannot be read" in output, output
