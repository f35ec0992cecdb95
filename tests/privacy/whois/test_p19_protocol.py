"""WHOIS and RDAP protocol details a client notices (P19): the country in every jCard address,
an "Updated Date" that follows the registration data, no control bytes echoed on port 43, an
over-long RDAP URL answered in RDAP JSON by a real gunicorn, Retry-After only when limited."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from panel.accounts.erasure import erase
from panel.extensions import db
from tests.conftest import TEST_MASTER_KEY, TEST_SECRET_KEY, login, post_form
from tests.privacy.whois.conftest import private_and_public
from tests.privacy.whois.test_p19_rdap import rdap_client  # noqa: F401 - fixture
from tests.privacy.whois.test_p19_whois_server import ask, fields, whois

ROOT = Path(__file__).resolve().parents[3]
RDAP = "application/rdap+json"
RDAP_ROLES = ("registrant", "administrative", "technical", "billing")


# --- the country in jCard addresses ------------------------------------------------------


def test_p19_rdap_client_library_shows_every_contacts_country(factories, rdap_client):  # noqa: F811
    private_and_public(factories)
    db.session.commit()
    db.session.close()
    for name in ("hidden-swan.test", "open-swan.test"):  # with privacy on and off
        found = rdap_client.domain(name, include_raw=True)
        for role in RDAP_ROLES:
            assert found["entities"][role][0]["address"]["country"] == "United Kingdom", (name,
                                                                                          role)
        for entity in found["raw"]["entities"][1:]:  # RFC 7095: ["adr", params, "text", [7]]
            [adr] = [p for p in entity["vcardArray"][1] if p[0] == "adr"]
            assert adr[1] == {"cc": "GB"} and adr[2] == "text"
            assert len(adr[3]) == 7 and adr[3][6] == "United Kingdom"


# --- Updated Date / last changed ---------------------------------------------------------


def _last_changed(client, name: str) -> str:
    body = client.get(f"/rdap/domain/{name}").get_json(force=True)
    return next(e["eventDate"] for e in body["events"] if e["eventAction"] == "last changed")


def _whois_updated(start_whois, name: str) -> str:
    server = start_whois()
    return fields(whois(server.port, name))["Updated Date"][0]


def test_p19_updated_date_follows_the_registration_data_not_page_views(
        app, client, factories, start_whois):
    user, private, _public = private_and_public(factories)
    url, email = f"/client/domains/{private.id}", user.email
    # never changed since it was registered: the registration is the last change, not the
    # moment the panel's row was written
    assert _last_changed(client, "hidden-swan.test") == "2020-01-01T00:00:00Z"
    assert _whois_updated(start_whois, "hidden-swan.test") == "2020-01-01T00:00:00Z"

    login(client, email)
    for page in (url, f"{url}/contacts/admin", "/client/domains", "/whois/contact/hidden-swan.test",
                 "/rdap/domain/hidden-swan.test"):
        assert client.get(page).status_code == 200, page
    assert post_form(client, f"{url}/relay", {"enabled": "0"}, token_from=url).status_code == 302
    assert _last_changed(client, "hidden-swan.test") == "2020-01-01T00:00:00Z"  # nothing published

    before = datetime.now(UTC).replace(microsecond=0)
    contact = {"name": "Admin Person", "organization": "", "email": "admin-new@example.org",
               "phone": "+442079460000", "street": "1 High Street", "city": "London",
               "state": "", "postcode": "SW1A 1AA", "country": "GB"}
    assert post_form(client, f"{url}/contacts/admin", contact).status_code == 302
    changed = _last_changed(client, "hidden-swan.test")
    assert datetime.fromisoformat(changed) >= before
    assert _whois_updated(start_whois, "hidden-swan.test") == changed

    time.sleep(1.1)  # the published dates have whole seconds
    assert post_form(client, f"{url}/contacts/admin", contact).status_code == 302  # no change
    assert _last_changed(client, "hidden-swan.test") == changed
    assert post_form(client, f"{url}/privacy", {"enabled": "0"}, token_from=url).status_code == 302
    assert _last_changed(client, "hidden-swan.test") > changed


def test_p19_erasing_the_account_moves_the_updated_date(client, factories):
    user, private, _public = private_and_public(factories)
    before = datetime.now(UTC).replace(microsecond=0)
    erase(user.account, None)
    db.session.commit()
    assert datetime.fromisoformat(_last_changed(client, "hidden-swan.test")) >= before


# --- control characters on port 43 -------------------------------------------------------

CONTROLS = [chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))]
_UNSAFE = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)|(?<!\r)\n")


def test_p19_whois_server_never_echoes_a_control_character(app, start_whois):
    server = start_whois()
    for ch in CONTROLS:
        for payload in (f"bad{ch}name.test\r\n".encode(),  # as UTF-8 text
                        b"bad" + bytes([ord(ch)]) + b"name.test\r\n" if ord(ch) > 0x7F else b""):
            if not payload:
                continue
            answer = ask(server.port, payload)
            assert answer and not _UNSAFE.search(answer), (hex(ord(ch)), payload, answer)
        if ch != "\n":
            answer = ask(server.port, f"bad{ch}name.test\r\n".encode())
            assert f'No match for "BAD\\x{ord(ch):02X}NAME.TEST".' in answer, (hex(ord(ch)), answer)


# --- Retry-After on RDAP -----------------------------------------------------------------


def test_p19_rdap_says_when_to_retry_only_when_it_refuses(make_app, factories):
    app = make_app(RDAP_RATE_LIMIT="2 per minute")
    with app.app_context():
        user = factories.subscriber()
        factories.domain(user.account, "swan.test", privacy=True)
        c = app.test_client()
        answers = [c.get("/rdap/domain/swan.test"), c.get("/rdap/domain/nowhere.test"),
                   c.get("/rdap/domain/swan.test")]
        assert [r.status_code for r in answers] == [200, 404, 429]
        assert all("Retry-After" not in r.headers for r in answers[:2])
        assert answers[2].mimetype == RDAP and 0 < int(answers[2].headers["Retry-After"]) <= 60
        db.session.remove()


# --- an over-long RDAP URL under gunicorn ------------------------------------------------


def _served_options() -> list[str]:
    """The gunicorn options `make run` serves with (the Makefile is the served config)."""
    recipe = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    line = next(ln for ln in recipe.splitlines() if "gunicorn" in ln and "panel.wsgi:app" in ln)
    words = shlex.split(line[line.index("gunicorn") + len("gunicorn"):])
    keep, out = {"--limit-request-line", "--limit-request-field_size", "--limit-request-fields"}, []
    for i, word in enumerate(words):
        if word in keep:
            out += [word, words[i + 1]]
    return out


def _raw_get(port: int, target: str) -> tuple[str, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                  .encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines)}
    return status, headers, body


@pytest.fixture
def gunicorn(database_url: str, tmp_path: Path, app):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PANEL_DATABASE_URL": database_url, "PANEL_SECRET_KEY": TEST_SECRET_KEY,
           "PANEL_MASTER_KEY": TEST_MASTER_KEY, "PANEL_INSTANCE_PATH": str(tmp_path),
           "PANEL_BASE_URL": "http://localhost", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "1", "--bind",
                             f"127.0.0.1:{port}", *_served_options(), "panel.wsgi:app"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "gunicorn did not listen within 60 s"
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_p19_an_over_long_rdap_url_gets_an_rdap_error_from_gunicorn(gunicorn):
    for length in (4200, 8100):  # past gunicorn's default 4094 and the app's 4096, up to 8190
        target = "/rdap/domain/" + "a" * (length - len("/rdap/domain/.test")) + ".test"
        status, headers, body = _raw_get(gunicorn, target)
        assert status.startswith("HTTP/1.1 414"), (length, status, body[:200])
        assert headers["content-type"] == RDAP
        assert headers["access-control-allow-origin"] == "*"
        error = json.loads(body)
        assert error["errorCode"] == 414 and error["description"]
    # a long Unicode name, percent-encoded, is still looked up rather than refused for length
    status, headers, body = _raw_get(gunicorn, "/rdap/domain/" + "%C3%BC" * 60 + ".test")
    assert status.startswith("HTTP/1.1 400") and headers["content-type"] == RDAP
    assert json.loads(body)["errorCode"] == 400
