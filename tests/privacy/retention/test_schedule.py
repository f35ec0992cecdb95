"""The retention schedule: the clock moves, data goes on time, the trail records each purge."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from panel.accounts.models import Account
from panel.app import create_app
from panel.billing.models import Invoice
from panel.config import ConfigError
from panel.db_types import utcnow
from panel.extensions import db
from plugins.privacy.access.models import AuditEntry
from plugins.privacy.access.services import trail
from plugins.privacy.retention.models import ActivityEvent, PurgeRun, SigninEvent, VisitorDay, VisitorNet
from plugins.privacy.retention.services import closure, visitor_logs
from plugins.privacy.retention.services import schedule as retention
from tests.conftest import app_config, login, post_form


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _purge_entries() -> list[AuditEntry]:
    return list(db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "retention.purge").order_by(AuditEntry.seq)).scalars())


def _log(tmp_path, day: date, lines: int = 3):
    text = "".join(f'203.0.113.{i} - - [{day:%d/%b/%Y}:10:00:00 +0000] "GET / HTTP/1.1" 200 512 '
                   f'"-" "Mozilla/5.0"\n' for i in range(lines))
    path = tmp_path / f"access-{day}.log"
    path.write_text(text)
    return path


def test_p09_p22_clock_through_three_months_and_seven_years(app, client, factories, clock,
                                                            tmp_path):
    user = factories.subscriber()
    account = user.account
    assert login(client, user).status_code == 302  # a sign-in: SigninEvent
    domain = factories.domain(account, "shop.test")
    visitor_logs.import_file(_log(tmp_path, utcnow().date()), domain)
    invoice = factories.invoice(account, issued_on=utcnow().date()).id
    closure.close(account, user)
    db.session.commit()
    assert _count(SigninEvent, SigninEvent.account_id == account.id) == 1
    assert _count(VisitorNet) == 1 and _count(VisitorDay) == 1

    clock(days=29)  # inside the grace period: nothing of the account goes
    retention.run()
    assert not closure.is_erased(account)
    assert db.session.get(Account, account.id).last_name is not None

    clock(days=2)  # 31 days after closure: erased exactly as the privacy center does
    run = retention.run()
    assert run.counts["closed_accounts"] == 1
    db.session.expire_all()
    erased = db.session.get(Account, account.id)
    assert closure.is_erased(erased) and erased.last_name is None and erased.phone is None
    assert db.session.get(Invoice, invoice) is not None  # billing stays

    clock(days=60)  # three months after the logs were written: logs go
    run = retention.run()
    assert run.counts["visitor_log"] == 3  # net, day and import record
    assert _count(VisitorNet) == 0 and _count(VisitorDay) == 0
    assert db.session.get(Invoice, invoice) is not None

    clock(days=365 * 7 - 100)  # just before seven years: the invoice stays
    assert retention.run().counts["billing"] == 0
    clock(days=100)  # seven years from the invoice date: it goes
    run = retention.run()
    assert run.counts["billing"] == 1
    assert db.session.get(Invoice, invoice) is None

    entries = _purge_entries()
    assert [e.object for e in entries if "=" in e.object] == [
        "purged closed_accounts=1", "purged visitor_log=3", "purged billing=1"]
    assert all(str(account.number) not in e.object and "shop.test" not in e.object
               for e in entries)  # counts only, no personal data
    assert trail.verify().ok


def test_p21_sign_in_logs_go_after_ninety_days_and_a_run_is_idempotent(app, factories, clock):
    user = factories.subscriber()
    now = utcnow()
    db.session.add_all([SigninEvent(user_id=user.id, account_id=user.account_id, method="password",
                                    at=now - timedelta(days=d)) for d in (1, 10, 89)])
    db.session.add(ActivityEvent(user_id=user.id, account_id=user.account_id,
                                 kind="signin.failed", at=now - timedelta(days=5)))
    db.session.commit()
    assert retention.run().counts["signin_log"] == 0
    clock(days=2)  # the 89-day-old one passes 90 days
    assert retention.run().counts["signin_log"] == 1
    assert retention.run().counts["signin_log"] == 0  # a second run finds nothing
    clock(days=90)
    run = retention.run()
    assert run.counts["signin_log"] == 2 and run.counts["activity_log"] == 1


def test_purge_runs_in_bounded_batches(app, factories):
    user = factories.subscriber()
    old = utcnow() - timedelta(days=200)
    db.session.add_all([SigninEvent(user_id=user.id, account_id=user.account_id,
                                    method="password", at=old) for _ in range(7)])
    db.session.commit()
    run = retention.run(batch=2)
    assert run.counts["signin_log"] == 7
    assert run.batches >= 4  # 2 + 2 + 2 + 1 at least; each its own transaction
    assert db.session.get(PurgeRun, run.id).longest_ms < 1000


def test_p22_new_rows_get_time_ordered_ids_so_purges_stay_local(app, factories, tmp_path):
    """Every generated row id is a UUIDv7 (time first): rows made later sort after earlier
    ones, so a purge of old rows deletes neighbouring index entries, not one per page. Walks
    every table whose id the panel generates, then the log writers that set ids themselves."""
    import time
    import uuid


    generated = [t for t in db.metadata.sorted_tables
                 if "id" in t.c and t.c.id.primary_key and t.c.id.default is not None]
    assert len(generated) > 20
    for table in generated:
        first = table.c.id.default.arg(None)
        time.sleep(0.002)
        later = table.c.id.default.arg(None)
        assert isinstance(first, uuid.UUID) and first.version == 7, table.name
        assert first.bytes < later.bytes, table.name
    user = factories.subscriber()
    signin = SigninEvent(user_id=user.id, account_id=user.account_id, method="password",
                         at=utcnow())
    signin.ip = "203.0.113.5"  # a sealed field binds to an id it makes itself
    db.session.add(signin)
    db.session.commit()
    visitor_logs.import_file(_log(tmp_path, date.today()), factories.domain(user.account))
    ids = [signin.id, *db.session.scalars(select(VisitorDay.id)),
           *db.session.scalars(select(VisitorNet.id))]
    assert ids and all(i.version == 7 for i in ids), ids


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # a PostgreSQL plan
def test_p22_a_purge_batch_reads_its_own_rows_not_the_whole_table(app, factories):
    """PostgreSQL planned "DELETE ... WHERE id IN (SELECT ... LIMIT n)" as a hash join over a
    scan of the whole table, for every batch (11x one bulk DELETE). Each batch must look its
    rows up in the index instead."""
    from sqlalchemy import event, insert

    from panel.db_types import uuid7

    user = factories.subscriber()
    old, new = utcnow() - timedelta(days=200), utcnow()
    db.session.execute(insert(SigninEvent), [
        {"id": uuid7(at), "user_id": user.id, "account_id": user.account_id, "at": at,
         "method": "password"} for at in [old] * 3000 + [new] * 3000])
    db.session.commit()
    db.session.connection().exec_driver_sql("ANALYZE privacy_signin_event")
    seen: list[tuple[str, object]] = []

    def note(conn, cursor, statement, parameters, *args) -> None:  # noqa: ANN001
        if statement.startswith("DELETE FROM privacy_signin_event"):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        assert retention.run(batch=500).counts["signin_log"] == 3000
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    statement, parameters = seen[0]
    plan = "\n".join(r[0] for r in db.session.connection().exec_driver_sql(
        "EXPLAIN " + statement, parameters))
    assert "Seq Scan on privacy_signin_event" not in plan, plan
    assert _count(SigninEvent) == 3000


def test_legal_hold_keeps_data_marked_and_release_lets_it_go(app, factories, clock):
    admin = factories.staff("admin")
    user = factories.subscriber()
    db.session.add(SigninEvent(user_id=user.id, account_id=user.account_id, method="password",
                               at=utcnow() - timedelta(days=100)))
    db.session.add(SigninEvent(user_id=admin.id, account_id=None, method="password",
                               at=utcnow() - timedelta(days=100)))  # staff: no account
    db.session.commit()
    hold, note = retention.place_hold(user.account, admin, "Case 42, court order")
    db.session.commit()
    assert note is None
    report = {line["key"]: line for line in retention.due()}
    assert report["signin_log"]["held"] == 1 and report["signin_log"]["due"] == 1
    run = retention.run()
    assert run.counts["signin_log"] == 1 and run.held["signin_log"] == 1  # only the staff one
    retention.release_hold(hold, admin, "Case closed")
    db.session.commit()
    assert retention.run().counts["signin_log"] == 1
    actions = [e.action for e in _purge_entries()] + [
        e.action for e in db.session.execute(select(AuditEntry).where(
            AuditEntry.action.in_(("retention.hold", "retention.release")))).scalars()]
    assert "retention.hold" in actions and "retention.release" in actions


def test_p09_no_erasure_path_goes_past_a_legal_hold(app, factories):
    from panel.accounts.erasure import ErasureRefused, erase

    admin = factories.staff("admin")
    user = factories.subscriber(first_name="Heldina")
    hold, _ = retention.place_hold(user.account, admin, "Case 7, preservation order")
    db.session.commit()
    with pytest.raises(ErasureRefused, match="legal hold"):
        erase(user.account, admin)  # what request fulfilment and removal requests call
    db.session.rollback()
    assert db.session.get(Account, user.account_id).first_name == "Heldina"
    retention.release_hold(hold, admin, "Order lifted")
    db.session.commit()
    erase(db.session.get(Account, user.account_id), admin)
    db.session.commit()
    assert db.session.get(Account, user.account_id).first_name == "[erased]"


def test_p09_legal_hold_on_an_erased_account_keeps_its_invoices(app, factories, clock):
    """Bad input: a hold on an account already erased is accepted, says what is left, and
    keeps the invoices past their seven years until released."""
    admin = factories.staff("admin")
    user = factories.subscriber()
    account = user.account
    invoice = factories.invoice(account, issued_on=utcnow().date()).id
    closure.close(account, user)
    db.session.commit()
    clock(days=31)
    retention.run()
    assert closure.is_erased(account)
    hold, note = retention.place_hold(account, admin, "Tax audit 2031")
    db.session.commit()
    assert note and "already erased" in note
    with pytest.raises(retention.HoldError, match="already under a legal hold"):
        retention.place_hold(account, admin, "again")
    with pytest.raises(retention.HoldError, match="reason"):
        retention.release_hold(hold, admin, "   ")
    clock(days=365 * 8)
    run = retention.run()
    assert run.counts["billing"] == 0 and run.held["billing"] == 1
    assert db.session.get(Invoice, invoice) is not None
    retention.release_hold(hold, admin, "Audit finished")
    db.session.commit()
    assert retention.run().counts["billing"] == 1


def test_p09_closed_account_with_unpaid_invoice_cannot_close(app, factories):
    user = factories.subscriber()
    factories.invoice(user.account, status="unpaid")
    with pytest.raises(closure.ClosureError, match="unpaid invoice"):
        closure.close(user.account, user)


@pytest.mark.parametrize("value", [0, -5, "abc", "1.5", "", None, True])
def test_retention_setting_must_be_a_positive_whole_number(tmp_path, value):
    with pytest.raises(ConfigError, match="RETENTION_LOG_DAYS must be a whole number"):
        create_app(app_config(f"sqlite:///{tmp_path / 'x.db'}", tmp_path,
                              RETENTION_LOG_DAYS=value))


@pytest.mark.parametrize(("name", "value"), [("RETENTION_BATCH_ROWS", 10**9),
                                             ("RETENTION_LOG_DAYS", 10**7),
                                             ("RETENTION_BILLING_YEARS", 10_000)])
def test_retention_setting_too_large_is_refused(tmp_path, name, value):
    """An unbounded batch would be one long transaction; a huge period overflows dates."""
    with pytest.raises(ConfigError, match=f"{name} must be at most"):
        create_app(app_config(f"sqlite:///{tmp_path / 'x.db'}", tmp_path, **{name: value}))


def test_retention_setting_from_the_environment_is_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("PANEL_RETENTION_BILLING_YEARS", "seven")
    with pytest.raises(ConfigError, match="RETENTION_BILLING_YEARS"):
        create_app(app_config(f"sqlite:///{tmp_path / 'x.db'}", tmp_path))
    monkeypatch.setenv("PANEL_RETENTION_BILLING_YEARS", "10")
    app = create_app(app_config(f"sqlite:///{tmp_path / 'x.db'}", tmp_path))
    assert app.config["RETENTION_BILLING_YEARS"] == 10


def test_admin_page_shows_rules_due_history_and_holds(app, client, factories, login_as):
    admin = login_as("admin")
    user = factories.subscriber()
    db.session.add(SigninEvent(user_id=user.id, account_id=user.account_id, method="password",
                               at=utcnow() - timedelta(days=100)))
    db.session.commit()
    page = client.get("/admin/privacy/retention").get_data(as_text=True)
    for text in ("Sign-in history", "90 days (RETENTION_LOG_DAYS)", "7 years from the invoice date",
                 "30 days after closure", "life of the account + 6 years", "Legal obligation"):
        assert text in page
    retention.run()
    page = client.get("/admin/privacy/retention").get_data(as_text=True)
    assert "<svg" in page and "signin_log: 1" in page
    number = user.account.number
    bad = post_form(client, "/admin/privacy/retention/holds", {"number": str(number),
                                                               "reason": ""},
                    token_from="/admin/privacy/retention")
    assert bad.status_code == 400 and "Give the reason" in bad.get_data(as_text=True)
    unknown = post_form(client, "/admin/privacy/retention/holds",
                        {"number": "99999999", "reason": "x"}, token_from="/admin/privacy/retention")
    assert unknown.status_code == 400
    assert "No account has that client number" in unknown.get_data(as_text=True)
    hostile = post_form(client, "/admin/privacy/retention/holds",
                        {"number": "1 OR 1=1", "reason": "x" * 3000},
                        token_from="/admin/privacy/retention")
    assert hostile.status_code == 400
    ok = post_form(client, "/admin/privacy/retention/holds",
                   {"number": str(number), "reason": "<script>Case 7</script>"},
                   token_from="/admin/privacy/retention")
    assert ok.status_code == 302
    page = client.get("/admin/privacy/retention").get_data(as_text=True)
    assert "&lt;script&gt;Case 7" in page and "<script>Case" not in page
    assert admin.role == "admin"


def test_staff_and_subscribers_cannot_open_the_retention_page(app, client, login_as):
    login_as("staff")
    assert client.get("/admin/privacy/retention").status_code == 404


def test_cli_report_and_run(app, factories):
    user = factories.subscriber()
    db.session.add(SigninEvent(user_id=user.id, account_id=user.account_id, method="password",
                               at=utcnow() - timedelta(days=100)))
    db.session.commit()
    runner = app.test_cli_runner()
    report = runner.invoke(args=["retention", "report"])
    assert report.exit_code == 0, report.output
    assert "Sign-in history: 90 days" in report.output and "due now: 1" in report.output
    ran = runner.invoke(args=["retention", "run"])
    assert "signin_log 1" in ran.output
    assert "signin_log 1" in runner.invoke(args=["retention", "report"]).output
