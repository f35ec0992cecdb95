"""Staff help without taking over (issue 14): inside an access session, support resets a
customer's second factor or has a password-reset link sent, and never sets a password.

The customer is emailed a cancel link; nothing changes for 24 hours (the clock is moved);
then `panel cron` carries it out, once. The request, the cancellation and the outcome are on
the trail and, in sentences, on the customer's Staff access page (P16, P17).
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from panel.auth import totp
from panel.auth.models import User
from panel.db_types import utcnow
from panel.extensions import db
from panel.mail.models import OutboxMessage
from panel.passkeys.models import Passkey
from panel.password_reset.models import PasswordReset
from plugins.privacy.access.models import AuditEntry, StaffHelp
from plugins.privacy.access.services import help as staff_help
from tests.conftest import csrf_token, login, post_form

SESSION = {"reason": "support", "ticket": "T-77", "note": "Lost their phone", "minutes": "30"}
CANCEL = re.compile(r"http://localhost(/access/help/[\w.-]+)")
RESET = re.compile(r"http://localhost(/reset-password/[\w.-]+)")
NEW_PASSWORD = "chosen by the customer 42"


def _customer(factories, *, second_factor: bool = True) -> User:
    user = factories.subscriber()
    if second_factor:
        user.totp_secret = pyotp.random_base32()
        user.recovery_hashes = totp.new_recovery_codes()[1]
        db.session.add(Passkey(id=uuid.uuid4(), user_id=user.id, credential_id="cred-1",
                               public_key=b"\x01", sign_count=0, name="Phone"))
        db.session.commit()
    return user


def _open_session(client, staff, user) -> None:
    login(client, staff)
    assert post_form(client, f"/admin/access/new/{user.account_id}", SESSION).status_code == 302


def _ask(client, user, kind: str):
    return post_form(client, f"/admin/access/help/{user.account_id}", {"kind": kind},
                     token_from=f"/admin/customers/{user.account_id}")


def _mails(user: User) -> list[OutboxMessage]:
    return [m for m in db.session.execute(select(OutboxMessage).order_by(OutboxMessage.created_at))
            .scalars() if m.to_addr == user.email]


def _cancel_link(user: User) -> str:
    found = [CANCEL.search(m.body or "") for m in _mails(user)]
    links = [m.group(1) for m in found if m]
    assert links, [m.subject for m in _mails(user)]
    return links[-1]


def _at(monkeypatch, delta: timedelta) -> None:
    """Move the clock the cool-down is decided by."""
    monkeypatch.setattr(staff_help, "utcnow", lambda: utcnow() + delta)


def _cron(app) -> str:
    return app.test_cli_runner().invoke(args=["cron", "--force"]).output


def _actions(account_id) -> list[str]:
    return list(db.session.execute(select(AuditEntry.action).where(
        AuditEntry.account_id == account_id).order_by(AuditEntry.seq)).scalars())


def _second_factor(user: User) -> tuple[bool, bool, int]:
    db.session.refresh(user)
    keys = db.session.execute(select(func.count()).select_from(Passkey)
                              .where(Passkey.user_id == user.id)).scalar()
    return bool(user.totp_secret), bool(user.recovery_hashes), keys


def test_p16_second_factor_reset_waits_24_hours_then_cron_applies_it(app, client, factories,
                                                                     monkeypatch):
    user = _customer(factories)
    staff = factories.staff(name="Sam Support")
    _open_session(client, staff, user)
    page = client.get(f"/admin/customers/{user.account_id}").get_data(as_text=True)
    assert "Reset two-step sign-in" in page and "Email a password-reset link" in page
    assert _ask(client, user, "second_factor").status_code == 302

    mail = _mails(user)[-1]
    assert mail.subject == "Support will reset your two-step sign-in in 24 hours"
    assert "Sam Support from support asked" in mail.body and "(ticket T-77)" in mail.body
    assert CANCEL.search(mail.body)
    row = db.session.execute(select(StaffHelp)).scalar_one()
    assert row.status == "pending" and row.session_id is not None

    _at(monkeypatch, timedelta(hours=23, minutes=59))
    assert "staff help carried out 0" in _cron(app)
    assert _second_factor(user) == (True, True, 1)  # nothing changed before 24 hours

    _at(monkeypatch, timedelta(hours=24, minutes=1))
    assert "staff help carried out 1" in _cron(app)
    assert _second_factor(user) == (False, False, 0)  # app, codes and passkeys gone at once
    assert "staff help carried out 0" in _cron(app)  # idempotent: a second run does nothing
    assert any(m.subject == "Two-step sign-in was reset on your hosting panel account"
               for m in _mails(user))

    # The customer signs in with the password alone and sets two-step sign-in up again.
    customer = app.test_client()
    response = login(customer, user)
    assert response.status_code == 302 and "/login/verify" not in response.headers["Location"]
    assert customer.get("/account/2fa").status_code == 200

    actions = _actions(user.account_id)
    assert {"staff_help.request", "mfa.reset", "staff_help.apply"} <= set(actions)
    request = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "staff_help.request")).scalar_one()
    assert (request.actor_id, request.ticket, request.session_id) == (staff.id, "T-77",
                                                                      row.session_id)
    staff_page = customer.get("/client/privacy/access").get_data(as_text=True)
    assert "Sam Support (staff) asked on" in staff_page
    assert "to reset your two-step sign-in (authenticator app, recovery codes and passkeys). " \
           "It took effect on" in staff_page


def test_p16_password_link_is_mailed_after_24_hours_and_the_customer_chooses(app, client,
                                                                              factories,
                                                                              monkeypatch):
    user = _customer(factories, second_factor=False)
    _open_session(client, factories.staff(name="Sam Support"), user)
    assert _ask(client, user, "password_link").status_code == 302
    assert _mails(user)[-1].subject == "Support will email you a password-reset link in 24 hours"

    _at(monkeypatch, timedelta(hours=23))
    _cron(app)
    assert not [m for m in _mails(user) if RESET.search(m.body or "")]
    assert db.session.execute(select(func.count()).select_from(PasswordReset)).scalar() == 0

    _at(monkeypatch, timedelta(hours=24, seconds=1))
    _cron(app)
    links = [RESET.search(m.body or "") for m in _mails(user)]
    sent = [m.group(1) for m in links if m]
    assert len(sent) == 1, "the reset link arrives once"
    assert "Sam Support from support asked on" in _mails(user)[-1].body
    anonymous = app.test_client()
    assert anonymous.get(sent[0]).status_code == 200
    chosen = post_form(anonymous, sent[0], {"new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                       token_from="/forgot-password")
    assert chosen.status_code == 302
    customer = app.test_client()
    assert login(customer, user, NEW_PASSWORD).status_code == 302
    page = customer.get("/client/privacy/access").get_data(as_text=True)
    assert "It took effect on" in page and "the link was emailed to you" in page


def test_p17_customer_cancels_from_the_mail_and_nothing_happens(app, client, factories,
                                                                 monkeypatch):
    user = _customer(factories)
    _open_session(client, factories.staff(), user)
    _ask(client, user, "second_factor")
    link = _cancel_link(user)
    anonymous = app.test_client()  # the customer, from the mail, not signed in

    shown = anonymous.get(link)
    assert shown.status_code == 200 and "Cancel this request" in shown.get_data(as_text=True)
    assert anonymous.head(link).status_code == 200
    assert db.session.execute(select(StaffHelp.status)).scalar_one() == "pending"  # GET: nothing

    done = post_form(anonymous, link, token_from=link)
    assert done.status_code == 200 and "Cancelled: nothing will change" in done.get_data(as_text=True)
    again = post_form(anonymous, link, token_from="/login")
    assert again.status_code == 409 and "already cancelled" in again.get_data(as_text=True)
    assert "already cancelled" in anonymous.get(link).get_data(as_text=True)

    _at(monkeypatch, timedelta(days=2))
    assert "staff help carried out 0" in _cron(app)
    assert _second_factor(user) == (True, True, 1)
    cancel = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "staff_help.cancel")).scalar_one()
    assert (cancel.actor_id, cancel.actor_role) == (user.id, "subscriber")

    login(anonymous, user)  # answers the second step: it still works
    page = anonymous.get("/client/privacy/access").get_data(as_text=True)
    assert "You cancelled it on" in page and "nothing was changed" in page


def test_p17_signed_in_customer_can_cancel_from_the_staff_access_page(app, client, factories):
    user = _customer(factories, second_factor=False)
    _open_session(client, factories.staff(), user)
    _ask(client, user, "password_link")
    customer = app.test_client()
    login(customer, user)
    page = customer.get("/client/privacy/access").get_data(as_text=True)
    assert "It takes effect on" in page and "unless you cancel it" in page
    link = re.search(r'href="(/access/help/[^"]+)">Cancel it', page).group(1)
    assert post_form(customer, link).status_code == 200
    assert db.session.execute(select(StaffHelp.status)).scalar_one() == "cancelled"


def test_p17_cancel_after_it_took_effect_is_refused_with_what_happened(app, client, factories,
                                                                        monkeypatch):
    user = _customer(factories)
    _open_session(client, factories.staff(), user)
    _ask(client, user, "second_factor")
    link = _cancel_link(user)
    _at(monkeypatch, timedelta(hours=25))
    _cron(app)
    anonymous = app.test_client()
    response = post_form(anonymous, link, token_from="/login")
    assert response.status_code == 409
    assert "already took effect" in response.get_data(as_text=True)
    assert db.session.execute(select(StaffHelp.status)).scalar_one() == "done"


@pytest.mark.parametrize("mangle", [
    lambda p: p[:-6],                                          # truncated
    lambda p: p[:-5] + ("A" if p[-5] != "A" else "B") + p[-4:],  # forged signature
    lambda p: "/access/help/" + "x" * 40,                      # made up
])
def test_p17_forged_cancel_links_are_refused(app, client, factories, mangle):
    user = _customer(factories)
    _open_session(client, factories.staff(), user)
    _ask(client, user, "second_factor")
    anonymous = app.test_client()
    bad = mangle(_cancel_link(user))
    for response in (anonymous.get(bad), post_form(anonymous, bad, token_from="/login")):
        assert response.status_code == 404
        assert "This link is not valid" in response.get_data(as_text=True)
    assert db.session.execute(select(StaffHelp.status)).scalar_one() == "pending"


def test_p17_an_expired_cancel_link_says_so(app, client, factories, monkeypatch):
    user = _customer(factories)
    _open_session(client, factories.staff(), user)
    _ask(client, user, "second_factor")
    link = _cancel_link(user)
    real = time.time
    monkeypatch.setattr("time.time", lambda: real() + staff_help.LINK_LIFE.total_seconds() + 60)
    anonymous = app.test_client()
    response = anonymous.get(link)
    assert response.status_code == 410 and "This link has expired" in response.get_data(as_text=True)


def test_p16_staff_without_a_session_are_refused_and_nothing_is_written(app, client, factories):
    user = _customer(factories)
    holder = app.test_client()
    _open_session(holder, factories.staff(), user)  # a colleague's session does not count
    login(client, factories.staff())
    token = csrf_token(client, "/admin/access/")
    before = (_actions(user.account_id), len(_mails(user)))
    for kind in ("second_factor", "password_link"):
        response = client.post(f"/admin/access/help/{user.account_id}",
                               data={"csrf_token": token, "kind": kind})
        assert response.status_code == 302
        assert f"/admin/access/new/{user.account_id}" in response.headers["Location"]
    assert "only inside your own access session" in client.get("/admin/access/").get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(StaffHelp)).scalar() == 0
    assert (_actions(user.account_id), len(_mails(user))) == before
    # nor is the button there: the customer page itself needs the session
    assert client.get(f"/admin/customers/{user.account_id}").status_code == 302


def test_p16_a_reseller_cannot_ask_for_sign_in_help(app, client, factories):
    reseller = factories.reseller()
    user = factories.subscriber(reseller=reseller)
    login(client, reseller)
    token = csrf_token(client, "/reseller/")
    response = client.post(f"/admin/access/help/{user.account_id}",
                           data={"csrf_token": token, "kind": "second_factor"})
    assert response.status_code in (403, 404)
    page = client.get(f"/reseller/customers/{user.account_id}").get_data(as_text=True)
    assert "Reset two-step sign-in" not in page
    assert db.session.execute(select(func.count()).select_from(StaffHelp)).scalar() == 0


def test_p17_a_reseller_or_other_staff_cannot_cancel_for_the_customer(app, client, factories):
    reseller = factories.reseller()
    user = factories.subscriber(reseller=reseller)
    user.totp_secret = pyotp.random_base32()
    db.session.commit()
    staff = factories.staff()
    _open_session(client, staff, user)
    _ask(client, user, "second_factor")
    link = _cancel_link(user)
    for who in (reseller, factories.staff(), staff, factories.subscriber()):
        other = app.test_client()
        login(other, who)
        assert other.get(link).status_code == 403
        response = other.post(link, data={"csrf_token": csrf_token(other, "/account/security")})
        assert response.status_code == 403, who.role
        assert "cannot cancel it for" in response.get_data(as_text=True)
    # staff acting as the customer: the customer's own choices stay theirs
    s = db.session.execute(select(StaffHelp.session_id)).scalar_one()
    acting = app.test_client()
    login(acting, staff)
    acting.post(f"/admin/access/{s}/act-as", data={"csrf_token": csrf_token(acting, "/admin/access/")})
    page = acting.get("/client/privacy/access").get_data(as_text=True)
    assert "It takes effect on" in page and "Cancel it</a>" not in page
    refused = acting.post(link, data={"csrf_token": csrf_token(acting, "/client/")})
    assert refused.status_code == 302
    assert db.session.execute(select(StaffHelp.status)).scalar_one() == "pending"
    assert "staff_help.cancel" not in _actions(user.account_id)


def test_p16_bad_requests_say_why(app, client, factories):
    plain = _customer(factories, second_factor=False)
    _open_session(client, factories.staff(), plain)
    response = _ask(client, plain, "second_factor")
    assert response.status_code == 409 and "no two-step sign-in to reset" in response.get_data(as_text=True)
    response = _ask(client, plain, "set_password")
    assert response.status_code == 400 and "Not a valid choice" in response.get_data(as_text=True)
    assert _ask(client, plain, "password_link").status_code == 302
    again = _ask(client, plain, "password_link")
    assert again.status_code == 409 and "already asked and waiting" in again.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(StaffHelp)).scalar() == 1
    assert len([m for m in _mails(plain) if "24 hours" in m.subject]) == 1


def test_p16_cron_drops_a_request_for_an_account_suspended_meanwhile(app, client, factories,
                                                                     monkeypatch):
    user = _customer(factories)
    _open_session(client, factories.staff(), user)
    _ask(client, user, "second_factor")
    user.active = False
    db.session.commit()
    _at(monkeypatch, timedelta(hours=25))
    assert "dropped 1" in _cron(app)
    assert _second_factor(user) == (True, True, 1)
    assert db.session.execute(select(StaffHelp.status)).scalar_one() == "dropped"


def test_p17_cancel_racing_cron_one_wins_and_it_is_done_once(app, client, factories, make_app,
                                                              monkeypatch):
    import threading

    user = _customer(factories)
    _open_session(client, factories.staff(), user)
    _ask(client, user, "second_factor")
    link = _cancel_link(user)
    _at(monkeypatch, timedelta(hours=24, minutes=1))  # due, and still cancellable until decided
    canceller = make_app().test_client()
    token = csrf_token(canceller, link)
    workers = [make_app(), make_app()]
    barrier = threading.Barrier(3)
    statuses: list[int] = []
    results: list[str] = []

    def cancel() -> None:
        barrier.wait()
        with canceller.application.app_context():
            statuses.append(canceller.post(link, data={"csrf_token": token}).status_code)
            db.session.remove()

    def cron(worker) -> None:
        with worker.app_context():
            barrier.wait()
            results.append(staff_help.apply_due())
            db.session.remove()

    threads = [threading.Thread(target=cancel),
               *(threading.Thread(target=cron, args=(w,)) for w in workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    status = db.session.execute(select(StaffHelp.status)).scalar_one()
    applied = sum("carried out 1" in r for r in results)
    if status == "cancelled":
        assert statuses == [200] and applied == 0 and _second_factor(user) == (True, True, 1)
    else:
        assert status == "done" and statuses == [409] and applied == 1
        assert _second_factor(user) == (False, False, 0)
    resets = [m for m in _mails(user) if m.subject.startswith("Two-step sign-in was reset")]
    assert len(resets) == applied
