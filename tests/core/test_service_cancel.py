"""No dead ends: a subscriber cancels a service, now or at the end of its paid period; staff and
the owning reseller see it; a provisioning plugin acts through ``panel_service_cancel``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from panel.billing import cancellation
from panel.billing.cancellation import ProvisioningError
from panel.billing.models import Service
from panel.db_types import today
from panel.extensions import db
from panel.hooks import hook
from panel.hookspecs import hookimpl
from panel.jobs import run_due
from panel.mail.models import OutboxMessage
from tests.conftest import login, post_form


@pytest.fixture
def register_plugin(app):
    pm = app.extensions["panel.plugins"].pm
    registered = []

    def register(plugin: object) -> None:
        pm.register(plugin)
        registered.append(plugin)

    yield register
    for plugin in registered:
        pm.unregister(plugin)


def _service(factories, account, due_in: int | None = 20) -> Service:
    service = factories.service(account)
    service.next_due_on = today() + timedelta(days=due_in) if due_in is not None else None
    db.session.commit()
    return service


def _cancel(client, service, **data):
    url = f"/client/services/{service.id}/cancel"
    return post_form(client, url, {"understood": "y", **data})


def test_subscriber_finds_the_cancel_link_and_cancels_now(client, factories, login_as):
    user = login_as("subscriber")
    service = _service(factories, user.account)
    listing = client.get("/client/services").get_data(as_text=True)
    assert f'href="/client/services/{service.id}/cancel"' in listing
    response = _cancel(client, service, when="now")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Shared hosting is cancelled." in page
    stored = db.session.get(Service, service.id)
    assert stored.status == "cancelled" and stored.cancelled_at is not None
    mail = db.session.execute(select(OutboxMessage)).scalars().one()
    assert mail.subject == "Your service is cancelled"
    assert "http://localhost/client/services" in mail.body  # tells them where to look
    assert "http://localhost/account/password" in mail.body  # and where to act if not them


def test_end_of_period_keeps_running_until_cron_ends_it(app, client, factories, login_as,
                                                         monkeypatch):
    user = login_as("subscriber")
    service = _service(factories, user.account, due_in=20)
    assert _cancel(client, service, when="end_of_period").status_code == 302
    stored = db.session.get(Service, service.id)
    assert stored.status == "active" and stored.cancel_on == today() + timedelta(days=20)
    page = client.get("/client/services").get_data(as_text=True)
    assert f"Ends on {stored.cancel_on:%d %B %Y}" in page
    mail = db.session.execute(select(OutboxMessage)).scalars().one()
    assert "Keep the service here" in mail.body and "http://localhost/client/services" in mail.body

    jobs = [j for group in hook().panel_jobs() for j in group if j.name == "billing.cancellations"]
    assert jobs, "panel cron does not end services"
    run_due(jobs, lambda _: None, force=True)
    assert db.session.get(Service, service.id).status == "active"  # not yet
    monkeypatch.setattr("panel.billing.cancellation.today", lambda: today() + timedelta(days=20))
    run_due(jobs, lambda _: None, force=True)
    db.session.expire_all()
    assert db.session.get(Service, service.id).status == "cancelled"


def test_a_pending_cancellation_can_be_withdrawn_or_made_immediate(client, factories, login_as):
    user = login_as("subscriber")
    service = _service(factories, user.account)
    _cancel(client, service, when="end_of_period")
    again = _cancel(client, service, when="end_of_period")
    assert again.status_code == 400 and "already ends on" in again.get_data(as_text=True)
    kept = post_form(client, f"/client/services/{service.id}/keep", token_from="/client/services")
    assert kept.status_code == 302
    stored = db.session.get(Service, service.id)
    assert stored.cancel_pending is False and stored.cancel_on is None
    _cancel(client, service, when="end_of_period")
    assert _cancel(client, service, when="now").status_code == 302
    assert db.session.get(Service, service.id).status == "cancelled"


@pytest.mark.parametrize(("data", "says"), [
    ({"when": ""}, "Choose when the service should end."),
    ({"when": "yesterday"}, "Not a valid choice"),
    ({"when": "now", "understood": ""}, "Tick the box to confirm."),
])
def test_bad_cancel_forms_say_why_and_save_nothing(client, factories, login_as, data, says):
    user = login_as("subscriber")
    service = _service(factories, user.account)
    response = _cancel(client, service, **data)
    assert response.status_code == 400 and says in response.get_data(as_text=True)
    stored = db.session.get(Service, service.id)
    assert stored.status == "active" and stored.cancel_requested_at is None
    assert db.session.execute(select(OutboxMessage)).first() is None


def test_someone_elses_or_a_malformed_service_id_is_not_found(client, factories, login_as):
    login_as("subscriber")
    other = _service(factories, factories.subscriber().account)
    for url in (f"/client/services/{other.id}/cancel", "/client/services/not-an-id/cancel"):
        assert client.get(url).status_code == 404
    assert post_form(client, f"/client/services/{other.id}/keep",
                     token_from="/client/services").status_code == 404
    assert db.session.get(Service, other.id).cancel_requested_at is None


def test_a_cancelled_service_cannot_be_cancelled_again(client, factories, login_as):
    user = login_as("subscriber")
    service = factories.service(user.account, status="cancelled")
    response = _cancel(client, service, when="now")
    assert response.status_code == 400
    assert "This service is cancelled: there is nothing to cancel." in response.get_data(as_text=True)


class Provisioner:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    @hookimpl
    def panel_service_cancel(self, service, actor):
        self.calls.append((service.product, actor))


class RefusingProvisioner:
    @hookimpl
    def panel_service_cancel(self, service, actor):
        service.product = "half changed"  # must not stick
        raise ProvisioningError("the server is in maintenance until 04:00 UTC")


class BrokenProvisioner:
    @hookimpl
    def panel_service_cancel(self, service, actor):
        raise ConnectionError("provisioning API timed out")


def test_a_provisioning_plugin_acts_when_the_cancellation_takes_effect(
        client, factories, login_as, register_plugin):
    plugin = Provisioner()
    register_plugin(plugin)
    user = login_as("subscriber")
    service = _service(factories, user.account)
    _cancel(client, service, when="end_of_period")
    assert plugin.calls == []  # the service runs to the end of its period
    _cancel(client, service, when="now")
    assert [p for p, _ in plugin.calls] == ["Shared hosting"]


@pytest.mark.parametrize(("plugin", "says"), [
    (RefusingProvisioner(), "the server is in maintenance until 04:00 UTC"),
    (BrokenProvisioner(), "the provisioning system could not apply it"),
])
def test_a_refusing_provisioner_leaves_the_service_as_it_was(client, factories, login_as,
                                                              register_plugin, plugin, says):
    register_plugin(plugin)
    user = login_as("subscriber")
    service = _service(factories, user.account)
    response = _cancel(client, service, when="now")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and says in page
    stored = db.session.get(Service, service.id)
    assert (stored.status, stored.product, stored.cancel_requested_at) == (
        "active", "Shared hosting", None)
    assert db.session.execute(select(OutboxMessage)).first() is None


def test_cron_retries_a_refused_cancellation_and_ends_the_others(app, factories, monkeypatch,
                                                                  register_plugin):
    class RefusesOne:
        @hookimpl
        def panel_service_cancel(self, service, actor):
            if service.domain_name == "stuck.test":
                raise ProvisioningError("busy")

    register_plugin(RefusesOne())
    user = factories.subscriber()
    stuck, fine = _service(factories, user.account), _service(factories, user.account)
    stuck.domain_name = "stuck.test"
    for s in (stuck, fine):
        cancellation.request(s, user, cancellation.END_OF_PERIOD)
    db.session.commit()
    monkeypatch.setattr("panel.billing.cancellation.today", lambda: today() + timedelta(days=30))
    assert cancellation.due_now() == 1
    db.session.expire_all()
    assert db.session.get(Service, stuck.id).status == "active"  # tried again next run
    assert db.session.get(Service, fine.id).status == "cancelled"


def test_staff_and_the_owning_reseller_see_the_request(app, client, factories, resellers):
    mine, theirs = resellers.c1, resellers.c2
    for owner in (mine, theirs):
        cancellation.request(_service(factories, owner.account), owner, cancellation.END_OF_PERIOD)
    db.session.commit()

    assert login(client, resellers.r1).status_code == 302
    assert "Cancellation requests (1 waiting)" in client.get("/reseller/").get_data(as_text=True)
    page = client.get("/reseller/cancellations").get_data(as_text=True)
    assert f">{mine.account.number}<" in page and f">{theirs.account.number}<" not in page
    customer = client.get(f"/reseller/customers/{mine.account.id}").get_data(as_text=True)
    assert "asked on" in customer and "ends on" in customer

    client = app.test_client()
    assert login(client, factories.staff()).status_code == 302
    assert "Cancellation requests (2 waiting)" in client.get("/admin/").get_data(as_text=True)
    page = client.get("/admin/cancellations").get_data(as_text=True)
    assert f">{mine.account.number}<" in page and f">{theirs.account.number}<" in page
