"""Keyset paging (panel/paging.py) on every paged list: 25 or 50 rows, Newer/Older by cursor,
no row lost or repeated, hostile cursors never a 500, and a cursor never leaves the viewer's
scope. The privacy plugin's lists are walked in tests/privacy/access/test_paged_lists.py."""

from __future__ import annotations

import base64
import json
import re
from datetime import date, timedelta

import pytest

from panel.extensions import db
from panel.paging import BAD_CURSOR, decode_cursor, encode_cursor

NEXT = re.compile(r'href="([^"]+)" rel="next"')
PREV = re.compile(r'href="([^"]+)" rel="prev"')
INVOICE = re.compile(r"INV-T\d{6}")


def walk(client, url: str, pattern: re.Pattern[str] = INVOICE,
         next_link: re.Pattern[str] = NEXT) -> list[list[str]]:
    """Every page of a list from ``url``, following Older (``next_link`` picks which one on a
    page with two lists); each page's row markers."""
    pages = []
    while url:
        html = client.get(url).get_data(as_text=True)
        pages.append(pattern.findall(html))
        found = next_link.search(html)
        url = found.group(1).replace("&amp;", "&") if found else ""
        assert len(pages) < 10, "the pager never ends"
    return pages


def _b64(raw: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


def test_cursor_round_trip_keeps_types():
    import uuid
    from datetime import UTC, datetime

    values = [datetime(2024, 5, 1, 12, 0, tzinfo=UTC), date(2024, 1, 2), uuid.uuid4(), 7, "x"]
    assert decode_cursor(encode_cursor(values), 5) == values


@pytest.mark.parametrize("cursor", [
    "", "%%%", "not-base64!", _b64({"a": 1}), _b64([1]), _b64([1, 2, 3]), _b64([[], {}]),
    _b64([{"t": "yesterday"}, 1]), _b64([{"t": "2024-01-01T00:00:00"}, 1]),  # naive
    _b64([{"t": "9999-12-31T23:59:59-14:00"}, 1]), _b64([{"u": "zz"}, 1]), _b64([2**70, 1]),
    _b64([True, 1]), _b64([None, None]), "A" * 5000])
def test_hostile_cursors_are_refused(cursor):
    with pytest.raises(ValueError):
        decode_cursor(cursor, 2)


def test_invoices_page_26_rows_into_two_pages_without_loss_or_repeat(client, login_as, factories):
    user = login_as("subscriber")
    made = {factories.invoice(user.account).number for _ in range(26)}  # one date: ties on id

    pages = walk(client, "/client/invoices")

    assert [len(p) for p in pages] == [25, 1]
    seen = [n for p in pages for n in p]
    assert len(seen) == len(set(seen)) == 26 and set(seen) == made


def test_invoices_newest_first_and_newer_link_goes_back(client, login_as, factories):
    user = login_as("subscriber")
    for i in range(30):
        factories.invoice(user.account, issued_on=date(2024, 1, 1) + timedelta(days=i))
    first = client.get("/client/invoices").get_data(as_text=True)
    assert "Newer" not in first.split("Invoice pages")[1]
    older = NEXT.search(first).group(1).replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)
    newer = PREV.search(second).group(1).replace("&amp;", "&")
    again = client.get(newer).get_data(as_text=True)
    assert INVOICE.findall(again) == INVOICE.findall(first)
    assert "2024-01-30" in first and "2024-01-01" in second


@pytest.mark.parametrize("per,rows", [("50", 30), ("25", 25), ("10", 25), ("1000", 25),
                                       ("-1", 25), ("abc", 25), ("50.0", 25)])
def test_per_is_25_or_50_only(client, login_as, factories, per, rows):
    user = login_as("subscriber")
    for _ in range(30):
        factories.invoice(user.account)
    html = client.get(f"/client/invoices?per={per}").get_data(as_text=True)
    assert len(INVOICE.findall(html)) == rows


@pytest.mark.parametrize("args", ["after=garbage", "before=%00%ff", f"after={'A' * 5000}",
                                  f"after={_b64([{'t': '9999-12-31T23:59:59-14:00'}, 1])}",
                                  f"after={_b64([{'d': '2024-13-45'}, {'u': 'x'}])}",
                                  "after=&before="])
def test_a_bad_cursor_shows_the_first_page_with_a_notice(client, login_as, factories, args):
    user = login_as("subscriber")
    for _ in range(3):
        factories.invoice(user.account)
    response = client.get(f"/client/invoices?{args}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert len(INVOICE.findall(html)) == 3
    if "garbage" in args or "%00" in args or "AAAA" in args or "9999" in args or "13-45" in args:
        assert BAD_CURSOR.split(",")[0] in html.replace("&#39;", "'")


def test_a_cursor_from_another_customer_shows_only_own_rows(client, login_as, factories):
    other = factories.subscriber()
    theirs = {factories.invoice(other.account).number for _ in range(30)}
    user = login_as("subscriber")
    mine = {factories.invoice(user.account, issued_on=date(2023, 1, 1)).number for _ in range(2)}
    from panel.billing.models import Invoice
    newest = max(db.session.query(Invoice).filter(Invoice.account_id == other.account.id),
                 key=lambda i: (i.issued_on, i.id))
    forged = encode_cursor([newest.issued_on + timedelta(days=1), newest.id])
    shown = set(INVOICE.findall(client.get(f"/client/invoices?after={forged}").get_data(as_text=True)))
    assert shown == mine and not shown & theirs


CLIENT_ID = re.compile(r'<td data-label="Client id">(\d+)</td>')


def test_resellers_customer_list_pages_26_customers_by_client_id(client, login_as, factories):
    factories.subscriber(reseller=factories.reseller())  # another reseller's: never shown
    reseller = login_as("reseller")
    made = {str(factories.subscriber(reseller=reseller).account.number) for _ in range(26)}

    pages = walk(client, "/reseller/", CLIENT_ID)

    assert [len(p) for p in pages] == [25, 1]
    seen = [n for p in pages for n in p]
    assert len(seen) == len(set(seen)) == 26 and set(seen) == made
    assert [int(n) for n in seen] == sorted(int(n) for n in seen)  # by client id, as before


def test_resellers_customer_list_cursor_cannot_reach_another_resellers_customers(
        client, login_as, factories):
    other = factories.reseller()
    theirs = {str(factories.subscriber(reseller=other).account.number) for _ in range(3)}
    reseller = login_as("reseller")
    mine = {str(factories.subscriber(reseller=reseller).account.number) for _ in range(2)}
    for cursor in (encode_cursor([0]), encode_cursor([-(2**62)])):
        shown = set(CLIENT_ID.findall(client.get(f"/reseller/?after={cursor}").get_data(as_text=True)))
        assert shown <= mine and not shown & theirs


def test_staff_customer_list_pages_every_customer_once(client, login_as, factories):
    for _ in range(26):
        factories.subscriber()
    login_as("staff")
    from panel.accounts.models import Account
    everyone = {str(n) for n in db.session.scalars(db.select(Account.number))}

    pages = walk(client, "/admin/", CLIENT_ID)

    seen = [n for p in pages for n in p]
    assert len(pages) == 2 and len(pages[0]) == 25
    assert len(seen) == len(set(seen)) and set(seen) == everyone


def test_staff_customer_search_still_finds_and_its_pages_stay_posts(client, login_as, factories):
    """The term comes by POST and never lands in a URL, so a search's pages are POSTs too."""
    shared = "+15125550199"
    found = {str(factories.subscriber(phone=shared).account.number) for _ in range(27)}
    factories.subscriber()
    login_as("staff")
    csrf = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
    html = client.get("/admin/").get_data(as_text=True)
    token = csrf.search(html).group(1)
    first = client.post("/admin/", data={"csrf_token": token, "q": shared}).get_data(as_text=True)
    assert len(CLIENT_ID.findall(first)) == 25 and 'rel="next"' not in first
    after = re.search(r'name="after" value="([^"]+)"', first).group(1)
    assert shared not in after
    second = client.post("/admin/", data={"csrf_token": token, "q": shared, "after": after}
                         ).get_data(as_text=True)
    seen = CLIENT_ID.findall(first) + CLIENT_ID.findall(second)
    assert len(seen) == len(set(seen)) == 27 and set(seen) == found
    one = next(iter(found))
    alone = client.post("/admin/", data={"csrf_token": token, "q": one}).get_data(as_text=True)
    assert CLIENT_ID.findall(alone) == [one]


def test_two_lists_on_one_page_each_move_on_their_own_cursor_and_keep_the_other(app):
    """A prefixed list reads and writes only its own after/before/per; the unprefixed list
    on the same page keeps working as before, and each keeps the other's place."""
    from panel.paging import Page

    with app.test_request_context("/client/invoices"):
        plain = Page([], 25, older="O1", newer="N1", args={"provider_after": "X", "per": "25"})
        other = Page([], 50, older="O2", newer="N2", prefix="provider_",
                     args={"after": "Y", "q": "z"})
        assert "after=O1" in plain.older_url and "provider_after=X" in plain.older_url
        assert "provider_after=O2" in other.older_url and "after=Y" in other.older_url
        assert "provider_per=50" in other.older_url and "provider_before=N2" in other.newer_url
        assert "before=" not in other.older_url.replace("provider_before", "")
        assert "provider_per" not in other.per_url(25) and "after=Y" in other.per_url(25)


# --- cancellation requests (staff: everyone's; a reseller: its customers') ---------------------

PRODUCT = re.compile(r'<td data-label="Product">(Paged plan \d+)</td>')


def _cancellations(factories, account, n: int, first: int = 0) -> set[str]:
    """``n`` pending cancellations of ``account``, three to a date (ties broken by the id)."""
    from panel.db_types import utcnow

    made = set()
    for i in range(first, first + n):
        service = factories.service(account)
        service.product = f"Paged plan {i}"
        service.cancel_requested_at = utcnow()
        service.cancel_on = date(2030, 1, 1) + timedelta(days=i // 3)
        made.add(service.product)
    db.session.commit()
    return made


@pytest.mark.parametrize("role, url", [("staff", "/admin/cancellations"),
                                       ("reseller", "/reseller/cancellations")])
def test_cancellation_requests_page_26_soonest_first_without_loss_or_repeat(
        client, login_as, factories, role, url):
    viewer = login_as(role)
    owner = factories.subscriber(reseller=viewer if role == "reseller" else None)
    made = _cancellations(factories, owner.account, 26)

    pages = walk(client, url, PRODUCT)

    assert [len(p) for p in pages] == [25, 1]
    seen = [p for page in pages for p in page]
    assert len(seen) == len(set(seen)) == 26 and set(seen) == made
    number = {f"Paged plan {i}": i // 3 for i in range(26)}  # the day it ends
    assert [number[p] for p in seen] == sorted(number[p] for p in seen)
    first = client.get(url).get_data(as_text=True)
    assert 'rel="next">Next</a>' in first and 'rel="prev"' not in first


def test_cancellation_requests_cursor_never_reaches_another_resellers_customers(
        client, login_as, factories):
    import uuid

    theirs = _cancellations(factories, factories.subscriber(reseller=factories.reseller()).account,
                            5)
    house = _cancellations(factories, factories.subscriber().account, 5, first=5)
    reseller = login_as("reseller")
    mine = _cancellations(factories, factories.subscriber(reseller=reseller).account, 2, first=10)
    for after in ("", encode_cursor(["", date(2000, 1, 1), uuid.UUID(int=0)]), "garbage"):
        page = client.get(f"/reseller/cancellations?after={after}")
        assert page.status_code == 200
        shown = set(PRODUCT.findall(page.get_data(as_text=True)))
        assert shown == mine and not shown & (theirs | house)
