"""The plugin host: discovery, allow-list, activation, and every kind of extension point."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Blueprint

from panel.hooks import hook
from panel.hookspecs import hookimpl
from panel.jobs import Job
from plugins.privacy.access.models import AuditEntry
from tests.conftest import login, post_form


def test_privacy_plugin_is_discovered_through_its_entry_point(app):
    host = app.extensions["panel.plugins"]
    assert list(host.modules) == ["privacy"]
    assert host.info("privacy")["title"] == "Privacy"
    assert host.is_active("privacy")


def test_p05_subscriber_sees_which_fields_changed_and_by_whom(client, factories, login_as):
    user = login_as("subscriber")
    form = {"first_name": "Grace", "last_name": "Hopper", "phone": "+14155550123", "country": "US"}
    response = post_form(client, "/client/profile", form)
    assert response.status_code == 302
    page = client.get("/client/privacy/history").get_data(as_text=True)
    assert "first name, last name, phone, city, country" in page  # city was left blank
    assert "Grace" not in page and "+14155550123" not in page  # fields are named, values never
    assert "You" in page
    events = AuditEntry.query.filter_by(account_id=user.account_id, action="account.update").all()
    assert len(events) == 1 and events[0].actor_role == "subscriber"


def test_p05_reseller_edits_show_up_as_the_reseller(app, client, factories):
    reseller = factories.reseller()
    customer = factories.subscriber(reseller=reseller)
    login(client, reseller)
    post_form(client, f"/reseller/customers/{customer.account_id}",
              {"first_name": "New", "last_name": "Name", "phone": customer.account.phone})
    other = app.test_client()
    login(other, customer)
    page = other.get("/client/privacy/history").get_data(as_text=True)
    assert f"{reseller.display_name} (your provider) changed your details (first name, last name" in page


def test_admin_deactivates_and_reactivates_a_plugin(app, client, factories, login_as):
    subscriber = factories.subscriber()
    sub_client = app.test_client()
    login(sub_client, subscriber)
    assert "Change history" in sub_client.get("/client/").get_data(as_text=True)

    login_as("admin")
    page = client.get("/admin/plugins").get_data(as_text=True)
    assert "Privacy" in page and "active" in page
    assert post_form(client, "/admin/plugins", {"name": "privacy", "action": "deactivate",
                                                "confirm": "yes"}).status_code == 302
    assert "deactivated" in client.get("/admin/plugins").get_data(as_text=True)

    assert "Change history" not in sub_client.get("/client/").get_data(as_text=True)
    assert sub_client.get("/client/privacy/history").status_code == 404
    # its listeners stop too: a profile edit records nothing while it is off
    post_form(sub_client, "/client/profile", {"first_name": "Off", "last_name": "Line",
                                              "phone": subscriber.account.phone})
    assert AuditEntry.query.filter_by(action="account.update").count() == 0
    assert [e.action for e in AuditEntry.query.order_by(AuditEntry.seq)] == ["plugin.deactivate"]

    post_form(client, "/admin/plugins", {"name": "privacy", "action": "activate"})
    assert sub_client.get("/client/privacy/history").status_code == 200
    assert [e.action for e in AuditEntry.query.order_by(AuditEntry.seq)] == [
        "plugin.deactivate", "plugin.activate"]


def test_only_admins_manage_plugins(client, login_as):
    login_as("staff")
    assert client.get("/admin/plugins").status_code == 404


def test_unknown_plugin_name_in_the_toggle_is_404(client, login_as):
    login_as("admin")
    assert post_form(client, "/admin/plugins", {"name": "nosuch", "action": "deactivate"},
                     token_from="/admin/plugins").status_code == 404


class ExtensionProbe:
    """A plugin written in the test, using every extension point the host offers."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.bp = Blueprint("probe", __name__, url_prefix="/probe")

    @hookimpl
    def panel_account_created(self, account, actor):
        self.events.append(("created", str(account.number)))

    @hookimpl
    def panel_user_login(self, user, method):
        self.events.append(("login", method))

    @hookimpl
    def panel_jobs(self):
        return [Job("probe.daily", timedelta(days=1), lambda: "probed")]

    @hookimpl
    def panel_cli_commands(self):
        @click.command("probe")
        def probe() -> None:
            click.echo("probe says hello")

        return [probe]


def test_hooks_reach_account_login_job_and_cli_extensions(app, client, factories):
    probe = ExtensionProbe()
    app.extensions["panel.plugins"].pm.register(probe, name="probe")
    try:
        user = factories.subscriber()
        login(client, user)
        assert ("created", str(user.account.number)) in probe.events
        assert ("login", "password") in probe.events
        result = app.test_cli_runner().invoke(args=["cron"])
        assert "probe.daily: probed" in result.output
        jobs = [j.name for group in hook().panel_jobs() for j in group]
        assert "mail.send" in jobs and "probe.daily" in jobs
        for commands in hook().panel_cli_commands():
            for command in commands:
                if command.name == "probe":
                    assert "hello" in app.test_cli_runner().invoke(command).output
    finally:
        app.extensions["panel.plugins"].pm.unregister(probe)


def test_a_misspelled_hook_fails_loudly(app):
    import pluggy
    import pytest

    class Typo:
        @hookimpl
        def panel_acount_created(self, account, actor):  # misspelled on purpose
            pass

    pm = app.extensions["panel.plugins"].pm
    pm.register(Typo(), name="typo")
    try:
        with pytest.raises(pluggy.PluginValidationError):
            pm.check_pending()
    finally:
        pm.unregister(name="typo")
