"""The WHOIS server keeps the answers it built (issue 16); every kind of change to what it
publishes still shows at the very next query, on both databases (P19)."""

from __future__ import annotations

from typing import Any

from panel.accounts.models import Account
from panel.domains.models import Domain
from panel.extensions import db
from plugins.privacy.whois.models import DEFAULT_IDENTITY
from plugins.privacy.whois.services import lookup
from plugins.privacy.whois.services.lookup import REDACTED
from tests.conftest import post_form
from tests.privacy.whois.test_p19_whois_server import ask, fields

CONTACT = {"name": "Adele Newname", "organization": "", "email": "adele-new@example.org",
           "phone": "+442079460001", "street": "2 Low Road", "city": "Leeds", "state": "",
           "postcode": "LS1 1AA", "country": "GB"}


def _ask(server: Any, name: str) -> dict[str, list[str]]:
    return fields(ask(server.port, f"{name}\r\n".encode()))


def test_p19_every_change_shows_at_the_next_whois_query(app, client, factories, login_as,
                                                        start_whois):
    user = login_as("subscriber")
    account_id = user.account_id
    domain = factories.domain(user.account, "changing-swan.test", privacy=True)
    url = f"/client/domains/{domain.id}"
    server = start_whois()
    for _ in range(2):  # the second answer is the kept one
        assert _ask(server, "changing-swan.test")["Admin Name"] == [REDACTED]

    # privacy off: the contacts are published at once
    assert post_form(client, f"{url}/privacy", {"enabled": "0"}, token_from=url).status_code == 302
    shown = _ask(server, "changing-swan.test")
    assert shown["Admin Name"] != [REDACTED] and REDACTED not in str(shown)

    # a contact edit: the new data, not the kept answer
    assert post_form(client, f"{url}/contacts/admin", CONTACT).status_code == 302
    shown = _ask(server, "changing-swan.test")
    assert shown["Admin Name"] == ["Adele Newname"]
    assert shown["Admin Email"] == ["adele-new@example.org"]

    # privacy on again: redacted at once, the edited contact included
    assert post_form(client, f"{url}/privacy", {"enabled": "1"}, token_from=url).status_code == 302
    text = ask(server.port, b"changing-swan.test\r\n")
    assert fields(text)["Admin Name"] == [REDACTED] and "Adele" not in text and "Low Road" not in text

    # the privacy service's identity (the admin's WHOIS settings)
    identity = {k: getattr(lookup.identity(), k) for k in DEFAULT_IDENTITY}
    assert lookup.save_identity({**identity, "organization": "Swan Shield Ltd"})
    db.session.commit()
    assert _ask(server, "changing-swan.test")["Admin Organization"] == ["Swan Shield Ltd"]

    # a domain added: found at once; removed: gone at once
    assert ask(server.port, b"new-swan.test\r\n").startswith("No match")
    added = factories.domain(db.session.get(Account, account_id), "new-swan.test",
                             privacy=False)
    assert _ask(server, "new-swan.test")["Domain Name"] == ["NEW-SWAN.TEST"]
    db.session.delete(db.session.get(Domain, added.id))
    db.session.commit()
    assert ask(server.port, b"new-swan.test\r\n") == 'No match for "NEW-SWAN.TEST".\r\n'
    assert server.server.answers, "the server keeps no answer: this test would prove nothing"


def _rdap(client: Any, name: str) -> dict[str, Any]:
    answer = client.get(f"/rdap/domain/{name}")
    return {"status": answer.status_code, **answer.get_json(force=True)}


def _vcard(body: dict[str, Any], role: str) -> dict[str, Any]:
    entity = next(e for e in body["entities"] if e["roles"] == [role])
    return {p[0]: p[3] for p in entity["vcardArray"][1]}


def test_p19_every_change_shows_at_the_next_rdap_answer(app, client, factories, login_as):
    """RDAP keeps the JSON it built, checked against the rows on every request, as WHOIS does
    (issue 16); each change shows in the next answer, with the time of that answer."""
    user = login_as("subscriber")
    account_id = user.account_id
    domain = factories.domain(user.account, "changing-swan.test", privacy=True)
    url = f"/client/domains/{domain.id}"
    first, second = _rdap(client, "changing-swan.test"), _rdap(client, "changing-swan.test")
    assert first["redacted"] and _vcard(second, "administrative")["fn"] == ""
    stamp = next(e["eventDate"] for e in second["events"]
                 if e["eventAction"] == "last update of RDAP database")
    assert stamp.endswith("Z") and "{" not in stamp  # the time of this answer, filled in
    assert app.extensions["privacy.rdap.kept"], "RDAP keeps nothing: this test proves nothing"

    assert post_form(client, f"{url}/privacy", {"enabled": "0"}, token_from=url).status_code == 302
    shown = _rdap(client, "changing-swan.test")
    assert "redacted" not in shown and _vcard(shown, "administrative")["fn"]

    assert post_form(client, f"{url}/contacts/admin", CONTACT).status_code == 302
    assert _vcard(_rdap(client, "changing-swan.test"), "administrative")["fn"] == "Adele Newname"

    assert post_form(client, f"{url}/privacy", {"enabled": "1"}, token_from=url).status_code == 302
    hidden = _rdap(client, "changing-swan.test")
    assert hidden["redacted"] and "Adele" not in str(hidden) and "Low Road" not in str(hidden)

    identity = {k: getattr(lookup.identity(), k) for k in DEFAULT_IDENTITY}
    assert lookup.save_identity({**identity, "organization": "Swan Shield Ltd"})
    db.session.commit()
    assert _vcard(_rdap(client, "changing-swan.test"), "administrative")["org"] == "Swan Shield Ltd"

    added = factories.domain(db.session.get(Account, account_id), "new-swan.test", privacy=False)
    assert _rdap(client, "new-swan.test")["ldhName"] == "new-swan.test"
    db.session.delete(db.session.get(Domain, added.id))
    db.session.commit()
    assert _rdap(client, "new-swan.test")["status"] == 404
