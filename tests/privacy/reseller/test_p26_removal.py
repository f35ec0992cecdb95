"""Removal requests to the host (P26): 30 business days, in the staff queue, completed,
reminded once each at 5 and 1 business days before the due date."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from panel.config import ConfigError
from panel.extensions import db
from panel.mail.models import OutboxMessage
from plugins.privacy.reseller.models import RemovalRequest
from plugins.privacy.reseller.services import business_days
from plugins.privacy.reseller.services import requests as resell
from tests.conftest import login, post_form
from tests.reseller_fixtures import SESSION


def test_p26_thirty_business_days_skip_weekends_and_configured_holidays():
    friday = date(2026, 12, 18)
    assert business_days.add(friday, 1, off=()) == date(2026, 12, 21)  # Monday
    assert business_days.add(friday, 30, off=()) == date(2027, 1, 29)
    holidays = [date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)]
    assert business_days.add(friday, 30, off=holidays) == date(2027, 2, 3)
    assert business_days.between(date(2027, 1, 27), date(2027, 2, 3), off=holidays) == 5
    assert business_days.between(date(2027, 2, 4), date(2027, 2, 3), off=()) == -1


@pytest.mark.parametrize("bad", ["25/12/2026", ["2026-13-01"], ["2026-12-25", "tomorrow"], 20261225,
                                 "2026-12-25,2026-2-1"])
def test_p26_holiday_list_in_the_wrong_format_is_refused_naming_the_setting(bad):
    with pytest.raises(ConfigError, match="PUBLIC_HOLIDAYS") as error:
        business_days.holidays({"PUBLIC_HOLIDAYS": bad})
    assert "YYYY-MM-DD" in str(error.value) or "list of dates" in str(error.value)


def test_p26_wrong_holiday_setting_stops_the_app_at_start(make_app):
    with pytest.raises(ConfigError, match="PUBLIC_HOLIDAYS"):
        make_app(PUBLIC_HOLIDAYS=["2026-02-30"])


def test_p26_holidays_from_the_environment_form_are_read(monkeypatch):
    assert business_days.holidays({"PUBLIC_HOLIDAYS": "2026-12-25, 2026-12-26"}) == {
        date(2026, 12, 25), date(2026, 12, 26)}


def test_p26_reseller_asks_the_host_and_staff_complete_it(client, resellers, factories, make_app):
    admin = factories.staff("admin", name="Host Admin")
    assert login(client, resellers.r1).status_code == 302
    url = f"/reseller/privacy/customers/{resellers.a1.id}/removal"
    response = post_form(client, url, {"note": "Remove backups too"},
                         token_from=f"/reseller/customers/{resellers.a1.id}")
    assert response.status_code == 302
    r = db.session.execute(select(RemovalRequest)).scalar_one()
    assert r.due_on == business_days.add(r.requested_at.date(), 30)
    assert r.reseller_id == resellers.r1.id and r.status == "open"
    assert any(m.to_addr == admin.email for m in db.session.execute(select(OutboxMessage)).scalars())
    again = post_form(client, url, {"note": ""}, token_from=f"/reseller/customers/{resellers.a1.id}")
    assert again.status_code == 302 and db.session.query(RemovalRequest).count() == 1  # one open

    page = client.get(f"/reseller/customers/{resellers.a1.id}").get_data(as_text=True)
    assert f"due by {r.due_on}: open" in page

    staff = make_app().test_client()
    assert login(staff, factories.staff()).status_code == 302
    queue = staff.get("/admin/privacy/removals/").get_data(as_text=True)
    assert "Reseller One Ltd" in queue and str(r.due_on) in queue and "business days left" in queue
    detail = staff.get(f"/admin/privacy/removals/{r.id}").get_data(as_text=True)
    assert "Remove backups too" not in detail  # the note needs an access session
    post_form(staff, f"/admin/access/new/{resellers.a1.id}", SESSION)
    assert "Remove backups too" in staff.get(f"/admin/privacy/removals/{r.id}").get_data(as_text=True)
    assert post_form(staff, f"/admin/privacy/removals/{r.id}/ask", {},
                     token_from=f"/admin/privacy/removals/{r.id}").status_code == 302
    assert "Removal waiting for approval" in staff.get(f"/admin/privacy/removals/{r.id}").get_data(
        as_text=True)
    post_form(staff, f"/admin/privacy/removals/{r.id}/approve", {"confirm": "yes"},
              token_from=f"/admin/privacy/removals/{r.id}")  # not their own
    assert resellers.account(resellers.c1).status != "closed"
    second = make_app().test_client()  # four eyes: another staff member, in their own session
    assert login(second, factories.staff()).status_code == 302
    post_form(second, f"/admin/access/new/{resellers.a1.id}", SESSION)
    assert post_form(second, f"/admin/privacy/removals/{r.id}/approve", {"confirm": "yes"},
                     token_from=f"/admin/privacy/removals/{r.id}").status_code == 302
    db.session.expire_all()
    r = db.session.get(RemovalRequest, r.id)
    assert r.status == "completed" and r.completed_at is not None
    assert resellers.account(resellers.c1).status == "closed"
    page = client.get("/reseller/privacy/requests/").get_data(as_text=True)
    assert "completed" in page


def test_p26_removal_for_a_customer_the_reseller_does_not_own_is_404(client, resellers):
    assert login(client, resellers.r1).status_code == 302
    for account in (resellers.a2, resellers.account(resellers.house)):
        response = post_form(client, f"/reseller/privacy/customers/{account.id}/removal",
                             {"note": "x"}, token_from="/reseller/")
        assert response.status_code == 404
    assert post_form(client, "/reseller/privacy/customers/not-an-id/removal", {"note": "x"},
                     token_from="/reseller/").status_code == 404
    assert db.session.query(RemovalRequest).count() == 0


def test_p26_staff_refusal_needs_a_reason_and_the_reseller_sees_it(client, resellers, factories,
                                                                  make_app):
    r = resell.file_removal(resellers.r1, resellers.a1.id, "")
    assert login(client, factories.staff()).status_code == 302
    url = f"/admin/privacy/removals/{r.id}"
    refused = post_form(client, f"{url}/refuse", {"reason": "No", "confirm": "yes"}, token_from=url)
    assert "/admin/access/new/" in refused.headers["Location"]  # an account action: a session
    db.session.expire_all()
    assert db.session.get(RemovalRequest, r.id).status == "open"
    post_form(client, f"/admin/access/new/{resellers.a1.id}", SESSION)
    post_form(client, f"{url}/refuse", {"reason": ""}, token_from=url)
    db.session.expire_all()
    assert db.session.get(RemovalRequest, r.id).status == "open"
    post_form(client, f"{url}/refuse", {"reason": "Legal hold on this account", "confirm": "yes"},
              token_from=url)
    db.session.expire_all()
    assert db.session.get(RemovalRequest, r.id).status == "refused"
    reseller = make_app().test_client()
    assert login(reseller, resellers.r1).status_code == 302
    assert "Legal hold on this account" in reseller.get("/reseller/privacy/requests/").get_data(as_text=True)


def test_p26_reminders_go_once_at_five_and_one_business_days_before(resellers, factories,
                                                                  monkeypatch):
    admin = factories.staff("admin")
    r = resell.file_removal(resellers.r1, resellers.a1.id, "")
    due = r.due_on

    def on(day: date) -> list[str]:
        monkeypatch.setattr(resell, "today", lambda: day)
        before = {m.id for m in db.session.execute(select(OutboxMessage)).scalars()}
        resell.send_reminders()
        return [m.subject for m in db.session.execute(select(OutboxMessage)).scalars()
                if m.id not in before and m.to_addr == admin.email]

    six_before = due - timedelta(days=14)
    while business_days.between(six_before, due) > 6:
        six_before += timedelta(days=1)
    assert on(six_before) == []
    five_before = six_before + timedelta(days=1)
    while business_days.between(five_before, due) > 5:
        five_before += timedelta(days=1)
    assert on(five_before) == ["Reminder: removal request due in 5 business days"]
    assert on(five_before) == []  # once
    one_before = due - timedelta(days=1)
    while business_days.between(one_before, due) != 1:
        one_before -= timedelta(days=1)
    assert on(one_before) == ["Reminder: removal request due in 1 business day"]
    assert on(due + timedelta(days=3)) == []  # both sent already
