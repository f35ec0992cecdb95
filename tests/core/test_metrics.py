"""/metrics (issue 17): Prometheus text for the configured scrapers, 404 for everyone else;
per-rule request counts and latencies, failed sign-ins, the limiter's refusals, the outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from panel.config import ConfigError
from panel.db_types import utcnow
from panel.extensions import db
from panel.mail.models import FAILED
from panel.mail.outbox import queue
from tests.conftest import login, post_form

TOKEN = "scrape-token-0123456789abcdef"
OUTSIDE = {"REMOTE_ADDR": "203.0.113.9"}


def scrape(client: FlaskClient, **kwargs: object) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape, by name and sorted labels."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    assert response.content_type.startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_answers_this_machine_and_counts_requests_per_rule_not_url(client):
    before = scrape(client)
    for n in range(3):
        client.get(f"/login?next=/client/&email=ada{n}@example.org")
    after = scrape(client)
    key = {"rule": "/login", "method": "GET", "status": "200"}
    assert value(after, "panel_http_requests_total", **key) - \
        value(before, "panel_http_requests_total", **key) == 3
    assert value(after, "panel_http_request_duration_seconds_count", rule="/login", method="GET") \
        - value(before, "panel_http_request_duration_seconds_count", rule="/login", method="GET") == 3
    # a URL is never a label value: only the rule
    body = client.get("/metrics").get_data(as_text=True)
    assert "example.org" not in body and "?" not in body.replace("# HELP", "")


def test_a_path_with_a_token_is_counted_under_its_rule(client, app):
    client.get("/unsubscribe/not-a-real-token-abcdef0123456789")
    body = client.get("/metrics").get_data(as_text=True)
    assert "not-a-real-token" not in body
    if app.extensions["panel.plugins"].is_active("privacy"):
        assert 'rule="/unsubscribe/<path:token>"' in body


@pytest.mark.parametrize("how", [
    {"environ_base": OUTSIDE},
    {"environ_base": OUTSIDE, "headers": {"Authorization": "Bearer wrong-token-0123456789abcdef"}},
    {"environ_base": OUTSIDE, "headers": {"Authorization": TOKEN}},  # not a bearer token
    # loopback, but through a proxy the panel does not trust: the proxy is not the client
    {"headers": {"X-Forwarded-For": "203.0.113.9"}},
    {"headers": {"X-Real-IP": "203.0.113.9"}},
])
def test_metrics_is_not_found_for_anyone_else(make_app, how):
    app = make_app(METRICS_TOKEN=TOKEN)
    response = app.test_client().get("/metrics", **how)
    assert response.status_code == 404
    assert b"panel_" not in response.data
    assert b"There is nothing at this address." in response.data


def test_metrics_with_the_token_from_anywhere(make_app):
    app = make_app(METRICS_TOKEN=TOKEN)
    client = app.test_client()
    assert client.get("/metrics", environ_base=OUTSIDE,
                      headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_metrics_allow_list_and_a_trusted_proxy(make_app):
    app = make_app(METRICS_ALLOW="10.1.0.0/16", TRUSTED_PROXIES="127.0.0.1")
    client = app.test_client()
    assert client.get("/metrics").status_code == 404  # loopback is no longer listed
    assert client.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404
    # a forged entry to the left of the proxy's own is not believed
    assert client.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3, 203.0.113.9"}
                      ).status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200


@pytest.mark.parametrize(("settings", "named"), [
    ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN"),
    ({"METRICS_ALLOW": "10.0.0.0/8,not-an-address"}, "METRICS_ALLOW"),
])
def test_bad_metrics_settings_are_refused_by_name(make_app, settings, named):
    with pytest.raises(ConfigError, match=named):
        make_app(**settings)


def test_failed_sign_ins_are_counted_by_method_and_reason(client, factories, app):
    user = factories.subscriber()
    email = user.email
    db.session.commit()
    key = {"method": "password", "reason": "wrong_password"}
    before = value(scrape(client), "panel_signin_failures_total", **key)
    post_form(client, "/login", {"email": email, "password": "not the password"})
    post_form(client, "/login", {"email": "nobody@example.org", "password": "x"})
    assert value(scrape(client), "panel_signin_failures_total", **key) - before == 2
    assert login(client, email).status_code == 302
    assert value(scrape(client), "panel_signin_failures_total", **key) - before == 2


def test_the_limiters_refusals_are_counted_per_rule(make_app):
    app = make_app(LOGIN_LIMIT_PER_IP="2 per minute")
    client = app.test_client()
    before = value(scrape(client), "panel_rate_limit_refusals_total", rule="/login")
    answers = [post_form(client, "/login", {"email": f"x{n}@example.org", "password": "x"}
                         ).status_code for n in range(4)]
    assert answers.count(429) == 2
    assert value(scrape(client), "panel_rate_limit_refusals_total", rule="/login") - before == 2


def test_outbox_queued_oldest_age_and_failed(app, client):
    samples = scrape(client)
    assert value(samples, "panel_outbox_queued") == 0
    assert value(samples, "panel_outbox_oldest_queued_age_seconds") == 0
    old = queue(to="ada@example.org", subject="One", body="x")
    queue(to="bob@example.org", subject="Two", body="x")
    gone = queue(to="cy@example.org", subject="Three", body="x")
    old.created_at = utcnow() - timedelta(minutes=10)
    gone.status = FAILED
    db.session.commit()
    samples = scrape(client)
    assert value(samples, "panel_outbox_queued") == 2
    assert value(samples, "panel_outbox_failed") == 1
    assert 600 <= value(samples, "panel_outbox_oldest_queued_age_seconds") < 700


def test_jobs_last_run_and_result(app: Flask, client):
    from panel.jobs import Job, run_due

    def broken() -> str:
        raise RuntimeError("boom")

    run_due([Job("test.fine", timedelta(hours=1), lambda: "did it"),
             Job("test.broken", timedelta(hours=1), broken)], echo=lambda _line: None)
    samples = scrape(client)
    assert value(samples, "panel_job_last_run_ok", job="test.fine") == 1
    assert value(samples, "panel_job_last_run_ok", job="test.broken") == 0
    assert abs(value(samples, "panel_job_last_finished_timestamp_seconds", job="test.fine")
               - utcnow().timestamp()) < 60


def test_under_gunicorn_without_the_shared_folder_the_operator_is_told_once(client, caplog,
                                                                           monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    for _ in range(3):
        client.get("/metrics", environ_base={"SERVER_SOFTWARE": "gunicorn/27.0.1"})
    warned = [r for r in caplog.records if "PROMETHEUS_MULTIPROC_DIR" in r.getMessage()]
    assert len(warned) == 1
    assert "panel.gunicorn_conf" in warned[0].getMessage()
