"""Keyset paging (panel/paging.py) on the privacy plugin's long lists (issue 15): the
customer's data requests, the staff request queue and the sign-in activity (two tables paged
as one). 26 rows make two pages with nothing lost or repeated, ties are broken by the id, a
bad cursor is the first page, and a cursor never reaches another customer's rows."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from panel.extensions import db
from panel.paging import encode_cursor
from plugins.privacy.center.models import DataRequest
from plugins.privacy.retention.models import ActivityEvent, SigninEvent
from tests.conftest import login
from tests.core.test_paging import walk

pytestmark = pytest.mark.needs_privacy

AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
DUE = re.compile(r'<td data-label="Due by">(\d{4}-\d\d-\d\d)')
QUEUED = re.compile(r"/admin/privacy/requests/([0-9a-f-]{36})\"")
IP = re.compile(r'<td data-label="From">(10\.9\.\d+\.\d+)</td>')


def _requests(account, n: int, *, received: datetime = AT, first_due: date = date(2027, 1, 1),
              status: str = "received") -> list[DataRequest]:
    """``n`` requests received at one instant (ties on received_at), each due a day apart."""
    made = [DataRequest(account_id=account.id, kind="objection", purpose="marketing",
                        channel="panel", status=status, received_at=received,
                        due_on=first_due + timedelta(days=i)) for i in range(n)]
    db.session.add_all(made)
    db.session.commit()
    return made


def _queue_pages_26(client, url: str, pattern: re.Pattern[str], made: list) -> None:
    """A queue of 26 requests: 25 and 1, each once, oldest due date first, and the first page
    links only forward."""
    pages = walk(client, url, pattern)
    assert [len(p) for p in pages] == [25, 1]
    seen = [i for p in pages for i in p]
    assert len(seen) == len(set(seen)) == 26 and set(seen) == {str(r.id) for r in made}
    due = {str(r.id): r.due_on for r in made}
    assert [due[i] for i in seen] == sorted(due[i] for i in seen)  # oldest due date first
    first = client.get(url).get_data(as_text=True)
    assert 'rel="next">Next</a>' in first and 'rel="prev"' not in first


def test_own_requests_page_26_rows_into_two_pages_without_loss_or_repeat(client, login_as):
    user = login_as("subscriber")
    made = {r.due_on.isoformat() for r in _requests(user.account, 26)}

    pages = walk(client, "/client/privacy/requests/", DUE)

    assert [len(p) for p in pages] == [25, 1]
    seen = [d for p in pages for d in p]
    assert len(seen) == len(set(seen)) == 26 and set(seen) == made


def test_own_requests_cursor_from_another_customer_shows_only_own_rows(client, login_as, factories):
    other = factories.subscriber()
    theirs = _requests(other.account, 30, received=AT, first_due=date(2028, 1, 1))
    user = login_as("subscriber")
    mine = {r.due_on.isoformat() for r in _requests(user.account, 2, received=AT - timedelta(days=9))}
    forged = encode_cursor([AT + timedelta(days=1), theirs[0].id])
    html = client.get(f"/client/privacy/requests/?after={forged}").get_data(as_text=True)
    assert set(DUE.findall(html)) == mine


def test_own_requests_bad_cursor_is_the_first_page(client, login_as):
    user = login_as("subscriber")
    _requests(user.account, 3)
    response = client.get("/client/privacy/requests/?after=garbage&per=1000")
    assert response.status_code == 200
    assert len(DUE.findall(response.get_data(as_text=True))) == 3


def test_staff_request_queue_pages_oldest_due_first_without_loss_or_repeat(client, login_as,
                                                                           factories):
    made = []
    for _ in range(2):  # two customers, same due dates: ties on due_on and received_at
        made += _requests(factories.subscriber().account, 13)
    login_as("staff")

    _queue_pages_26(client, "/admin/privacy/requests/", QUEUED, made)


def test_staff_request_queue_previous_link_returns_the_first_page(client, login_as, factories):
    _requests(factories.subscriber().account, 30)
    login_as("staff")
    first = client.get("/admin/privacy/requests/").get_data(as_text=True)
    nxt = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = client.get(nxt).get_data(as_text=True)
    assert len(QUEUED.findall(second)) == 5
    prev = re.search(r'href="([^"]+)" rel="prev"', second).group(1).replace("&amp;", "&")
    assert QUEUED.findall(client.get(prev).get_data(as_text=True)) == QUEUED.findall(first)


def test_staff_request_queue_keeps_resellers_customers_out_on_every_page(client, login_as,
                                                                         factories):
    reseller = factories.reseller()
    theirs = _requests(factories.subscriber(reseller=reseller).account, 3, first_due=date(2026, 12, 1))
    ours = _requests(factories.subscriber().account, 2)
    login_as("staff")
    forged = encode_cursor([date(2020, 1, 1), AT, uuid.UUID(int=0)])
    for url in ("/admin/privacy/requests/", f"/admin/privacy/requests/?after={forged}"):
        shown = set(QUEUED.findall(client.get(url).get_data(as_text=True)))
        assert shown == {str(r.id) for r in ours} and not shown & {str(r.id) for r in theirs}


def _activity(account, user, n: int, *, at: datetime = AT, net: int = 9) -> set[str]:
    """``n`` entries split between sign-ins and failures, all at one instant (ties across the
    two tables), each from its own address."""
    ips = set()
    for i in range(n):
        ip = f"10.{net}.{i // 200}.{i % 200}"
        ips.add(ip)
        if i % 2:
            event = SigninEvent(user_id=user.id, account_id=account.id, at=at, method="password")
        else:
            event = ActivityEvent(kind="signin.failed", user_id=user.id, account_id=account.id,
                                  at=at, method="password", reason="wrong_password")
        event.ip = ip
        db.session.add(event)
    db.session.commit()
    return ips


def _no_own_signins(user) -> None:
    """Signing in for the test wrote rows too: drop them, so the counts are the test's own."""
    db.session.query(SigninEvent).filter(SigninEvent.user_id == user.id).delete()
    db.session.query(ActivityEvent).filter(ActivityEvent.user_id == user.id).delete()
    db.session.commit()


def test_signin_activity_pages_both_tables_as_one_list_without_loss_or_repeat(client, login_as):
    user = login_as("subscriber")
    _no_own_signins(user)
    made = _activity(user.account, user, 26)

    pages = walk(client, "/client/privacy/activity", IP)

    assert [len(p) for p in pages] == [25, 1]
    seen = [ip for p in pages for ip in p]
    assert len(seen) == len(set(seen)) == 26 and set(seen) == made


def test_signin_activity_at_50_a_page_and_newest_first(client, login_as):
    user = login_as("subscriber")
    _no_own_signins(user)
    _activity(user.account, user, 60, at=AT - timedelta(days=3))
    newest = _activity(user.account, user, 2, at=AT, net=8)
    html = client.get("/client/privacy/activity?per=50").get_data(as_text=True)
    assert len(IP.findall(html)) == 48  # and the two newest below: 50 rows
    assert set(re.findall(r'data-label="From">(10\.8\.\d+\.\d+)<', html)) == newest
    assert "2026-11-01 12:00" in html.split("<tbody>")[1].split("</tr>")[0]


def test_signin_activity_cursor_from_another_customer_shows_only_own_rows(client, login_as,
                                                                          factories):
    other = factories.subscriber()
    theirs = _activity(other.account, other, 30, net=7)
    user = login_as("subscriber")
    _no_own_signins(user)
    mine = _activity(user.account, user, 2, at=AT - timedelta(days=5))
    forged = encode_cursor([AT + timedelta(days=1), uuid.UUID(int=2**128 - 1)])
    html = client.get(f"/client/privacy/activity?after={forged}").get_data(as_text=True)
    shown = set(re.findall(r'data-label="From">(10\.\d+\.\d+\.\d+)<', html))
    assert shown == mine and not shown & theirs


def _sessions(staff, accounts, *, ticket: str = "T", at: datetime = AT) -> set[str]:
    """One ended session per account, all requested at one instant; the ticket tells them apart."""
    from plugins.privacy.access.models import AccessSession
    tickets = set()
    for i, account in enumerate(accounts):
        tickets.add(f"{ticket}-{i:03d}")
        db.session.add(AccessSession(account_id=account.id, staff_id=staff.id, reason_code="ticket",
                                     ticket=f"{ticket}-{i:03d}", minutes=30, status="ended",
                                     requested_at=at))
    db.session.commit()
    return tickets


def test_staff_access_sessions_page_26_without_loss_and_only_their_own(client, login_as,
                                                                        factories):
    other = factories.staff()
    account = factories.subscriber().account
    theirs = _sessions(other, [account] * 3, ticket="THEIRS")
    staff = login_as("staff")
    made = _sessions(staff, [account] * 26, ticket="MINE")
    ticket = re.compile(r"(?:MINE|THEIRS)-\d{3}")

    pages = walk(client, "/admin/access/", ticket)

    assert [len(p) for p in pages] == [25, 1]
    seen = [t for p in pages for t in p]
    assert len(seen) == len(set(seen)) == 26 and set(seen) == made and not set(seen) & theirs


# --- the customer's Staff access page: two lists, each with its own cursor ---------------------

TICKET = re.compile(r"\(ticket ((?:MINE|THEIRS)-\d{3})\)")
SEEN = re.compile(r"customer (P\d-\d{3})")
PROVIDER_NEXT = re.compile(r'aria-label="Provider access pages">.*?href="([^"]+)" rel="next"', re.S)


def _provider_views(reseller, account, n: int, *, mark: str = "P1") -> set[str]:
    """``n`` views of the customer by their reseller, as the trail records them."""
    from panel import audit
    from panel.audit import AuditEvent
    for i in range(n):
        audit.record(AuditEvent("account.view", actor=reseller, account_id=account.id,
                                object=f"customer {mark}-{i:03d}"))
    db.session.commit()
    return {f"{mark}-{i:03d}" for i in range(n)}


def test_customer_access_sessions_page_26_without_loss_or_repeat(client, login_as, factories):
    user = login_as("subscriber")
    made = _sessions(factories.staff(), [user.account] * 26, ticket="MINE")  # ties on the time

    pages = walk(client, "/client/privacy/access", TICKET)

    assert [len(p) for p in pages] == [25, 1]
    seen = [t for p in pages for t in p]
    assert len(seen) == len(set(seen)) == 26 and set(seen) == made


def test_customer_access_sessions_bad_cursor_is_the_first_page(client, login_as, factories):
    user = login_as("subscriber")
    _sessions(factories.staff(), [user.account] * 3, ticket="MINE")
    response = client.get("/client/privacy/access?after=garbage&per=1000&provider_before=x")
    assert response.status_code == 200
    assert len(TICKET.findall(response.get_data(as_text=True))) == 3


def test_customer_access_sessions_cursor_from_another_customer_shows_only_own(client, login_as,
                                                                            factories):
    staff = factories.staff()
    theirs = _sessions(staff, [factories.subscriber().account] * 30, ticket="THEIRS")
    user = login_as("subscriber")
    mine = _sessions(staff, [user.account] * 2, ticket="MINE", at=AT - timedelta(days=9))
    forged = encode_cursor([AT + timedelta(days=1), uuid.UUID(int=2**128 - 1)])
    html = client.get(f"/client/privacy/access?after={forged}").get_data(as_text=True)
    shown = set(TICKET.findall(html))
    assert shown == mine and not shown & theirs


def test_p25_provider_trail_pages_26_on_its_own_cursor_and_keeps_the_sessions_place(
        client, factories):
    reseller = factories.reseller()
    user = factories.subscriber(reseller=reseller)
    made = _provider_views(reseller, user.account, 26)
    _sessions(factories.staff(), [user.account] * 30, ticket="MINE")
    assert login(client, user).status_code == 302
    first = client.get("/client/privacy/access").get_data(as_text=True)
    sessions_next = re.search(r'aria-label="Session pages">.*?href="([^"]+)" rel="next"', first,
                              re.S).group(1).replace("&amp;", "&")

    pages = walk(client, sessions_next, SEEN, PROVIDER_NEXT)  # from the sessions' second page

    assert [len(p) for p in pages] == [25, 1]
    seen = [m for p in pages for m in p]
    assert len(seen) == len(set(seen)) == 26 and set(seen) == made
    last = client.get(_provider_url(client, sessions_next)).get_data(as_text=True)
    assert len(TICKET.findall(last)) == 5  # the sessions stayed on their second page
    assert "provider_after=" not in sessions_next and "after=" in sessions_next


def _provider_url(client, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    return PROVIDER_NEXT.search(html).group(1).replace("&amp;", "&")


def test_p25_provider_trail_forged_cursor_shows_only_own_provider_views(client, factories):
    reseller = factories.reseller()
    other = factories.subscriber(reseller=reseller)
    theirs = _provider_views(reseller, other.account, 30, mark="P2")
    user = factories.subscriber(reseller=reseller)
    mine = _provider_views(reseller, user.account, 2)
    assert login(client, user).status_code == 302
    for cursor in (encode_cursor([2**62]), "garbage"):
        html = client.get(f"/client/privacy/access?provider_after={cursor}").get_data(as_text=True)
        shown = set(SEEN.findall(html))
        assert shown == mine and not shown & theirs


# --- the reseller's data-request queue ---------------------------------------------------------

RESELLER_QUEUED = re.compile(r"/reseller/privacy/requests/([0-9a-f-]{36})\"")


def test_reseller_request_queue_pages_oldest_due_first_without_loss_or_repeat(client, factories):
    reseller = factories.reseller()
    made = []
    for _ in range(2):  # two customers, same due dates: ties on due_on and received_at
        made += _requests(factories.subscriber(reseller=reseller).account, 13)
    assert login(client, reseller).status_code == 302

    _queue_pages_26(client, "/reseller/privacy/requests/", RESELLER_QUEUED, made)


def test_reseller_request_queue_bad_cursor_is_the_first_page(client, factories):
    reseller = factories.reseller()
    made = _requests(factories.subscriber(reseller=reseller).account, 3)
    assert login(client, reseller).status_code == 302
    response = client.get("/reseller/privacy/requests/?after=garbage&per=1000")
    assert response.status_code == 200
    assert set(RESELLER_QUEUED.findall(response.get_data(as_text=True))) == {str(r.id) for r in made}


def test_reseller_request_queue_forged_cursor_never_shows_another_resellers_rows(
        client, factories):
    other = factories.reseller()
    theirs = _requests(factories.subscriber(reseller=other).account, 30, first_due=date(2026, 12, 1))
    house = _requests(factories.subscriber().account, 3, first_due=date(2026, 12, 1))
    reseller = factories.reseller()
    ours = _requests(factories.subscriber(reseller=reseller).account, 2)
    assert login(client, reseller).status_code == 302
    forged = encode_cursor([date(2020, 1, 1), AT, uuid.UUID(int=0)])
    for url in ("/reseller/privacy/requests/", f"/reseller/privacy/requests/?after={forged}"):
        shown = set(RESELLER_QUEUED.findall(client.get(url).get_data(as_text=True)))
        assert shown == {str(r.id) for r in ours}
        assert not shown & {str(r.id) for r in theirs + house}


# --- removal requests to the host (P26): the staff queue and the reseller's own list ----------

REMOVAL = re.compile(r'href="/admin/privacy/removals/([0-9a-f-]{36})"')
OPEN_PART = re.compile(r"<h2>Open, soonest due first</h2>(.*?)<h2>", re.S)
CLOSED_PART = re.compile(r"<h2>Closed, newest first</h2>(.*)", re.S)
CLOSED_NEXT = re.compile(r'href="([^"]*closed_after=[^"]+)" rel="next"')
ASKED = re.compile(r'<td data-label="Asked">(\d{4}-\d\d-\d\d)</td>')
REMOVALS_NEXT = re.compile(r'href="([^"]*removals_after=[^"]+)" rel="next"')


def _removals(reseller, account, n: int, *, status: str = "open",
              first_due: date = date(2027, 3, 1)) -> list:
    """``n`` removal requests, each asked a day before the last; due dates two to a day."""
    from plugins.privacy.reseller.models import RemovalRequest

    made = [RemovalRequest(account_id=account.id, reseller_id=reseller.id, status=status,
                           requested_at=AT - timedelta(days=i), due_on=first_due + timedelta(days=i // 2))
            for i in range(n)]
    db.session.add_all(made)
    db.session.commit()
    return made


def test_p26_staff_removal_queue_pages_26_open_requests_soonest_due_first(client, login_as,
                                                                          factories):
    made = []
    for _ in range(2):  # two resellers, the same due dates: ties broken by the id
        reseller = factories.reseller()
        made += _removals(reseller, factories.subscriber(reseller=reseller).account, 13)
    login_as("staff")

    pages = walk(client, "/admin/privacy/removals/", REMOVAL)

    assert [len(p) for p in pages] == [25, 1]
    seen = [i for p in pages for i in p]
    assert len(seen) == len(set(seen)) == 26 and set(seen) == {str(r.id) for r in made}
    due = {str(r.id): r.due_on for r in made}
    assert [due[i] for i in seen] == sorted(due[i] for i in seen)
    first = client.get("/admin/privacy/removals/").get_data(as_text=True)
    assert 'rel="next">Next</a>' in first and "No closed removal requests." in first


def test_p26_closed_removals_page_on_their_own_cursor_and_keep_the_open_queues_place(
        client, login_as, factories):
    reseller = factories.reseller()
    account = factories.subscriber(reseller=reseller).account
    still_open = {str(r.id) for r in _removals(reseller, account, 3)}
    closed = _removals(reseller, account, 26, status="completed")
    login_as("staff")

    url, pages = "/admin/privacy/removals/?per=25", []
    while url:
        html = client.get(url).get_data(as_text=True)
        assert set(REMOVAL.findall(OPEN_PART.search(html).group(1))) == still_open
        pages.append(REMOVAL.findall(CLOSED_PART.search(html).group(1)))
        found = CLOSED_NEXT.search(html)
        url = found.group(1).replace("&amp;", "&") if found else ""
        assert len(pages) < 5, "the pager never ends"

    assert [len(p) for p in pages] == [25, 1]
    seen = [i for p in pages for i in p]
    assert seen == [str(r.id) for r in closed]  # newest first, each once


def test_p26_resellers_removal_list_pages_26_newest_first_and_only_its_own(client, factories):
    other = factories.reseller()
    theirs = _removals(other, factories.subscriber(reseller=other).account, 3)
    reseller = factories.reseller()
    mine = _removals(reseller, factories.subscriber(reseller=reseller).account, 26)
    assert login(client, reseller).status_code == 302

    pages = walk(client, "/reseller/privacy/requests/", ASKED, REMOVALS_NEXT)

    assert [len(p) for p in pages] == [25, 1]
    assert [d for p in pages for d in p] == [r.requested_at.strftime("%Y-%m-%d") for r in mine]
    forged = encode_cursor([datetime(2999, 1, 1, tzinfo=UTC), uuid.UUID(int=2**128 - 1)])
    html = client.get(f"/reseller/privacy/requests/?removals_after={forged}").get_data(as_text=True)
    assert ASKED.findall(html) == [r.requested_at.strftime("%Y-%m-%d") for r in mine[:25]]
    assert str(theirs[0].account_id) not in html and "a removed customer" not in html


@pytest.mark.parametrize("args", ["closed_after=garbage", "after=%00", "closed_before=" + "A" * 600,
                                  "closed_per=1000000&per=-1",
                                  "after=" + encode_cursor(["x", "y", "z"])])
def test_p26_hostile_cursors_on_the_staff_removal_page_show_every_list_from_its_start(
        client, login_as, factories, args):
    reseller = factories.reseller()
    account = factories.subscriber(reseller=reseller).account
    made = _removals(reseller, account, 2) + _removals(reseller, account, 2, status="refused")
    login_as("staff")
    response = client.get(f"/admin/privacy/removals/?{args}")
    assert response.status_code == 200
    assert set(REMOVAL.findall(response.get_data(as_text=True))) == {str(r.id) for r in made}
