"""The contact relay's limits hold whatever spelling of the domain's name the URL uses, and the
per-address limit follows the connecting address, not a header the client writes (P19)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from panel.extensions import db
from plugins.privacy.whois.models import RelayMessage
from tests.conftest import CSRF_RE, csrf_token

GOOD = {"name": "Peter Buyer", "email": "peter@buyer.example",
        "message": "Hello, I would like to buy your domain for my bakery. Are you interested?"}

#: every way to write "bakery.test" that IDNA (UTS 46) maps to the same name
SPELLINGS = [
    "bakery.test",
    "BAKERY.TEST",
    "Bakery.Test",
    "bakery.test.",  # the root's trailing dot
    "bakery\u3002test",  # IDEOGRAPHIC FULL STOP
    "bakery\uff0etest",  # FULLWIDTH FULL STOP
    "bakery\uff61test",  # HALFWIDTH IDEOGRAPHIC FULL STOP
    "bakery.test\u3002",  # a trailing ideographic full stop
    "\uff42\uff41\uff4b\uff45\uff52\uff59.test",  # FULLWIDTH letters
    "\uff22\uff21\uff2b\uff25\uff32\uff39\uff0e\uff34\uff25\uff33\uff34",  # all FULLWIDTH capitals
    "bak\u00adery.test",  # a SOFT HYPHEN, which UTS 46 ignores
]


def _post(client, name: str, ip: str = "192.0.2.1", **headers: str):
    url = "/whois/contact/" + quote(name, safe="")
    env = {"REMOTE_ADDR": ip}
    page = client.get(url, environ_base=env)
    assert page.status_code == 200, name
    match = CSRF_RE.search(page.get_data(as_text=True))
    token = match.group(1) or match.group(2)
    return client.post(url, data={**GOOD, "csrf_token": token}, environ_base=env,
                       headers=headers)


def test_p19_every_spelling_of_a_name_shares_the_domains_one_allowance(make_app, factories):
    limit = 3
    app = make_app(WHOIS_RELAY_LIMIT_PER_IP="1000 per hour",
                   WHOIS_RELAY_LIMIT_PER_DOMAIN=f"{limit} per day")
    with app.app_context():
        user = factories.subscriber()
        factories.domain(user.account, "bakery.test", privacy=True)
        codes = {}
        for n, name in enumerate(SPELLINGS):  # each from its own address, as a spammer would
            codes[name] = _post(app.test_client(), name, ip=f"192.0.2.{n + 1}").status_code
        assert list(codes.values()) == [200] * limit + [429] * (len(SPELLINGS) - limit), codes
        assert RelayMessage.query.count() == limit
        db.session.remove()


def test_p19_another_domain_keeps_its_own_allowance(make_app, factories):
    app = make_app(WHOIS_RELAY_LIMIT_PER_IP="1000 per hour", WHOIS_RELAY_LIMIT_PER_DOMAIN="1 per day")
    with app.app_context():
        user = factories.subscriber()
        factories.domain(user.account, "bakery.test", privacy=True)
        factories.domain(user.account, "butcher.test", privacy=True)
        client = app.test_client()
        assert _post(client, "bakery.test").status_code == 200
        assert _post(client, "BAKERY\uff0eTEST").status_code == 429
        assert _post(client, "butcher.test").status_code == 200
        db.session.remove()


@pytest.mark.parametrize("name", ["nowhere.test", "NOWHERE\u3002TEST", "not_a_domain"])
def test_p19_unknown_names_answer_as_before_and_spend_no_domains_allowance(
        make_app, factories, name):
    app = make_app(WHOIS_RELAY_LIMIT_PER_IP="1000 per hour", WHOIS_RELAY_LIMIT_PER_DOMAIN="1 per day")
    with app.app_context():
        user = factories.subscriber()
        factories.domain(user.account, "bakery.test", privacy=True)
        client = app.test_client()
        url = "/whois/contact/" + quote(name, safe="")
        form = {**GOOD, "csrf_token": csrf_token(client, "/login")}
        assert [client.post(url, data=form).status_code for _ in range(2)] == [404, 429]
        assert _post(client, "bakery.test").status_code == 200
        db.session.remove()


def test_p19_the_per_address_limit_ignores_forwarded_for_headers(make_app, factories):
    app = make_app(WHOIS_RELAY_LIMIT_PER_IP="2 per hour", WHOIS_RELAY_LIMIT_PER_DOMAIN="100 per day")
    with app.app_context():
        user = factories.subscriber()
        factories.domain(user.account, "bakery.test", privacy=True)
        client = app.test_client()
        codes = [_post(client, "bakery.test", **{"X-Forwarded-For": f"198.51.100.{n}",
                                                 "X-Real-IP": f"198.51.100.{n}",
                                                 "Forwarded": f"for=198.51.100.{n}"}).status_code
                 for n in range(3)]
        assert codes == [200, 200, 429]
        assert _post(app.test_client(), "bakery.test", ip="192.0.2.99").status_code == 200
        db.session.remove()
