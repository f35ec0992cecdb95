"""The admin trail (issue 15): filter by actor, account, action and dates; keyset pages; and
a CSV export of exactly the filtered rows, safe to open in a spreadsheet, itself recorded."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from panel import audit
from panel.audit import AuditEvent
from panel.db_types import utcnow
from panel.extensions import db
from plugins.privacy.access.models import AuditEntry

ROW = re.compile(r'<td data-label="Entry">(\d+)</td>')
NEXT = re.compile(r'href="([^"]+)" rel="next"')


def _event(action: str, actor=None, account=None, obj: str = "x") -> int:
    audit.record(AuditEvent(action, actor=actor, account_id=account.id if account else None,
                            object=obj))
    db.session.commit()
    return db.session.query(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1).scalar()


def _seqs(html: str) -> list[int]:
    return [int(n) for n in ROW.findall(html)]


@pytest.fixture
def trail(factories):
    """Two staff members, two customers, a few actions on different days."""
    sam = factories.staff(name="Sam Support")
    kim = factories.staff(name="Kim Keeper")
    ada, bob = factories.subscriber(), factories.subscriber()
    seqs = [_event("account.view", sam, ada.account), _event("account.view", kim, bob.account),
            _event("domain.view", sam, bob.account, "domain bob.example page"),
            _event("account.view", sam, ada.account)]
    # the first two entries are a month old (the chain is not re-verified here); everything
    # written before them (sign-ups) older still
    db.session.execute(update(AuditEntry).where(AuditEntry.seq <= seqs[1])
                       .values(at=utcnow() - timedelta(days=30)))
    db.session.execute(update(AuditEntry).where(AuditEntry.seq < seqs[0])
                       .values(at=utcnow() - timedelta(days=60)))
    db.session.commit()
    return {"sam": sam, "kim": kim, "ada": ada.account, "bob": bob.account, "seq": seqs}


def test_each_filter_narrows_the_trail(client, login_as, trail):
    one, two, three, four = trail["seq"]
    login_as("admin")
    assert _seqs(client.get("/admin/audit/?actor=sam+support").get_data(as_text=True)) == \
        [four, three, one]
    assert _seqs(client.get("/admin/audit/?actor=staff").get_data(as_text=True)) == \
        [four, three, two, one]
    number = trail["bob"].number
    assert _seqs(client.get(f"/admin/audit/?account={number}").get_data(as_text=True))[:2] == \
        [three, two]
    assert _seqs(client.get("/admin/audit/?action=domain.view").get_data(as_text=True)) == [three]
    since = (utcnow() - timedelta(days=1)).date().isoformat()
    recent = _seqs(client.get(f"/admin/audit/?since={since}").get_data(as_text=True))
    assert four in recent and three in recent and two not in recent and one not in recent
    since = (utcnow() - timedelta(days=40)).date().isoformat()
    until = (utcnow() - timedelta(days=20)).date().isoformat()
    assert _seqs(client.get(f"/admin/audit/?since={since}&until={until}")
                 .get_data(as_text=True)) == [two, one]


def test_filters_combine(client, login_as, trail):
    login_as("admin")
    ada = trail["ada"].number
    since = (utcnow() - timedelta(days=1)).date().isoformat()
    html = client.get(f"/admin/audit/?actor=Sam&account={ada}&action=account.view&since={since}")
    assert _seqs(html.get_data(as_text=True)) == [trail["seq"][3]]


@pytest.mark.parametrize("args,message", [
    ("account=abc", "Not a valid integer value"),
    ("account=0", "A client id is a whole number"),
    ("account=99999999999999999999", "A client id is a whole number"),
    ("account=424242", "No customer has client id 424242."),
    ("action=drop+table", "Not a valid choice"),
    ("since=2024-02-30", "Not a valid date value"),
    ("since=2024-05-02&until=2024-05-01", "The end date is before the start date."),
    ("actor=" + "x" * 200, "A name has at most 120 characters."),
])
def test_bad_filters_say_what_is_wrong_and_keep_what_was_typed(client, login_as, trail, args,
                                                               message):
    login_as("admin")
    response = client.get(f"/admin/audit/?{args}")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html and "Please correct the filter" in html
    assert _seqs(html) == []  # nothing shown rather than everything
    typed = args.split("=", 1)[1].split("&")[0]
    if not args.startswith("action"):  # a select shows its choices, not what was sent
        assert f'value="{typed}"' in html
    assert client.get(f"/admin/audit/export.csv?{args}").status_code == 400


def test_hostile_filters_are_text_not_sql_or_markup(client, login_as, trail):
    login_as("admin")
    html = client.get("/admin/audit/?actor=%25%27%22%3Cscript%3E").get_data(as_text=True)
    assert "<script>" not in html
    assert _seqs(html) == []


def test_the_filtered_trail_pages_by_keyset(client, login_as, factories):
    sam = factories.staff(name="Sam Support")
    for i in range(30):
        _event("account.view" if i % 2 else "domain.view", sam, None)
    login_as("admin")
    url, pages = "/admin/audit/?action=account.view", []
    while url:
        html = client.get(url).get_data(as_text=True)
        pages.append(_seqs(html))
        found = NEXT.search(html)
        url = found.group(1).replace("&amp;", "&") if found else ""
        assert "action=account.view" in url or not url  # the filter is kept on every page
    assert [len(p) for p in pages] == [15]
    pages = []
    url = "/admin/audit/?per=25"
    while url:
        html = client.get(url).get_data(as_text=True)
        pages.append(_seqs(html))
        found = NEXT.search(html)
        url = found.group(1).replace("&amp;", "&") if found else ""
    seen = [n for p in pages for n in p]
    total = db.session.query(AuditEntry).count()
    assert len(pages) == 2 and len(pages[0]) == 25 and len(seen) == len(set(seen)) == total


def test_csv_export_has_exactly_the_filtered_rows_and_is_recorded(client, login_as, trail):
    admin = login_as("admin")
    response = client.get("/admin/audit/export.csv?actor=Sam")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    one, _, three, four = trail["seq"]
    assert [int(r["entry"]) for r in rows] == [four, three, one]
    assert rows[0]["sentence"].startswith("Sam Support (staff) viewed the customer's account")
    assert rows[0]["client_id"] == str(trail["ada"].number)
    export = AuditEntry.query.filter_by(action="audit.export").one()
    assert export.actor_id == admin.id and export.fields == ["actor"]


def test_csv_cells_cannot_become_formulas(client, login_as, factories):
    evil = factories.staff(name="=HYPERLINK(\"http://evil.test\")")
    for obj in ("+1+1", "-2", "@SUM(A1)", "\tx", "plain"):
        _event("account.view", evil, None, obj)
    login_as("admin")
    text = client.get("/admin/audit/export.csv?action=account.view").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["object"] for r in rows} == {"'+1+1", "'-2", "'@SUM(A1)", "'\tx", "plain"}
    assert all(r["who"].startswith("'=") for r in rows)
    for row in rows:
        assert not any(v.startswith(("=", "+", "-", "@")) for v in row.values())


def test_csv_export_streams_every_row_past_one_batch(client, login_as, factories, monkeypatch):
    from plugins.privacy.access.services import trail_query

    monkeypatch.setattr(trail_query, "EXPORT_BATCH", 7)
    for _ in range(20):
        _event("domain.view")
    login_as("admin")
    rows = list(csv.DictReader(io.StringIO(
        client.get("/admin/audit/export.csv?action=domain.view").get_data(as_text=True))))
    assert len(rows) == 20 and len({r["entry"] for r in rows}) == 20


def test_staff_cannot_filter_or_export_the_trail(client, login_as):
    login_as("staff")
    assert client.get("/admin/audit/?actor=x").status_code == 404
    assert client.get("/admin/audit/export.csv").status_code == 404
