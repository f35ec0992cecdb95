"""RDAP (RFC 9083, RFC 7480, RFC 9537) for the panel's domains, checked with the Flask client
and with a real RDAP client library (whoisit) pointed at the live panel (P19)."""

from __future__ import annotations

import json

import pytest
import whoisit

from panel.extensions import db
from tests.privacy.whois.conftest import private_and_public

RDAP = "application/rdap+json"


def _bootstrap(base: str) -> None:
    """whoisit normally downloads IANA's bootstrap files; give it ours, naming this panel as
    the RDAP service for .test (the other registries are placeholders it requires)."""
    dummy = {"services": [[["placeholder"], ["https://rdap.invalid/"]]]}
    data = {"timestamp": 1, "dns": {"services": [[["test"], [f"{base}/rdap/"]]]},
            "asn": {"services": [[["64496-64511"], ["https://rdap.invalid/"]]]},
            "ipv4": {"services": [[["192.0.2.0/24"], ["https://rdap.invalid/"]]]},
            "ipv6": {"services": [[["2001:db8::/32"], ["https://rdap.invalid/"]]]},
            "object": dummy}
    whoisit.clear_bootstrapping()
    whoisit.load_bootstrap_data(json.dumps(data), allow_insecure=True)


@pytest.fixture
def rdap_client(live_server: str):
    _bootstrap(live_server)
    yield whoisit
    whoisit.clear_bootstrapping()


def test_p19_rdap_client_library_sees_redacted_private_and_full_public(factories, rdap_client):
    user, private, public = private_and_public(factories)
    secret = private.contact("registrant").name, private.contact("registrant").email
    public_name = public.contact("registrant").name
    public_email = public.contact("registrant").email
    db.session.commit()
    db.session.close()

    hidden = rdap_client.domain("hidden-swan.test", include_raw=True)
    assert hidden["name"] == "hidden-swan.test"
    assert hidden["registration_date"].year == 2020
    assert hidden["expiration_date"].year == 2030
    assert hidden["nameservers"] == ["ns1.panel.test", "ns2.panel.test"]
    registrant = hidden["entities"]["registrant"][0]
    assert registrant.get("email", "") == ""
    assert registrant["name"] == "Hosting Panel Domain Privacy"  # the privacy service's
    assert registrant["address"]["country"] == "United Kingdom"  # ICANN: country stays published
    assert "Registrant Name" in hidden["redacted"] and "Registrant Email" in hidden["redacted"]
    raw = json.dumps(hidden["raw"])
    assert secret[0] not in raw and secret[1] not in raw
    assert "http://localhost/whois/contact/hidden-swan.test" in raw

    shown = rdap_client.domain("open-swan.test")
    registrant = shown["entities"]["registrant"][0]
    assert registrant["name"] == public_name
    assert registrant["email"] == public_email
    assert shown["redacted"] == []


def test_p19_rdap_domain_object_and_rfc9537_redaction(client, factories):
    user, private, public = private_and_public(factories)
    response = client.get("/rdap/domain/HIDDEN-SWAN.test")
    assert response.status_code == 200
    assert response.mimetype == RDAP
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json(force=True)
    assert {"rdap_level_0", "redacted"} <= set(body["rdapConformance"])
    assert body["objectClassName"] == "domain" and body["ldhName"] == "hidden-swan.test"
    assert {e["eventAction"] for e in body["events"]} >= {"registration", "expiration"}
    assert [n["ldhName"] for n in body["nameservers"]] == ["ns1.panel.test", "ns2.panel.test"]
    roles = [e["roles"][0] for e in body["entities"]]
    assert roles == ["registrar", "registrant", "administrative", "technical", "billing"]
    assert body["notices"] and body["links"][0]["rel"] == "self"
    registrant = body["entities"][1]["vcardArray"]
    assert registrant[0] == "vcard"
    props = {p[0]: p for p in registrant[1]}
    assert props["fn"][3] == ""
    assert "email" not in props and "tel" not in props
    assert props["contact-uri"][3] == "http://localhost/whois/contact/hidden-swan.test"
    assert props["adr"][1]["cc"] == "GB"
    by_name = {r["name"]["type"]: r for r in body["redacted"]}
    assert by_name["Registrant Name"]["method"] == "emptyValue"
    assert by_name["Registrant Phone"]["method"] == "removal"
    assert by_name["Registrant Email"]["method"] == "replacementValue"
    assert by_name["Registrant Email"]["replacementPath"].endswith("[?(@[0]=='contact-uri')]")
    for r in body["redacted"]:
        assert r["pathLang"] == "jsonpath" and r["reason"]["description"]
        assert (r.get("prePath") or r.get("postPath")).startswith("$.entities[?(@.roles[0]==")

    public_body = client.get("/rdap/domain/open-swan.test").get_json(force=True)
    assert "redacted" not in public_body
    props = {p[0]: p for p in public_body["entities"][1]["vcardArray"][1]}
    assert props["email"][3] == public.contact("registrant").email


@pytest.mark.parametrize(("path", "status"), [
    ("/rdap/domain/nowhere.test", 404),
    ("/rdap/domain/not_a_domain", 400),
    ("/rdap/domain/-bad-.test", 400),
    ("/rdap/domain/" + "a" * 70 + ".test", 400),
    ("/rdap/domain/%00.test", 400),
    ("/rdap/domain/xn--zz-invalid-.test", 400),
    ("/rdap/domain/single", 400),
    ("/rdap/entity/ABC", 501),
    ("/rdap/nothing/here", 404),
])
def test_p19_rdap_errors_are_rdap_error_objects_with_cors(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert response.mimetype == RDAP
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json(force=True)
    assert body["errorCode"] == status and body["title"] and body["description"]


def test_p19_rdap_is_read_only_and_needs_no_csrf(client):
    response = client.post("/rdap/domain/nowhere.test", data={"x": "1"})
    assert response.status_code == 405
    assert response.get_json(force=True)["errorCode"] == 405
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_p19_rdap_help_and_idn(client, factories):
    user = factories.subscriber()
    factories.domain(user.account, "xn--bcher-kva.test", privacy=False)
    help_page = client.get("/rdap/help")
    assert help_page.status_code == 200 and help_page.mimetype == RDAP
    assert help_page.headers["Access-Control-Allow-Origin"] == "*"
    assert any(n["title"] == "Help" for n in help_page.get_json(force=True)["notices"])
    body = client.get("/rdap/domain/bücher.test").get_json(force=True)
    assert body["ldhName"] == "xn--bcher-kva.test" and body["unicodeName"] == "bücher.test"


def test_p19_rdap_rate_limit_is_an_rdap_error(make_app, factories):
    app = make_app(RDAP_RATE_LIMIT="2 per minute")
    with app.app_context():
        c = app.test_client()
        codes = [c.get("/rdap/domain/nowhere.test").status_code for _ in range(3)]
        assert codes == [404, 404, 429]
        late = c.get("/rdap/domain/nowhere.test")
        assert late.mimetype == RDAP and late.headers["Access-Control-Allow-Origin"] == "*"
