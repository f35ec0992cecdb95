"""`/metrics` in Prometheus' text format, for the configured scrapers only.

Counters come from panel.metrics (every worker's, summed); gauges are read from the database
at scrape time, so every worker and every app server answers the same: the outbox, the jobs'
last runs, and whatever the plugins report through ``panel_metrics``. Anyone else gets the
same 404 as for an address that does not exist: the page's existence is not confirmed.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy import func, select

from panel import metrics
from panel.db_types import utcnow
from panel.extensions import db
from panel.hooks import hook
from panel.jobs_models import JobRun
from panel.mail.models import FAILED, QUEUED, OutboxMessage

bp = Blueprint("monitoring", __name__)

#: Headers a proxy adds. A request carrying one that no trusted proxy accounted for came
#: through a proxy the panel does not know, so its loopback peer says nothing about the client.
PROXY_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")


def allowed() -> bool:
    """A bearer token equal to METRICS_TOKEN, or a client in METRICS_ALLOW."""
    token = current_app.config.get("METRICS_TOKEN")
    sent = request.headers.get("Authorization", "")
    if token and sent.startswith("Bearer ") and hmac.compare_digest(
            sent.removeprefix("Bearer ").strip().encode(), str(token).encode()):
        return True
    proxied = "werkzeug.proxy_fix.orig" in request.environ  # a trusted proxy named the client
    if not proxied and any(h in request.headers for h in PROXY_HEADERS):
        return False
    try:
        client = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if client.version == 6 and client.ipv4_mapped:
        client = client.ipv4_mapped
    return any(client in net for net in current_app.config["METRICS_ALLOW"])


@bp.route("/metrics")
def scrape() -> Any:
    if not allowed():
        abort(404)
    if "gunicorn" in request.environ.get("SERVER_SOFTWARE", "") and not metrics.multiprocess() \
            and not current_app.extensions.get("panel.metrics_warned"):
        current_app.extensions["panel.metrics_warned"] = True
        current_app.logger.warning("PROMETHEUS_MULTIPROC_DIR is not set: /metrics shows only the "
                                   "counts of the worker that answers. Serve with gunicorn "
                                   "-c python:panel.gunicorn_conf (see the README).")
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    body = generate_latest(_Scrape(metrics.counters()))  # type: ignore[arg-type]
    return Response(body, content_type=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})


class _Scrape:
    """The counters, then the gauges read now: what generate_latest walks."""

    def __init__(self, counters: Any) -> None:
        self.counters = counters

    def collect(self) -> Iterator[Any]:
        yield from self.counters.collect()
        yield from gauges()


def gauges() -> Iterator[Any]:
    """The database's state as gauges: the outbox, the jobs, and the plugins' readings."""
    from prometheus_client.core import GaugeMetricFamily

    now = utcnow()
    counts = dict(db.session.execute(
        select(OutboxMessage.status, func.count()).where(OutboxMessage.status.in_((QUEUED, FAILED)))
        .group_by(OutboxMessage.status)).all())
    oldest = db.session.execute(select(func.min(OutboxMessage.created_at))
                                .where(OutboxMessage.status == QUEUED)).scalar()
    yield GaugeMetricFamily("panel_outbox_queued", "Messages waiting to be delivered.",
                            value=counts.get(QUEUED, 0))
    yield GaugeMetricFamily("panel_outbox_oldest_queued_age_seconds", "How long the oldest "
                            "queued message has waited (0 when none waits).",
                            value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
    yield GaugeMetricFamily("panel_outbox_failed", "Messages given up on after every attempt.",
                            value=counts.get(FAILED, 0))

    finished = GaugeMetricFamily("panel_job_last_finished_timestamp_seconds", "When each "
                                 "`panel cron` job last finished (Unix time).", labels=["job"])
    succeeded = GaugeMetricFamily("panel_job_last_run_ok", "Whether each job's last run "
                                  "finished without failing (1) or not (0).", labels=["job"])
    for run in db.session.execute(select(JobRun).order_by(JobRun.name)).scalars():
        if run.last_finished_at is not None:
            finished.add_metric([run.name], run.last_finished_at.timestamp())
            succeeded.add_metric([run.name], 0.0 if (run.last_result or "").lower()
                                 .startswith("failed") else 1.0)
    yield finished
    yield succeeded

    families: dict[str, Any] = {}
    for readings in hook().panel_metrics():
        for r in readings:
            family = families.get(r.name)
            if family is None:
                family = families[r.name] = GaugeMetricFamily(r.name, r.help,
                                                              labels=sorted(r.labels))
            family.add_metric([r.labels[k] for k in sorted(r.labels)], r.value)
    yield from families.values()
    db.session.rollback()  # a read-only look: end the transaction, hold no snapshot open
