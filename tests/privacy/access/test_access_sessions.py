"""Staff access sessions and the customer's lockbox (P16, P17)."""

from __future__ import annotations

import re
from datetime import timedelta

from panel.db_types import utcnow
from panel.extensions import db
from panel.mail.models import OutboxMessage
from plugins.privacy.access.models import AccessSession, AccountPrivacy, AuditEntry
from plugins.privacy.access.services import sessions as access
from tests.conftest import login, post_form

SESSION = {"reason": "support", "ticket": "T-1234", "note": "Customer cannot reach their site",
           "minutes": "30"}


def _require_approval(account, notify: bool = True) -> None:
    db.session.merge(AccountPrivacy(account_id=account.id, require_approval=True, notify_access=notify))
    db.session.commit()


def _customer(factories, **kw):
    user = factories.subscriber(**kw)
    return user, user.account


def test_p16_staff_cannot_open_an_account_without_a_session(client, factories, login_as):
    _, account = _customer(factories)
    login_as("staff")
    response = client.get(f"/admin/customers/{account.id}")
    assert response.status_code == 302
    assert f"/admin/access/new/{account.id}" in response.headers["Location"]
    assert client.post(f"/admin/customers/{account.id}").status_code in (302, 400)


def test_p16_staff_list_shows_masked_emails_not_names(client, factories, login_as):
    _customer(factories, email="henrietta@example.com", first_name="Henrietta")
    login_as("staff")
    page = client.get("/admin/").get_data(as_text=True)
    assert "h•••a@example.com" in page and "Henrietta" not in page


def test_p16_a_session_states_reason_and_ticket_and_opens_the_account(client, factories, login_as):
    user, account = _customer(factories, first_name="Henrietta")
    staff = login_as("staff")
    response = post_form(client, f"/admin/access/new/{account.id}", SESSION)
    assert response.status_code == 302
    page = client.get(f"/admin/customers/{account.id}").get_data(as_text=True)
    assert "Henrietta" in page
    view = AuditEntry.query.filter_by(action="account.view").one()
    assert (view.actor_id, view.reason_code, view.ticket) == (staff.id, "support", "T-1234")
    assert view.session_id is not None
    mail = OutboxMessage.query.one()  # the customer is told (on by default)
    assert mail.subject == "Support opened your account data" and mail.to_addr == user.email


def test_p16_reason_and_ticket_are_required_and_bounded(client, factories, login_as):
    _, account = _customer(factories)
    login_as("staff")
    url = f"/admin/access/new/{account.id}"
    for data, message in [
        ({**SESSION, "reason": ""}, "Choose a reason."),
        ({**SESSION, "ticket": ""}, "A ticket or case reference is required"),
        ({**SESSION, "ticket": "x" * 10_000}, "at most 64 characters"),
        ({**SESSION, "note": "x" * 10_000}, "under 1,000 characters"),
        ({**SESSION, "note": ""}, "Say what you need to do."),
        ({**SESSION, "minutes": "600"}, "Between 5 and 240 minutes."),
        ({**SESSION, "reason": "curiosity"}, "Not a valid choice"),
    ]:
        response = post_form(client, url, data)
        assert response.status_code == 400, data
        assert message in response.get_data(as_text=True), message
    assert AccessSession.query.count() == 0
    assert client.get(f"/admin/customers/{account.id}").status_code == 302


def test_p16_billing_reason_needs_no_ticket(client, factories, login_as):
    _, account = _customer(factories)
    login_as("staff")
    response = post_form(client, f"/admin/access/new/{account.id}",
                         {**SESSION, "reason": "billing", "ticket": ""})
    assert response.status_code == 302


def test_p16_sessions_expire_on_their_own(app, client, factories, login_as):
    _, account = _customer(factories)
    login_as("staff")
    post_form(client, f"/admin/access/new/{account.id}", SESSION)
    s = AccessSession.query.one()
    s.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get(f"/admin/customers/{account.id}").status_code == 302
    assert "expired 1 access sessions" in app.test_cli_runner().invoke(args=["cron"]).output
    assert db.session.get(AccessSession, s.id).status == "expired"


def test_p16_staff_end_a_session_early(client, factories, login_as):
    _, account = _customer(factories)
    login_as("staff")
    post_form(client, f"/admin/access/new/{account.id}", SESSION)
    s = AccessSession.query.one()
    post_form(client, f"/admin/access/{s.id}/end", token_from="/admin/access/")
    assert db.session.get(AccessSession, s.id).status == "ended"
    assert client.get(f"/admin/customers/{account.id}").status_code == 302


def _approval_link(mail: OutboxMessage) -> str:
    return re.search(r"http://localhost(/access/approve/\S+)", mail.body).group(1)


def test_p17_lockbox_keeps_a_request_pending_until_the_customer_approves(app, client, factories):
    user, account = _customer(factories)
    me = app.test_client()
    login(me, user)
    post_form(me, "/client/privacy/access", {"require_approval": "y", "notify_access": "y"})
    staff = factories.staff()
    login(client, staff)
    response = post_form(client, f"/admin/access/new/{account.id}", SESSION)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/access/")
    assert client.get(f"/admin/customers/{account.id}").status_code == 302  # still pending
    page = me.get("/client/privacy/access").get_data(as_text=True)
    assert staff.display_name in page and "waiting for you" in page and "T-1234" in page
    s = AccessSession.query.one()
    post_form(me, f"/client/privacy/access/{s.id}/decide", {"decision": "approve"},
              token_from="/client/privacy/access")
    assert client.get(f"/admin/customers/{account.id}").status_code == 200
    page = me.get("/client/privacy/access").get_data(as_text=True)
    assert "approved by you" in page and "account.view" in page  # and what they looked at


def test_p17_approval_from_the_signed_email_link(app, client, factories):
    user, account = _customer(factories)
    _require_approval(account)
    login(client, factories.staff())
    post_form(client, f"/admin/access/new/{account.id}", SESSION)
    link = _approval_link(OutboxMessage.query.one())
    anonymous = app.test_client()
    page = anonymous.get(link)
    assert page.status_code == 200 and "Approve access" in page.get_data(as_text=True)
    done = post_form(anonymous, link, {"decision": "approve"})
    assert done.status_code == 200 and "now <strong>active</strong>" in done.get_data(as_text=True)
    assert client.get(f"/admin/customers/{account.id}").status_code == 200
    again = post_form(anonymous, link, {"decision": "deny"}, token_from="/login")
    assert again.status_code == 409  # a decision is made once
    assert "already active" in again.get_data(as_text=True)
    assert AccessSession.query.one().status == "active"


def test_p17_forged_or_expired_approval_links_are_refused(app, client, factories):
    user, account = _customer(factories)
    _require_approval(account)
    login(client, factories.staff())
    post_form(client, f"/admin/access/new/{account.id}", SESSION)
    link = _approval_link(OutboxMessage.query.one())
    anonymous = app.test_client()
    assert anonymous.get(link[:-3] + "abc").status_code == 404
    assert "not valid" in anonymous.get("/access/approve/garbage").get_data(as_text=True)
    s = AccessSession.query.one()
    s.requested_at = utcnow() - timedelta(hours=13)
    db.session.commit()
    assert "expired 1 access sessions" in app.test_cli_runner().invoke(args=["cron"]).output
    response = post_form(anonymous, link, {"decision": "approve"}, token_from="/login")
    assert response.status_code == 409 and "This request has expired" in response.get_data(as_text=True)
    assert client.get(f"/admin/customers/{account.id}").status_code == 302


def test_p17_customer_revokes_an_active_session_at_once(app, client, factories):
    user, account = _customer(factories)
    login(client, factories.staff())
    post_form(client, f"/admin/access/new/{account.id}", SESSION)
    assert client.get(f"/admin/customers/{account.id}").status_code == 200
    me = app.test_client()
    login(me, user)
    s = AccessSession.query.one()
    post_form(me, f"/client/privacy/access/{s.id}/revoke", token_from="/client/privacy/access")
    assert client.get(f"/admin/customers/{account.id}").status_code == 302
    assert "revoked by the customer" in me.get("/client/privacy/access").get_data(as_text=True)


def test_p17_break_glass_is_for_admins_with_legal_or_abuse_reasons_and_is_announced(
        app, client, factories):
    user, account = _customer(factories)
    _require_approval(account, notify=False)
    staff = app.test_client()
    login(staff, factories.staff())
    refused = post_form(staff, f"/admin/access/new/{account.id}",
                        {**SESSION, "reason": "legal", "break_glass": "y"})
    assert refused.status_code == 400 and "Only admins can break glass" in refused.get_data(as_text=True)
    login(client, factories.staff("admin"))
    wrong = post_form(client, f"/admin/access/new/{account.id}",
                      {**SESSION, "reason": "billing", "break_glass": "y"})
    assert wrong.status_code == 400
    ok = post_form(client, f"/admin/access/new/{account.id}",
                   {**SESSION, "reason": "legal", "ticket": "LEGAL-9", "break_glass": "y",
                    "confirm": "yes"})
    assert ok.status_code == 302
    assert client.get(f"/admin/customers/{account.id}").status_code == 200
    mail = OutboxMessage.query.filter_by(subject="Break-glass access to your account").one()
    assert "without your approval" in mail.body  # told even with notices switched off
    me = app.test_client()
    login(me, user)
    assert "break-glass" in me.get("/client/privacy/access").get_data(as_text=True)


def test_p17_customers_cannot_touch_other_customers_sessions(app, client, factories):
    victim, account = _customer(factories)
    login(client, factories.staff())
    post_form(client, f"/admin/access/new/{account.id}", SESSION)
    s = AccessSession.query.one()
    other = app.test_client()
    login(other, factories.subscriber())
    response = post_form(other, f"/client/privacy/access/{s.id}/revoke",
                         token_from="/client/privacy/access")
    assert response.status_code == 404
    assert db.session.get(AccessSession, s.id).status == "active"


def test_p17_racing_decisions_resolve_to_exactly_one(app, factories):
    user, account = _customer(factories)
    staff = factories.staff()
    _require_approval(account)
    s = access.request_access(staff, account, reason="billing", ticket="", note="n")
    access.end(s, staff)
    try:
        access.decide(s, user, approve=True)
        raise AssertionError("a second decision must be refused")
    except access.AccessError as exc:
        assert "already ended" in str(exc)
    assert db.session.get(AccessSession, s.id).status == "ended"


def test_p16_refused_requests_and_forged_links_are_recorded(app, client, factories, login_as):
    _, account = _customer(factories)
    login_as("staff")
    post_form(client, f"/admin/access/new/{account.id}", {**SESSION, "ticket": "x" * 10_000})
    refused = AuditEntry.query.filter_by(action="access.request").one()
    assert refused.account_id == account.id and refused.result == "refused: invalid form"
    assert refused.fields == []  # the trail names fields, never what was typed
    app.test_client().get("/access/approve/forged-token")
    link = AuditEntry.query.filter_by(action="access.approval_link").one()
    assert link.result.startswith("refused")


def test_p16_resellers_cannot_start_access_sessions(app, client, factories):
    reseller = factories.reseller()
    other_reseller_customer = factories.subscriber(reseller=factories.reseller())
    own = factories.subscriber(reseller=reseller)
    login(client, reseller)
    for account_id in (other_reseller_customer.account_id, own.account_id):
        assert client.get(f"/admin/access/new/{account_id}").status_code == 404
    assert AccessSession.query.count() == 0


def test_p17_two_people_racing_to_decide_the_same_request_resolve_to_one(app, factories):
    import threading

    user, account = _customer(factories)
    staff = factories.staff()
    _require_approval(account)
    s = access.request_access(staff, account, reason="billing", ticket="", note="n")
    results: list[str] = []
    barrier = threading.Barrier(2)

    def act(kind: str) -> None:
        with app.app_context():
            mine = db.session.get(AccessSession, s.id)
            who = db.session.get(type(staff), staff.id if kind == "end" else user.id)
            barrier.wait()
            try:
                if kind == "end":
                    access.end(mine, who)
                else:
                    access.decide(mine, who, approve=True)
                results.append(kind)
            except access.AccessError:
                results.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=act, args=(k,)) for k in ("end", "approve")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # Serial outcomes only: approve-then-end, or end-then-(approve refused). Never an approval
    # that reopens a request staff had already ended.
    db.session.expire_all()
    final = db.session.get(AccessSession, s.id).status
    assert (tuple(sorted(results)), final) in {(("approve", "end"), "ended"),
                                               (("end", "refused"), "ended")}


def test_p17_an_admin_reading_the_local_maildir_cannot_use_the_customers_approval_link(
        app, client, factories):
    import mailbox
    from pathlib import Path

    _, account = _customer(factories)
    _require_approval(account)
    login(client, factories.staff("admin"))
    post_form(client, f"/admin/access/new/{account.id}", SESSION)
    assert "sent 1" in app.test_cli_runner().invoke(args=["mail", "send"]).output
    box = mailbox.Maildir(Path(app.instance_path) / "mail")
    key = next(iter(box.keys()))
    page = client.get(f"/admin/mail/maildir/{key}").get_data(as_text=True)
    assert "/access/approve/[link hidden" in page and "asked to open your account data" in page
    assert AuditEntry.query.filter_by(action="mail.read").count() == 1  # reading it is recorded


def test_p16_a_failed_staff_edit_still_records_that_the_page_was_shown(client, factories, login_as):
    _, account = _customer(factories)
    login_as("staff")
    post_form(client, f"/admin/access/new/{account.id}", SESSION)
    url = f"/admin/customers/{account.id}"
    before = AuditEntry.query.filter_by(action="account.view").count()
    response = post_form(client, url, {"first_name": "", "last_name": "X", "phone": "nope"})
    assert response.status_code == 400
    assert AuditEntry.query.filter_by(action="account.view").count() == before + 2  # GET + POST
