"""`panel user create`, `panel demo` and `panel cron` as an operator uses them."""

from __future__ import annotations

import json
from datetime import timedelta

import phonenumbers
from sqlalchemy import func, select

from panel.accounts.models import Account
from panel.auth.models import User
from panel.billing.models import Invoice
from panel.db_types import utcnow
from panel.extensions import db
from panel.jobs import Job, acquire, release, run_due
from panel.jobs_models import JobLock
from tests.conftest import login


def test_user_create_reads_the_password_from_stdin(app, client):
    result = app.test_cli_runner().invoke(
        args=["user", "create", "--role", "staff", "--email", "New.Staff@Example.com"],
        input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert "created staff New.Staff@Example.com" in result.output
    assert login(client, "new.staff@example.com", "a long enough password").status_code == 302
    # staff must enrol a second factor before anything else
    assert client.get("/admin/").headers["Location"].endswith("/account/2fa")


def test_user_create_refuses_a_short_password_and_a_taken_email(app, factories):
    runner = app.test_cli_runner()
    short = runner.invoke(args=["user", "create", "--role", "admin", "--email", "a@example.com"],
                          input="short\n")
    assert short.exit_code != 0 and "at least 10 characters" in short.output
    factories.staff(email="taken@example.com")
    taken = runner.invoke(args=["user", "create", "--role", "admin", "--email", "TAKEN@example.com"],
                          input="a long enough password\n")
    assert taken.exit_code != 0 and "already exists" in taken.output


def test_user_create_subscriber_gets_an_account(app):
    result = app.test_cli_runner().invoke(
        args=["user", "create", "--role", "subscriber", "--email", "cust@example.com", "--name", "Cust"],
        input="a long enough password\n")
    assert result.exit_code == 0, result.output
    user = db.session.execute(select(User).where(User.email.matches("cust@example.com"))).scalar_one()
    assert user.account is not None and user.account.first_name == "Cust"


def test_user_suspend_signs_out_and_refuses_sign_in_until_reinstated(app, client, factories):
    reseller = factories.reseller(email="r@example.com")
    assert login(client, reseller).status_code == 302
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "suspend", "--email", "R@example.com"])
    assert result.exit_code == 0 and "suspended reseller" in result.output, result.output
    assert client.get("/reseller/").status_code == 302  # the open session is gone
    assert login(client, reseller).status_code != 302
    assert runner.invoke(args=["user", "suspend", "--email", "nobody@example.com"]).exit_code != 0
    result = runner.invoke(args=["user", "suspend", "--email", "r@example.com", "--reinstate"])
    assert result.exit_code == 0 and "reinstated" in result.output
    assert login(client, reseller).status_code == 302


def test_demo_is_idempotent_and_prints_logins_as_json(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "created 35 logins" in first.output
    counts = (db.session.scalar(select(func.count()).select_from(User)),
              db.session.scalar(select(func.count()).select_from(Invoice)))
    second = runner.invoke(args=["demo", "--json"])
    assert second.exit_code == 0
    rows = json.loads(second.output)
    assert (db.session.scalar(select(func.count()).select_from(User)),
            db.session.scalar(select(func.count()).select_from(Invoice))) == counts
    by_email = {r["email"]: r for r in rows}
    assert by_email["admin@demo.test"]["role"] == "admin"
    assert {r["role"] for r in rows} == {"admin", "staff", "reseller", "subscriber"}
    assert len([r for r in rows if r["role"] == "subscriber"]) == 30
    assert all(r["password"] == "demo-password" and "totp_secret" in r for r in rows)


def test_demo_ownership_and_eight_years_of_invoices(app, client):
    app.test_cli_runner().invoke(args=["demo"])
    owner = {}
    for n in (1, 10, 11, 20, 21, 30):
        user = db.session.execute(select(User).where(User.email.matches(f"client{n}@demo.test"))).scalar_one()
        reseller = user.account.reseller
        owner[n] = reseller.email if reseller else None
        years = {i.issued_on.year for i in user.account.invoices}
        assert len(years) >= 8
        assert len(user.account.domains) >= 1 and all(len(d.contacts) == 4 for d in user.account.domains)
    assert owner == {1: "reseller1@demo.test", 10: "reseller1@demo.test", 11: "reseller2@demo.test",
                     20: "reseller2@demo.test", 21: None, 30: None}
    assert login(client, "reseller1@demo.test", "demo-password").status_code == 302
    assert client.get("/reseller/").get_data(as_text=True).count("/reseller/customers/") == 10
    customer = app.test_client()  # reseller1's customers see its white label
    assert login(customer, "client1@demo.test", "demo-password").status_code == 302
    assert "Harbour Web" in customer.get("/client/").get_data(as_text=True)


def test_every_demo_customer_can_save_their_profile_as_seeded(app, factories):
    """The demo's made-up phone numbers are valid for their country, so a demo customer who
    saves the profile unchanged is not told their own number is wrong."""
    app.test_cli_runner().invoke(args=["demo"])
    accounts = db.session.execute(select(Account)).scalars().all()
    bad = [a.phone for a in accounts
           if a.phone and not phonenumbers.is_valid_number(phonenumbers.parse(a.phone, None))]
    assert len(accounts) >= 30 and bad == []


def test_demo_password_option_resets_demo_logins(app, client):
    runner = app.test_cli_runner()
    runner.invoke(args=["demo"])
    runner.invoke(args=["demo", "--password", "another demo password"])
    assert login(client, "client5@demo.test", "another demo password").status_code == 302


def _job(name, calls, every=timedelta(hours=1), fail=False):
    def run():
        calls.append(name)
        if fail:
            raise RuntimeError("boom")
        return "ok"
    return Job(name, every, run)


def test_cron_runs_due_jobs_once(app):
    calls: list[str] = []
    jobs = [_job("a", calls), _job("b", calls)]
    run_due(jobs, print)
    run_due(jobs, print)  # not due again within the hour
    assert calls == ["a", "b"]
    run_due(jobs, print, force=True)
    assert calls == ["a", "b", "a", "b"]


def test_cron_does_nothing_while_another_run_holds_the_lock(app):
    calls: list[str] = []
    said: list[str] = []
    assert acquire("cron", timedelta(minutes=5))
    try:
        assert run_due([_job("a", calls)], said.append) is False
    finally:
        release("cron")
    assert calls == [] and "another `panel cron` is running" in said[0]
    assert run_due([_job("a", calls)], said.append) is True
    assert calls == ["a"]


def test_cron_takes_over_a_stale_lock(app):
    db.session.add(JobLock(name="cron", holder="dead-host:1", expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    calls: list[str] = []
    assert run_due([_job("a", calls)], print)
    assert calls == ["a"]


def test_one_failing_job_does_not_stop_the_others(app):
    calls: list[str] = []
    said: list[str] = []
    run_due([_job("bad", calls, fail=True), _job("good", calls)], said.append)
    assert calls == ["bad", "good"]
    assert said[0].startswith("bad: failed: RuntimeError") and said[1] == "good: ok"


def test_panel_cron_command_runs_the_core_jobs(app):
    result = app.test_cli_runner().invoke(args=["cron"])
    assert result.exit_code == 0, result.output
    assert "mail.send:" in result.output


def test_account_numbers_are_unique_and_increasing(factories):
    a, b = factories.subscriber(), factories.subscriber()
    assert b.account.number == a.account.number + 1
    assert db.session.scalar(select(func.count()).select_from(Account)) == 2
