"""The Privacy hub (/client/privacy/, issue 15): every privacy choice and what is under way, at a
glance, each linking to its full page; the subscriber's own only."""

from __future__ import annotations

from datetime import timedelta

from panel.db_types import utcnow
from panel.extensions import db
from plugins.privacy.access.models import ACTIVE, ENDED, PENDING, AccessSession
from plugins.privacy.center.services import export
from plugins.privacy.center.services import requests as requests_service
from plugins.privacy.email.services import preferences
from tests.conftest import login


def _session(account, staff, status, *, started=None, reason="support", ticket="T-7"):
    now = utcnow()
    s = AccessSession(account_id=account.id, staff_id=staff.id, reason_code=reason, ticket=ticket,
                      minutes=30, status=status, requested_at=started or now, started_at=started,
                      expires_at=started + timedelta(minutes=30) if started else None)
    db.session.add(s)
    return s


def _hub(app, user):
    me = app.test_client()
    assert login(me, user).status_code == 302
    response = me.get("/client/privacy/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_hub_shows_each_privacy_part_and_links_to_its_page(app, factories):
    user = factories.subscriber()
    account = user.account
    factories.domain(account, "private-one.test", privacy=True)
    factories.domain(account, "public-two.test", privacy=False)
    preferences.change(account, {"newsletter": True}, "preference-centre")
    sam = factories.staff(name="Sam Support")
    _session(account, sam, ENDED, started=utcnow() - timedelta(days=2))
    _session(account, factories.staff(name="Pat Pending"), PENDING)
    requests_service.file(account, user, kind="rectification", details="Fix my name",
                          verified_by="panel-password")
    db.session.commit()
    export.request_export(account, user, "json")
    page = _hub(app, user)

    assert "<h1>Your privacy</h1>" in page
    # WHOIS privacy per domain, each domain linking to its page
    assert "private-one.test</a>: WHOIS privacy on" in page
    assert "public-two.test</a>: WHOIS privacy off" in page
    # marketing consent
    assert "Newsletter: yes, you agreed" in page
    # the last staff access and the approval waiting for the customer
    assert "Staff last opened your account on" in page and "Sam Support" in page
    assert "1 request from staff" in page and "Pat Pending" in page
    # open requests with their due dates
    request = requests_service.for_account(account)[0]
    assert f"we answer by <time>{request.due_on}</time>" in page
    # the latest export
    assert "Your latest copy, JSON (machine-readable), was asked for" in page
    for endpoint_path in ("/client/domains", "/client/email-preferences", "/client/privacy/access",
                          "/client/privacy/requests/", "/client/privacy/data"):
        assert f'href="{endpoint_path}"' in page, endpoint_path
    # the hub is in the menu, marked as the current page
    assert '<a href="/client/privacy/" aria-current="page">Privacy hub</a>' in page


def test_hub_with_nothing_yet_says_so(app, factories):
    page = _hub(app, factories.subscriber())
    for said in ("You have no domains with us.", "Staff have never opened your account.",
                 "You have no open requests.", "You have not asked for a copy yet."):
        assert said in page


def test_p25_hub_shows_only_the_subscribers_own_and_works_for_a_resellers_customer(app, factories):
    reseller = factories.reseller(name="Harbour Web")
    mine = factories.subscriber(reseller=reseller)
    other = factories.subscriber()
    factories.domain(other.account, "someone-else.test")
    _session(other.account, factories.staff(name="Other Staff"), ACTIVE,
             started=utcnow() - timedelta(minutes=5))
    factories.domain(mine.account, "my-own.test")
    db.session.commit()
    page = _hub(app, mine)
    assert "my-own.test" in page
    assert "someone-else.test" not in page and "Other Staff" not in page
    assert "Staff have never opened your account." in page


def test_hub_is_for_subscribers_only(app, client, factories, login_as):
    assert client.get("/client/privacy/").status_code == 302  # to the sign-in page
    for role in ("reseller", "staff"):
        other = app.test_client()
        user = factories.reseller() if role == "reseller" else factories.staff()
        login(other, user)
        assert other.get("/client/privacy/").status_code == 404
