"""The privacy service's identity is an admin setting that WHOIS and RDAP publish (P19), and
`panel whois serve` runs the server from the command line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from plugins.privacy.access.models import AuditEntry
from plugins.privacy.whois.services import lookup as whois_data
from tests.conftest import TEST_MASTER_KEY, TEST_SECRET_KEY, post_form
from tests.pg import free_port

IDENTITY = {"name": "Swan Privacy", "organization": "Swan Privacy Ltd", "street": "9 Lake Road",
            "city": "Bristol", "state": "", "postcode": "BS1 4DJ", "country": "GB",
            "phone": "+44 117 496 0000", "web_form": "https://privacy.example/contact/{domain}"}


def test_p19_admin_edits_the_privacy_service_and_rdap_shows_it(client, factories, login_as):
    user = factories.subscriber()
    factories.domain(user.account, "hidden.test", privacy=True)
    login_as("admin")
    response = post_form(client, "/admin/whois/settings", IDENTITY)
    assert response.status_code == 302
    body = client.get("/rdap/domain/hidden.test").get_json(force=True)
    props = {p[0]: p for p in body["entities"][1]["vcardArray"][1]}
    assert props["org"][3] == "Swan Privacy Ltd"
    assert props["contact-uri"][3] == "https://privacy.example/contact/hidden.test"
    entry = AuditEntry.query.filter_by(action="whois.settings").one()
    assert "organization" in entry.fields and "Swan" not in entry.object
    assert whois_data.identity().phone == "+441174960000"


@pytest.mark.parametrize(("data", "error"), [
    ({"organization": ""}, "Organisation is required"),
    ({"phone": "12345"}, "international form"),
    ({"country": "XX"}, "Choose a country"),
    ({"web_form": "javascript:alert(1)"}, "starting with https://"),
    ({"street": "x" * 300}, "at most 200"),
    ({"name": "bad\x00"}, "control characters"),
])
def test_p19_bad_identity_settings_are_refused(client, login_as, data, error):
    login_as("admin")
    response = post_form(client, "/admin/whois/settings", {**IDENTITY, **data})
    assert response.status_code == 400 and error in response.get_data(as_text=True)
    assert whois_data.identity().organization == "Hosting Panel Domain Privacy"


def test_p19_only_admins_edit_the_identity(client, login_as):
    login_as("staff")
    assert client.get("/admin/whois/settings").status_code == 404


def test_p19_panel_whois_serve_answers_on_the_given_port(app, factories, tmp_path):
    user = factories.subscriber()
    factories.domain(user.account, "cli-swan.test", privacy=True)
    port = free_port()
    env = {**os.environ, "PANEL_DATABASE_URL": app.config["DATABASE_URL"],
           "PANEL_SECRET_KEY": TEST_SECRET_KEY, "PANEL_MASTER_KEY": TEST_MASTER_KEY,
           "PANEL_INSTANCE_PATH": str(tmp_path), "PANEL_BASE_URL": "https://panel.example"}
    panel = os.path.join(os.path.dirname(sys.executable), "panel")
    proc = subprocess.Popen([panel, "whois", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--timeout", "1"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert "listening" in proc.stderr.readline()
        out = subprocess.run(["whois", "-h", "127.0.0.1", "-p", str(port), "cli-swan.test"],
                             capture_output=True, text=True, timeout=20).stdout
        assert "Domain Name: CLI-SWAN.TEST" in out
        assert "Registrant Email: https://panel.example/whois/contact/cli-swan.test" in out
        bad = subprocess.run([panel, "whois", "serve", "--port", str(port), "--rate", "lots"],
                             env=env, capture_output=True, text=True, timeout=30)
        assert bad.returncode != 0 and "is not a rate" in bad.stderr
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            start = time.monotonic()
            assert b"no query received in time" in s.recv(1000)
            assert time.monotonic() - start < 5
    finally:
        proc.terminate()
        proc.wait(10)
