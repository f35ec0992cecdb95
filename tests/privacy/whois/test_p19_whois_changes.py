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
