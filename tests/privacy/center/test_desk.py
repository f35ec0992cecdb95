"""The staff request desk: every action on an account needs an access session (P16), and an
erasure needs a second staff member's approval, recorded on the trail (four eyes, P09)."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from flask import Flask, url_for
from sqlalchemy import select

from panel.accounts.models import Account
from panel.extensions import db
from plugins.privacy.access.models import AuditEntry
from plugins.privacy.center.models import KINDS, DataRequest, ErasureApproval, IdentityDocument
from plugins.privacy.center.services import requests as service
from tests.conftest import csrf_token, login, post_form
from tests.core.test_bad_input import database_rows

pytestmark = pytest.mark.needs_privacy

DESK = "/admin/privacy/requests"
SESSION = {"reason": "support", "ticket": "T-4", "note": "Data request", "minutes": "30"}
PNG = b"\x89PNG\r\n\x1a\n" + b"scan" * 50
EXTRA = {"objection": {"purpose": "marketing"}, "rectification": {"details": "Name is wrong"}}
#: Routes of the desk that only show the queue or a request's masked summary.
READ_ONLY = {"privacy_request_queue.queue", "privacy_request_queue.detail"}


def _staff(app: Flask, factories: Any, role: str = "staff", session_on: Account | None = None,
           name: str | None = None) -> tuple[Any, Any]:
    client = app.test_client()
    user = factories.staff(role, name=name)
    assert login(client, user).status_code == 302
    if session_on is not None:
        assert post_form(client, f"/admin/access/new/{session_on.id}", SESSION).status_code == 302
    return client, user


def _file(account: Account, kind: str, verified: bool) -> DataRequest:
    return service.file(account, None, kind=kind, channel="email",
                        verified_by="callback" if verified else None, **EXTRA.get(kind, {}))


def _sent_to_session_form(response: Any, account: Account) -> bool:
    return (response.status_code == 302
            and response.headers["Location"].endswith(f"/admin/access/new/{account.id}"))


def _trail(action: str) -> list[AuditEntry]:
    return list(db.session.execute(select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.seq)).scalars())


def test_p16_every_desk_action_without_an_access_session_is_refused_and_writes_nothing(
        app, factories):
    """Walks every route of the desk (a new one is walked too) for every request kind."""
    account = db.session.get(Account, factories.subscriber().account_id)
    other = db.session.get(Account, factories.subscriber().account_id)  # one erasure each
    requests = []
    for kind in KINDS:
        requests += [_file(other if kind == "erasure" else account, kind, verified=False),
                     _file(account, kind, verified=True)]
    erasure = next(r for r in requests if r.kind == "erasure" and r.status == "verified")
    asker, _ = _staff(app, factories, session_on=account)
    post_form(asker, f"{DESK}/{erasure.id}/fulfil", token_from="/admin/access/")
    assert service.pending_erasure(erasure) is not None
    doc = IdentityDocument(request_id=requests[0].id, filename="id.png", content_type="image/png",
                           content="", size=1, delete_by=erasure.received_at)
    db.session.add(doc)
    db.session.commit()

    staff, _ = _staff(app, factories)
    token = csrf_token(staff, "/admin/access/")
    rules = [rule for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith("privacy_request_queue.") and rule.endpoint not in READ_ONLY]
    assert {"privacy_request_queue.verify", "privacy_request_queue.fulfil",
            "privacy_request_queue.refuse", "privacy_request_queue.approve",
            "privacy_request_queue.reject", "privacy_request_queue.log_request",
            "privacy_request_queue.upload"} <= {r.endpoint for r in rules}
    before = database_rows()
    walked = 0
    for rule in rules:
        for r in requests:
            with app.test_request_context():
                url = url_for(rule.endpoint, **{a: {"request_id": r.id, "account_id": account.id,
                                                    "doc_id": doc.id}[a] for a in rule.arguments})
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                data = {"csrf_token": token, "method": "callback", "reason": "No",
                        "reject_reason": "No", "kind": r.kind, "channel": "phone",
                        **EXTRA.get(r.kind, {})} if method == "POST" else None
                if rule.endpoint.endswith(".upload"):
                    data = {"csrf_token": token, "document": (BytesIO(PNG), "id.png", "image/png")}
                response = staff.open(url, method=method, data=data)
                target = account if "account_id" in rule.arguments else db.session.get(
                    Account, r.account_id)
                assert _sent_to_session_form(response, target), (method, url, response.status_code)
                walked += 1
            if not rule.arguments & {"request_id"}:
                break  # the account routes once is enough
    assert walked >= 2 * len(KINDS) * 6
    db.session.expire_all()
    assert database_rows() == before  # refused: not a row written, not even on the trail
    assert service.pending_erasure(erasure) is not None
    assert db.session.get(Account, account.id).status != "closed"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_p16_with_an_access_session_every_desk_action_works(app, factories, kind):
    user = factories.subscriber()
    account = db.session.get(Account, user.account_id)
    staff, me = _staff(app, factories, session_on=account)
    logged = post_form(staff, f"{DESK}/new/{account.id}",
                       {"kind": kind, "channel": "phone", **EXTRA.get(kind, {})})
    assert logged.status_code == 302
    r = db.session.execute(select(DataRequest)).scalar_one()
    detail = f"{DESK}/{r.id}"
    assert post_form(staff, f"{detail}/document",
                     {"document": (BytesIO(PNG), "id.png", "image/png")}, token_from=detail,
                     content_type="multipart/form-data").status_code == 302
    doc = db.session.execute(select(IdentityDocument)).scalar_one()
    assert staff.get(f"{detail}/document/{doc.id}").data == PNG
    post_form(staff, f"{detail}/verify", {"method": "document"}, token_from=detail)
    db.session.expire_all()
    assert db.session.get(DataRequest, r.id).status == "verified"
    post_form(staff, f"{detail}/fulfil", token_from=detail)
    db.session.expire_all()
    done = db.session.get(DataRequest, r.id)
    if kind == "erasure":  # asked for, waiting for someone else
        assert done.status == "verified" and service.pending_erasure(done) is not None
        post_form(staff, f"{detail}/reject", {"reject_reason": "Wrong account"}, token_from=detail)
        db.session.expire_all()
        assert service.pending_erasure(done) is None
    else:
        assert done.status == "fulfilled"
    sessions = {e.session_id for e in db.session.execute(select(AuditEntry).where(
        AuditEntry.actor_id == me.id, AuditEntry.action.like("request.%"))).scalars()}
    assert len(sessions) == 1 and None not in sessions  # each step names the access session

    again = _file(account, kind, verified=True) if kind != "erasure" else done
    post_form(staff, f"{DESK}/{again.id}/refuse", {"reason": "Not you", "confirm": "yes"},
              token_from=f"{DESK}/{again.id}")
    db.session.expire_all()
    assert db.session.get(DataRequest, again.id).status == "refused"


def test_p09_an_erasure_waits_for_a_second_staff_member_who_approves_in_their_own_session(
        app, factories):
    user = factories.subscriber(first_name="Edda")
    account = db.session.get(Account, user.account_id)
    r = _file(account, "erasure", verified=True)
    detail = f"{DESK}/{r.id}"
    a, staff_a = _staff(app, factories, session_on=account, name="Anna Asker")
    asked = post_form(a, f"{detail}/fulfil", token_from=detail)
    assert "another staff member approves" in a.get(asked.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Account, account.id).first_name == "Edda"  # nothing erased yet
    assert db.session.get(DataRequest, r.id).status == "verified"
    page = a.get(detail).get_data(as_text=True)
    assert "Erasure waiting for approval" in page and "Anna Asker asked" in page
    assert "You asked for this erasure" in page and "Approve and erase now" not in page
    assert "awaiting approval" in a.get(f"{DESK}/").get_data(as_text=True)

    # A cannot approve their own request, even by posting the form
    refused = post_form(a, f"{detail}/approve", {"confirm": "yes"}, token_from=detail)
    assert "another staff member must approve" in a.get(refused.headers["Location"]).get_data(
        as_text=True)
    db.session.expire_all()
    assert db.session.get(Account, account.id).first_name == "Edda"
    assert service.pending_erasure(r) is not None
    assert [e.result for e in _trail("erasure.approve")] == ["refused: own request"]

    # B, an admin (admins are staff), without a session: sent to open one; nothing happens
    b = app.test_client()
    admin = factories.staff("admin", name="Bert Approver")
    assert login(b, admin).status_code == 302
    assert _sent_to_session_form(post_form(b, f"{detail}/approve", token_from="/admin/access/"),
                                 account)
    db.session.expire_all()
    assert db.session.get(Account, account.id).first_name == "Edda"

    post_form(b, f"/admin/access/new/{account.id}", SESSION)
    assert "Approve and erase now" in b.get(detail).get_data(as_text=True)
    post_form(b, f"{detail}/approve", {"confirm": "yes"}, token_from=detail)
    db.session.expire_all()
    assert db.session.get(Account, account.id).first_name == "[erased]"
    done = db.session.get(DataRequest, r.id)
    assert done.status == "fulfilled" and done.decided_by == admin.id
    row = db.session.execute(select(ErasureApproval)).scalar_one()
    assert (row.status, row.asked_by, row.decided_by) == ("approved", staff_a.id, admin.id)
    ask, = _trail("erasure.ask")
    approved = [e for e in _trail("erasure.approve") if e.result == "ok"]
    assert ask.actor_id == staff_a.id and ask.session_id is not None
    assert [e.actor_id for e in approved] == [admin.id] and approved[0].session_id is not None
    assert approved[0].session_id != ask.session_id  # each in their own access session
    assert [e.actor_id for e in _trail("request.fulfil")] == [admin.id]


def test_p09_an_erasure_can_be_rejected_with_a_reason_and_asked_again(app, factories):
    user = factories.subscriber(first_name="Rita")
    account = db.session.get(Account, user.account_id)
    r = _file(account, "erasure", verified=True)
    detail = f"{DESK}/{r.id}"
    a, _ = _staff(app, factories, session_on=account)
    post_form(a, f"{detail}/fulfil", token_from=detail)
    b, staff_b = _staff(app, factories, session_on=account, name="Bea Checker")
    post_form(b, f"{detail}/reject", {"reject_reason": ""}, token_from=detail)
    assert service.pending_erasure(r) is not None  # no reason, no rejection
    post_form(b, f"{detail}/reject", {"reject_reason": "Ticket says wrong account"},
              token_from=detail)
    db.session.expire_all()
    row = db.session.execute(select(ErasureApproval)).scalar_one()
    assert (row.status, row.decided_by, row.reason) == ("rejected", staff_b.id,
                                                       "Ticket says wrong account")
    assert db.session.get(Account, account.id).first_name == "Rita"
    assert db.session.get(DataRequest, r.id).status == "verified"  # still open: ask or refuse
    [rejected] = _trail("erasure.reject")
    assert rejected.actor_id == staff_b.id and "Ticket" not in rejected.object  # names, no values
    page = a.get(detail).get_data(as_text=True)
    assert "rejected by Bea Checker" in page and "Ticket says wrong account" in page
    post_form(a, f"{detail}/fulfil", token_from=detail)  # asked again: waiting again
    assert service.pending_erasure(r) is not None
    post_form(a, f"{detail}/refuse", {"reason": "We need the account holder", "confirm": "yes"},
              token_from=detail)
    db.session.expire_all()
    assert db.session.get(DataRequest, r.id).status == "refused"
    assert service.pending_erasure(r) is None  # refusing withdrew the pending erasure
