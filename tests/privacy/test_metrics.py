"""What the privacy plugin reports on /metrics (issue 17): data requests coming due and
overdue, the audit trail's last verification, the retention schedule's last run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from panel import audit
from panel.accounts.models import Account
from panel.audit import AuditEvent
from panel.db_types import today, utcnow
from panel.extensions import db
from panel.jobs_models import JobRun
from plugins.privacy.access.models import AuditEntry
from plugins.privacy.access.services.trail import VERIFY_JOB, verify_job
from plugins.privacy.center.services import requests
from plugins.privacy.reseller.services.requests import file_removal
from plugins.privacy.retention.services import schedule
from tests.core.test_metrics import scrape, value

pytestmark = pytest.mark.needs_privacy


def test_data_requests_due_within_7_days_and_overdue(app, client, factories):
    reseller = factories.reseller()
    subscribers = [factories.subscriber(reseller=reseller) for _ in range(4)]
    accounts = [db.session.get(Account, s.account_id) for s in subscribers]
    samples = scrape(client)
    for queue_name in ("requests", "removals"):
        assert value(samples, "panel_data_requests_overdue", queue=queue_name) == 0
        assert value(samples, "panel_data_requests_due_within_7_days", queue=queue_name) == 0

    late = requests.file(accounts[0], None, kind="export")
    soon = requests.file(accounts[1], None, kind="erasure")
    requests.file(accounts[2], None, kind="export")  # due in a month: neither
    done = requests.file(accounts[3], None, kind="export")
    late.due_on, soon.due_on = today() - timedelta(days=1), today() + timedelta(days=7)
    done.due_on, done.status = today() - timedelta(days=3), "fulfilled"  # answered: not counted
    removal = file_removal(reseller, accounts[0].id)
    removal.due_on = today() - timedelta(days=2)
    db.session.commit()

    samples = scrape(client)
    assert value(samples, "panel_data_requests_overdue", queue="requests") == 1
    assert value(samples, "panel_data_requests_due_within_7_days", queue="requests") == 1
    assert value(samples, "panel_data_requests_overdue", queue="removals") == 1
    assert value(samples, "panel_data_requests_due_within_7_days", queue="removals") == 0


def test_audit_verification_age_and_result(app, client, factories):
    samples = scrape(client)
    assert value(samples, "panel_audit_verify_age_seconds") == float("inf")  # never verified
    assert value(samples, "panel_audit_verify_ok") == 0

    for i in range(3):  # something on the trail
        audit.record(AuditEvent("test.event", object=f"thing {i}", fields=["a"]))
    db.session.commit()
    run = JobRun(name=VERIFY_JOB, last_started_at=utcnow(), last_finished_at=utcnow(),
                 last_result=verify_job())
    db.session.add(run)
    db.session.commit()
    samples = scrape(client)
    assert value(samples, "panel_audit_verify_ok") == 1
    assert 0 <= value(samples, "panel_audit_verify_age_seconds") < 60

    # someone with only the database edits an entry
    db.session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(object="nothing"))
    run.last_finished_at = utcnow() - timedelta(hours=25)
    run.last_result = verify_job()
    db.session.commit()
    samples = scrape(client)
    assert value(samples, "panel_audit_verify_ok") == 0
    assert value(samples, "panel_audit_verify_age_seconds") >= 25 * 3600


def test_last_retention_run(app, client):
    samples = scrape(client)
    assert value(samples, "panel_retention_last_run_timestamp_seconds") == 0
    assert value(samples, "panel_retention_last_run_age_seconds") == float("inf")
    schedule.run()
    samples = scrape(client)
    assert abs(value(samples, "panel_retention_last_run_timestamp_seconds")
               - utcnow().timestamp()) < 60
    assert value(samples, "panel_retention_last_run_age_seconds") < 60
