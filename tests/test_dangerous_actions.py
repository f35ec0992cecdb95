"""Dangerous actions need a second, confirming step (issue 15): deactivating a plugin, marking
an account as a child's, closing an account, erasing (the desk's and a reseller's removal),
breaking glass, refusing a request (the desk's, a reseller's, a removal), suspending a customer.

Each case posts the danger button's form once, as a stray click or a replayed request would:
the answer is a page that says what will happen, and nothing changed. Posting it again with
the confirmation does the thing. A new dangerous action gets a case here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from panel.accounts.models import Account
from panel.extensions import db
from panel.hooks import host
from plugins.privacy.access.models import AccessSession
from plugins.privacy.center.models import DataRequest
from plugins.privacy.center.services import requests as desk
from plugins.privacy.reseller.models import RemovalRequest
from plugins.privacy.reseller.services import requests as resell
from tests.conftest import login, post_form
from tests.reseller_fixtures import Resellers

pytestmark = pytest.mark.needs_privacy

SESSION = {"reason": "support", "ticket": "T-9", "note": "Danger walk", "minutes": "30"}


@dataclass
class Case:
    client: Any
    url: str
    data: dict[str, str]
    token_from: str
    state: Callable[[], Any]  # what the action changes, read fresh
    says: str  # the confirmation page names what will happen


def _signed_in(app: Flask, user: Any, session_on: Account | None = None) -> Any:
    client = app.test_client()
    assert login(client, user).status_code == 302
    if session_on is not None:
        assert post_form(client, f"/admin/access/new/{session_on.id}", SESSION).status_code == 302
    return client


def _fresh(model: Any, id_: Any, attr: str) -> Any:
    db.session.expire_all()
    return getattr(db.session.get(model, id_), attr)


def deactivate_plugin(app, factories, resellers) -> Case:
    admin = _signed_in(app, factories.staff("admin"))
    return Case(admin, "/admin/plugins", {"name": "privacy", "action": "deactivate"},
                "/admin/plugins", lambda: host().is_active("privacy"), "will answer")


def mark_child(app, factories, resellers) -> Case:
    account = resellers.account(resellers.house)
    staff = _signed_in(app, factories.staff(), account)
    return Case(staff, f"/admin/privacy/requests/child/{account.id}", {},
                f"/admin/customers/{account.id}",
                lambda: db.session.query(DataRequest).count(), "files an erasure request")


def close_account(app, factories, resellers) -> Case:
    account = resellers.account(resellers.house)
    staff = _signed_in(app, factories.staff(), account)
    url = f"/admin/privacy/accounts/{account.id}/closure"
    return Case(staff, url, {"action": "close"}, url,
                lambda: _fresh(Account, account.id, "closed_at"), "cannot sign in")


def _asked_erasure(app, factories, account: Account) -> DataRequest:
    r = desk.file(account, None, kind="erasure", channel="email", verified_by="callback")
    assert desk.fulfil(r, factories.staff()) is False  # A asks; B below approves
    return r


def erase(app, factories, resellers) -> Case:
    account = resellers.account(resellers.house)
    r = _asked_erasure(app, factories, account)
    staff = _signed_in(app, factories.staff(), account)
    url = f"/admin/privacy/requests/{r.id}"
    return Case(staff, f"{url}/approve", {}, url,
                lambda: _fresh(Account, account.id, "first_name"), "cannot be brought back")


def refuse_request(app, factories, resellers) -> Case:
    account = resellers.account(resellers.house)
    r = desk.file(account, None, kind="restriction", channel="email", verified_by="callback")
    staff = _signed_in(app, factories.staff(), account)
    url = f"/admin/privacy/requests/{r.id}"
    return Case(staff, f"{url}/refuse", {"reason": "We need the account holder"}, url,
                lambda: _fresh(DataRequest, r.id, "status"), "We need the account holder")


def reseller_refuses(app, factories, resellers) -> Case:
    r = desk.file(resellers.a1, None, kind="restriction", channel="email", verified_by="callback")
    reseller = _signed_in(app, resellers.r1)
    url = f"/reseller/privacy/requests/{r.id}"
    return Case(reseller, f"{url}/refuse", {"reason": "Not what the customer wants"}, url,
                lambda: _fresh(DataRequest, r.id, "status"), "Not what the customer wants")


def remove_for_reseller(app, factories, resellers) -> Case:
    r = resell.file_removal(resellers.r1, resellers.a1.id, "")
    resell.ask_completion(r, factories.staff())
    staff = _signed_in(app, factories.staff(), resellers.a1)
    url = f"/admin/privacy/removals/{r.id}"
    return Case(staff, f"{url}/approve", {}, url,
                lambda: _fresh(RemovalRequest, r.id, "status"), "cannot be brought back")


def refuse_removal(app, factories, resellers) -> Case:
    r = resell.file_removal(resellers.r1, resellers.a1.id, "")
    staff = _signed_in(app, factories.staff(), resellers.a1)
    url = f"/admin/privacy/removals/{r.id}"
    return Case(staff, f"{url}/refuse", {"reason": "A legal hold applies"}, url,
                lambda: _fresh(RemovalRequest, r.id, "status"), "A legal hold applies")


def break_glass(app, factories, resellers) -> Case:
    account = resellers.account(resellers.house)
    admin = _signed_in(app, factories.staff("admin"))
    url = f"/admin/access/new/{account.id}"
    return Case(admin, url, {**SESSION, "reason": "legal", "break_glass": "y"}, url,
                lambda: db.session.query(AccessSession).count(), "opens now without")


def suspend_customer(app, factories, resellers) -> Case:
    reseller = _signed_in(app, resellers.r1)
    url = f"/reseller/customers/{resellers.a1.id}"
    return Case(reseller, f"{url}/suspend", {"suspend": "1"}, url,
                lambda: _fresh(Account, resellers.a1.id, "status"), "cannot sign in")


CASES = [deactivate_plugin, mark_child, close_account, erase, refuse_request, reseller_refuses,
         remove_for_reseller, refuse_removal, break_glass, suspend_customer]


@pytest.mark.parametrize("make", CASES, ids=[c.__name__ for c in CASES])
def test_every_dangerous_action_refuses_a_single_post_and_works_once_confirmed(
        app, factories, make):
    case = make(app, factories, Resellers(factories))
    page = case.client.get(case.token_from).get_data(as_text=True)
    assert re.search(r'<button type="submit"[^>]*class="danger"', page), "no danger-styled button"
    before = case.state()
    first = post_form(case.client, case.url, case.data, token_from=case.token_from)
    body = first.get_data(as_text=True)
    assert first.status_code == 200, body
    assert case.says in body and 'name="confirm" value="yes"' in body
    assert re.search(r'<button type="submit" class="danger">', body)
    assert case.state() == before, "a single POST changed something"
    done = post_form(case.client, case.url, {**case.data, "confirm": "yes"},
                     token_from=case.token_from)
    assert done.status_code == 302, done.get_data(as_text=True)
    assert case.state() != before, "the confirmed POST did nothing"


def test_the_confirmation_page_posts_back_the_same_fields(app, factories):
    """What was typed (a refusal's reason) is what is confirmed: nothing is asked twice."""
    resellers = Resellers(factories)
    case = refuse_request(app, factories, resellers)
    body = post_form(case.client, case.url, case.data, token_from=case.token_from).get_data(
        as_text=True)
    assert f'action="{case.url}"' in body
    assert 'name="reason" value="We need the account holder"' in body
    assert "Cancel: change nothing" in body
    assert db.session.execute(select(DataRequest.status)).scalar_one() == "verified"
