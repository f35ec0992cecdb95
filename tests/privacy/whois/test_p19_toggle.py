"""The per-domain WHOIS privacy switch for subscribers, resellers and staff, through the
registrar hook; every change on the trail and in the domain's history (P19)."""

from __future__ import annotations

from datetime import date

import pytest

from panel.domains.models import Domain
from panel.domains.registrar import RegistrarError
from panel.extensions import db
from panel.hookspecs import hookimpl
from plugins.privacy.access.models import AuditEntry
from tests.conftest import csrf_token, post_form
from tests.privacy.whois.conftest import open_session


def _flash(client, response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_p19_subscriber_switches_privacy_and_sees_it_in_the_domain_history(client, factories, login_as):
    user = login_as("subscriber")
    domain = factories.domain(user.account, "mine.test", privacy=True)
    url = f"/client/domains/{domain.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Switch privacy off" in page and "History of this domain" in page
    response = post_form(client, f"{url}/privacy", {"enabled": "0"}, token_from=url)
    page = _flash(client, response)
    assert "WHOIS privacy for mine.test is now off." in page
    assert db.session.get(Domain, domain.id).privacy_enabled is False
    assert "You turned WHOIS privacy off for mine.test." in page and "Switch privacy on" in page
    entry = AuditEntry.query.filter_by(action="whois.privacy_off").one()
    assert entry.account_id == user.account_id and entry.actor_id == user.id
    assert client.get("/rdap/domain/mine.test").get_json(force=True).get("redacted") is None
    response = post_form(client, f"{url}/privacy", {"enabled": "1"}, token_from=url)
    assert "is now on" in _flash(client, response)
    assert client.get("/rdap/domain/mine.test").get_json(force=True)["redacted"]


@pytest.mark.parametrize("data", [{"enabled": "2"}, {}, {"enabled": "on" * 300},
                                  {"enabled": "1\x00"}])
def test_p19_bad_switch_values_change_nothing(client, factories, login_as, data):
    user = login_as("subscriber")
    domain = factories.domain(user.account, privacy=True)
    url = f"/client/domains/{domain.id}"
    page = _flash(client, post_form(client, f"{url}/privacy", data, token_from=url))
    assert "WHOIS privacy was not changed" in page
    assert db.session.get(Domain, domain.id).privacy_enabled is True
    assert AuditEntry.query.filter(AuditEntry.action.like("whois.privacy%")).count() == 0


def test_p19_switch_needs_csrf_and_scope(client, factories, login_as):
    other = factories.subscriber()
    theirs = factories.domain(other.account, privacy=True)
    user = login_as("subscriber")
    mine = factories.domain(user.account, privacy=True)
    assert client.post(f"/client/domains/{mine.id}/privacy", data={"enabled": "0"}).status_code == 400
    token = csrf_token(client, f"/client/domains/{mine.id}")
    for target in (theirs.id, "not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        response = client.post(f"/client/domains/{target}/privacy",
                               data={"enabled": "0", "csrf_token": token})
        assert response.status_code == 404
    assert db.session.get(Domain, theirs.id).privacy_enabled is True
    assert db.session.get(Domain, mine.id).privacy_enabled is True


def test_p19_next_must_stay_on_this_site(client, factories, login_as):
    user = login_as("subscriber")
    domain = factories.domain(user.account, privacy=True)
    url = f"/client/domains/{domain.id}"
    response = post_form(client, f"{url}/privacy", {"enabled": "0", "next": "//evil.example/x"},
                         token_from=url)
    assert response.headers["Location"].endswith(url)


class FailingRegistrar:
    @hookimpl
    def panel_registrar_set_privacy(self, domain, enabled):
        raise RegistrarError("the registry is closed for maintenance until 04:00 UTC")


class BrokenRegistrar:
    @hookimpl
    def panel_registrar_set_privacy(self, domain, enabled):
        domain.nameservers = "half.done.test"  # something half-applied must not stick
        raise ConnectionError("registrar API timed out")


@pytest.mark.parametrize(("plugin", "says"), [
    (FailingRegistrar(), "the registry is closed for maintenance until 04:00 UTC"),
    (BrokenRegistrar(), "the registrar could not apply it"),
])
def test_p19_a_failing_registrar_leaves_stored_and_published_state_alone(
        client, factories, login_as, register_plugin, plugin, says):
    user = login_as("subscriber")
    domain = factories.domain(user.account, "stuck.test", privacy=True)
    register_plugin(plugin)
    url = f"/client/domains/{domain.id}"
    page = _flash(client, post_form(client, f"{url}/privacy", {"enabled": "0"}, token_from=url))
    assert "WHOIS privacy for stuck.test was not changed" in page and says in page
    stored = db.session.get(Domain, domain.id)
    assert stored.privacy_enabled is True and stored.nameservers == "ns1.panel.test ns2.panel.test"
    assert client.get("/rdap/domain/stuck.test").get_json(force=True)["redacted"]
    entry = AuditEntry.query.filter_by(action="whois.privacy_off").one()
    assert entry.result == "refused by registrar"
    assert "refused by registrar" in page  # in the domain's history


def test_p19_the_own_registry_refuses_a_suspended_domain(client, factories, login_as):
    user = login_as("subscriber")
    domain = factories.domain(user.account, privacy=True)
    domain.status = "suspended"
    db.session.commit()
    url = f"/client/domains/{domain.id}"
    page = _flash(client, post_form(client, f"{url}/privacy", {"enabled": "0"}, token_from=url))
    assert "The domain is suspended" in page
    assert db.session.get(Domain, domain.id).privacy_enabled is True


def test_p19_reseller_switches_only_its_own_customers_domains(client, factories, login_as):
    reseller = login_as("reseller")
    customer = factories.subscriber(reseller=reseller)
    ours = factories.domain(customer.account, privacy=True)
    stranger = factories.subscriber()
    theirs = factories.domain(stranger.account, privacy=True)
    back = f"/reseller/customers/{customer.account_id}"
    response = post_form(client, f"/reseller/domains/{ours.id}/privacy", {"enabled": "0"},
                         token_from="/reseller/")
    assert response.status_code == 302 and response.headers["Location"].endswith(back)
    assert db.session.get(Domain, ours.id).privacy_enabled is False
    token = csrf_token(client, "/reseller/")
    response = client.post(f"/reseller/domains/{theirs.id}/privacy",
                           data={"enabled": "0", "csrf_token": token})
    assert response.status_code == 404
    assert db.session.get(Domain, theirs.id).privacy_enabled is True
    entry = AuditEntry.query.filter_by(action="whois.privacy_off").one()
    assert entry.actor_role == "reseller" and entry.account_id == customer.account_id


def test_p19_staff_switch_only_inside_an_access_session(client, factories, login_as):
    customer = factories.subscriber()
    domain = factories.domain(customer.account, privacy=True)
    login_as("staff")
    token = csrf_token(client, "/admin/")
    response = client.post(f"/admin/domains/{domain.id}/privacy",
                           data={"enabled": "0", "csrf_token": token})
    assert response.status_code == 302
    assert f"/admin/access/new/{customer.account_id}" in response.headers["Location"]
    assert db.session.get(Domain, domain.id).privacy_enabled is True
    open_session(client, customer.account_id)
    page_url = f"/admin/domains/{domain.id}"
    assert domain.name in client.get(page_url).get_data(as_text=True)
    response = post_form(client, f"{page_url}/privacy", {"enabled": "0"}, token_from=page_url)
    assert response.headers["Location"].endswith(page_url)
    assert db.session.get(Domain, domain.id).privacy_enabled is False
    entry = AuditEntry.query.filter_by(action="whois.privacy_off").one()
    assert entry.session_id is not None and entry.actor_role == "staff"


def test_p19_subscribers_cannot_use_the_staff_or_reseller_switch(client, factories, login_as):
    user = login_as("subscriber")
    domain = factories.domain(user.account, privacy=True)
    token = csrf_token(client, f"/client/domains/{domain.id}")
    for url in (f"/admin/domains/{domain.id}/privacy", f"/reseller/domains/{domain.id}/privacy"):
        assert client.post(url, data={"enabled": "0", "csrf_token": token}).status_code == 404


@pytest.mark.parametrize(("setting", "expected"), [(None, True), (False, False), ("off", False),
                                                   ("1", True)])
def test_p19_privacy_default_for_new_domains_is_a_setting(make_app, factories, setting, expected):
    extra = {} if setting is None else {"PRIVACY_WHOIS_DEFAULT": setting}
    app = make_app(**extra)
    with app.app_context():
        user = factories.subscriber()
        domain = Domain(account_id=user.account_id, name=f"new-{expected}-{setting}.test",
                        registered_on=date(2024, 1, 1), expires_on=date(2025, 1, 1))
        db.session.add(domain)
        db.session.commit()
        assert domain.privacy_enabled is expected
        db.session.remove()
