"""The panel's log (issue 17): one JSON object a line, one line per request with its id, rule,
status, duration and role, and never an email, phone, token, query string or full address."""

from __future__ import annotations

import json
import logging
import re

import pytest
from flask import Flask
from werkzeug.routing import Rule

from panel.applog import network, scrub
from panel.extensions import db

MARK = "ada.secret@example.org"
PHONE = "+442079460958"
CLIENT = "203.0.113.77"
FIELDS = {"time", "level", "logger", "msg", "request_id", "method", "rule", "status",
          "duration_ms", "role", "client"}


def lines(text: str) -> list[dict]:
    """Every line the panel wrote, each of which must be one JSON object."""
    found = []
    for line in text.splitlines():
        if line.strip():
            entry = json.loads(line)
            assert isinstance(entry, dict), line
            found.append(entry)
    return found


def requests_logged(text: str) -> list[dict]:
    return [e for e in lines(text) if e["logger"] == "panel.request"]


@pytest.mark.parametrize(("text", "kept", "gone"), [
    (f"mail to {MARK} failed: 550 <{MARK}>", "mail to [email] failed", MARK),
    (f"from {CLIENT} and 2001:db8:1234:5678::9", "203.0.113.0/24 and 2001:db8:1234::/48", "113.77"),
    ("GET /admin/?q=ada&next=/x HTTP/1.1", "GET /admin/[query] HTTP/1.1", "q=ada"),
    (f"call {PHONE} or +44 20 7946 0958", "call [phone] or [phone]", "7946"),
    ("link /reset/IjBiNmMyZDFlLTExMTEtMjIyMiI.aGk3Ng.Zx8_kq3lA0bcdEfGhIjKlMn", "/reset/[token]",
     "IjBiNmMyZDFlLTExMTEtMjIyMiI"),
    ("code 492039 accepted", "code [digits] accepted", "492039"),
    ("row 0b6c2d1e-1111-2222-3333-444455556666 at 12:30:45 on 127.0.0.1",
     "row 0b6c2d1e-1111-2222-3333-444455556666 at 12:30:45 on 127.0.0.1", "[ "),
])
def test_scrub_replaces_personal_data_and_keeps_the_rest(text, kept, gone):
    assert kept in scrub(text)
    assert gone not in scrub(text)


def test_addresses_are_cut_to_their_network():
    assert network("203.0.113.77") == "203.0.113.0/24"
    assert network("2001:db8:1234:5678::9") == "2001:db8:1234::/48"
    assert network("::ffff:203.0.113.77") == "203.0.113.0/24"
    assert network("not an address") == "-"


def test_every_line_is_json_and_other_loggers_are_scrubbed_too(app, capsys):
    logging.getLogger("panel").error("mail to %s failed from %s", MARK, CLIENT)
    try:
        raise ValueError(f"no account for {MARK}")
    except ValueError:
        logging.getLogger("sqlalchemy.engine").exception("statement failed")
    out = capsys.readouterr().err
    assert MARK not in out and CLIENT not in out
    [first, second] = lines(out)
    assert first["msg"] == "mail to [email] failed from 203.0.113.0/24"
    assert "ValueError: no account for [email]" in second["error"]


def test_a_failed_statement_never_shows_its_values(app):
    assert db.engine.hide_parameters


def test_one_line_per_request_with_id_rule_status_duration_role(client, capsys):
    client.get(f"/login?email={MARK}", headers={"X-Request-Id": "lb-7f3a9c01"},
               environ_base={"REMOTE_ADDR": CLIENT})
    [entry] = requests_logged(capsys.readouterr().err)
    assert set(entry) >= FIELDS, entry
    assert entry | {"time": None, "duration_ms": None, "pid": None} == {
        "time": None, "level": "INFO", "logger": "panel.request", "pid": None, "msg": "request",
        "request_id": "lb-7f3a9c01", "method": "GET", "rule": "/login", "status": 200,
        "duration_ms": None, "role": "anonymous", "client": "203.0.113.0/24"}
    assert entry["duration_ms"] >= 0


def test_a_request_id_that_is_not_plainly_an_id_is_replaced(client, capsys):
    client.get("/login", headers={"X-Request-Id": MARK})
    response = client.get("/login", headers={"X-Request-Id": "a" * 65})
    out = capsys.readouterr().err
    assert MARK not in out
    assert all(re.fullmatch(r"[0-9a-f]{32}", e["request_id"]) for e in requests_logged(out))
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])


def test_the_signed_in_role_is_on_its_requests(client, login_as, capsys):
    login_as("admin")
    capsys.readouterr()
    client.get("/admin/")
    [entry] = requests_logged(capsys.readouterr().err)
    assert (entry["rule"], entry["status"], entry["role"]) == ("/admin/", 200, "admin")


def _filled(rule: Rule) -> str:
    """The rule's URL with every variable holding an email address."""
    return re.sub(r"<[^<>]+>", MARK, rule.rule)


@pytest.mark.parametrize("role", [None, "admin", "subscriber"])
def test_no_route_logs_the_url_its_query_or_the_full_address(app: Flask, client, login_as,
                                                             capsys, role):
    """Every route, its variables and query holding an email and a phone, from a full IPv4
    address: the log has the rule, the /24 and nothing else of what was sent."""
    client.environ_base["REMOTE_ADDR"] = CLIENT  # the session is bound to its network
    if role:
        login_as(role)
    capsys.readouterr()
    seen = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()):
            continue
        client.get(f"{_filled(rule)}?email={MARK}&phone={PHONE}&token=IjBiNmMyZDFlLTExMTEt")
        seen += 1
    out = capsys.readouterr().err
    for secret in (MARK, "ada.secret", PHONE, "IjBiNmMyZDFlLTExMTEt", CLIENT, "?", "email="):
        assert secret not in out, secret
    entries = requests_logged(out)
    assert len(entries) >= seen > 20
    assert {e["rule"] for e in entries} <= {r.rule for r in app.url_map.iter_rules()} | {"<unmatched>"}
    assert {e["client"] for e in entries} == {"203.0.113.0/24"}
    assert (role or "anonymous") in {e["role"] for e in entries}
