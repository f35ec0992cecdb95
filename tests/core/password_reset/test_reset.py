"""Password reset (issue 14): "Forgot password?", the emailed link, and its bad inputs.

A request answers the same for every address and sends mail only to an active customer or
reseller; the link is signed, works once, for an hour, and dies on a newer request and on any
password change; an account with two-step sign-in still needs its code; setting the password
ends every session, mails a notice and goes on the trail and the activity log.
"""

from __future__ import annotations

import re
import statistics
import time
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from panel.accounts.erasure import erase
from panel.accounts.models import CLOSED, SUSPENDED, Account
from panel.auth.models import User
from panel.auth.passwords import verify
from panel.extensions import db
from panel.mail.models import OutboxMessage
from panel.password_reset import services
from panel.password_reset.models import PasswordReset
from tests.conftest import csrf_token, login, post_form
from tests.factories import DEFAULT_PASSWORD
from tests.http_bodies import page_text

NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"http://localhost(/reset-password/[\w.-]+)")


def ask(client, email: str):
    return post_form(client, "/forgot-password", {"email": email})


def mails_to(email: str) -> list[OutboxMessage]:
    return [m for m in db.session.execute(select(OutboxMessage)).scalars() if m.to_addr == email]


def link_in(message: OutboxMessage) -> str:
    match = LINK.search(message.body or "")
    assert match, message.body
    return match.group(1)


def request_link(client, user: User) -> str:
    """Ask for a link through the form, let `panel cron` send it, and read it from the mail."""
    before = len(mails_to(user.email))
    assert ask(client, user.email).status_code == 200
    services.send_requested()
    sent = mails_to(user.email)
    assert len(sent) == before + 1
    return link_in(sent[-1])


def set_password(client, path: str, password: str = NEW_PASSWORD, **extra: str):
    # the token from a page that always has a form: a dead link's page has none
    return post_form(client, path, {"new": password, "confirm": password, **extra},
                     token_from="/forgot-password")


def test_forgot_password_is_on_the_sign_in_page(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/forgot-password"' in page and "Forgot password?" in page
    assert client.get("/forgot-password").status_code == 200


def test_same_answer_for_every_address_and_mail_only_for_an_active_customer(app, client, factories):
    known = factories.subscriber()
    suspended = factories.subscriber()
    suspended.active = False
    db.session.get(Account, suspended.account_id).status = SUSPENDED
    closed = factories.subscriber()
    closed.active = False
    db.session.get(Account, closed.account_id).status = CLOSED
    erased = factories.subscriber()
    erased_email = erased.email
    db.session.commit()
    erase(db.session.get(Account, erased.account_id), None)
    db.session.commit()
    staff = factories.staff()
    addresses = [known.email, "nobody-here@example.com", suspended.email, closed.email,
                 erased_email, staff.email]
    answers = set()
    for email in addresses:
        response = ask(client, email)
        assert response.status_code == 200
        answers.add(page_text(response.get_data(as_text=True).replace(email, "EMAIL")))
    assert len(answers) == 1, "the answer tells known and unknown addresses apart"
    assert db.session.query(PasswordReset).count() == len(addresses)  # the same work for each
    assert mails_to(known.email) == []  # nothing is sent while the request is answered

    services.send_requested()
    assert len(mails_to(known.email)) == 1 and link_in(mails_to(known.email)[0])
    for email in (suspended.email, closed.email, erased_email, "nobody-here@example.com"):
        assert mails_to(email) == [], email
    [note] = mails_to(staff.email)  # staff hear how they are reset, and get no link
    assert "administrator" in (note.body or "") and not LINK.search(note.body or "")
    assert db.session.query(PasswordReset).filter(PasswordReset.sent_at.is_(None)).count() == 0


@pytest.mark.timing
def test_same_timing_for_known_and_unknown_addresses(app, client, factories):
    """Statistic over many interleaved tries: the median answer for a known address is within
    15% (or a millisecond) of the median for an unknown one."""
    app.config.update(RESET_LIMIT_PER_IP="10000 per hour", RESET_LIMIT_PER_ADDRESS="10000 per hour")
    known = factories.subscriber()
    token = csrf_token(client, "/forgot-password")
    timings: dict[str, list[float]] = {"known": [], "unknown": []}

    def timed(kind: str, email: str) -> None:
        start = time.perf_counter()
        response = client.post("/forgot-password", data={"csrf_token": token, "email": email})
        timings[kind].append(time.perf_counter() - start)
        assert response.status_code == 200

    for i in range(10):  # warm up both paths
        timed("known", known.email), timed("unknown", f"warm{i}@example.com")
    timings = {"known": [], "unknown": []}
    for i in range(150):
        pairs = [("known", known.email), ("unknown", f"nobody{i}@example.com")]
        for kind, email in (pairs if i % 2 else pairs[::-1]):
            timed(kind, email)
    known_ms = statistics.median(timings["known"]) * 1000
    unknown_ms = statistics.median(timings["unknown"]) * 1000
    assert abs(known_ms - unknown_ms) <= max(1.0, 0.15 * unknown_ms), (known_ms, unknown_ms)


def test_p21_full_reset_ends_every_session_mails_a_notice_and_is_recorded(app, client, factories, make_app):
    user = factories.subscriber()
    elsewhere = make_app().test_client()
    assert login(elsewhere, user).status_code == 302
    assert elsewhere.get("/client/").status_code == 200

    path = request_link(client, user)
    assert "NOT" not in path
    page = client.get(path)
    assert page.status_code == 200 and user.email in page.get_data(as_text=True)
    assert "authenticator" not in page.get_data(as_text=True)  # no second step to ask for
    response = set_password(client, path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")

    db.session.refresh(user)
    assert verify(user.password_hash, NEW_PASSWORD) and not verify(user.password_hash, DEFAULT_PASSWORD)
    assert elsewhere.get("/client/").status_code == 302  # the other session ended
    notice = mails_to(user.email)[-1]
    assert notice.subject == "Your password was changed" and "/forgot-password" in (notice.body or "")
    assert login(client, user, NEW_PASSWORD).status_code == 302
    assert db.session.query(PasswordReset).count() == 0


@pytest.mark.needs_privacy
def test_p21_a_reset_is_on_the_trail_and_in_the_activity_log(app, client, factories):
    from plugins.privacy.access.models import AuditEntry
    from plugins.privacy.retention.models import ActivityEvent

    user = factories.subscriber()
    assert set_password(client, request_link(client, user)).status_code == 302
    actions = db.session.execute(select(AuditEntry.action).where(
        AuditEntry.account_id == user.account_id)).scalars().all()
    assert "password.reset" in actions
    kinds = db.session.execute(select(ActivityEvent.kind).where(
        ActivityEvent.account_id == user.account_id)).scalars().all()
    assert "password.reset" in kinds
    login(client, user, NEW_PASSWORD)
    assert "Password reset by email link" in client.get("/client/privacy/activity").get_data(as_text=True)


def test_link_works_once(client, factories):
    user = factories.subscriber()
    path = request_link(client, user)
    assert set_password(client, path).status_code == 302
    again = client.get(path)
    assert again.status_code == 410 and "/forgot-password" in again.get_data(as_text=True)
    assert set_password(client, path, "yet another passphrase").status_code == 410
    db.session.refresh(user)
    assert verify(user.password_hash, NEW_PASSWORD)


def test_link_dies_on_a_newer_request_at_once(client, factories):
    user = factories.subscriber()
    first = request_link(client, user)
    assert ask(client, user.email).status_code == 200  # not sent yet: the old one is dead already
    assert client.get(first).status_code == 410
    services.send_requested()
    second = link_in(mails_to(user.email)[-1])
    assert second != first and client.get(second).status_code == 200
    assert set_password(client, first).status_code == 410


def test_several_requests_in_a_row_send_one_link(client, factories):
    user = factories.subscriber()
    for _ in range(3):
        ask(client, user.email)
    services.send_requested()
    assert len(mails_to(user.email)) == 1


def test_link_dies_on_any_password_change(client, factories):
    user = factories.subscriber()
    path = request_link(client, user)
    assert login(client, user).status_code == 302
    changed = post_form(client, "/account/password", {"current": DEFAULT_PASSWORD,
                                                      "new": "changed by hand 123",
                                                      "confirm": "changed by hand 123"})
    assert changed.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/client/")})
    assert client.get(path).status_code == 410


def test_link_lives_one_hour(client, factories, monkeypatch):
    user = factories.subscriber()
    path = request_link(client, user)
    row = db.session.execute(select(PasswordReset)).scalar_one()
    row.sent_at -= timedelta(minutes=61)
    db.session.commit()
    assert client.get(path).status_code == 410
    # and the signature's own clock says the same, whatever the row says
    row.sent_at += timedelta(minutes=61)
    db.session.commit()
    real = time.time
    monkeypatch.setattr("time.time", lambda: real() + 3601)
    assert client.get(path).status_code == 410
    monkeypatch.setattr("time.time", real)
    assert client.get(path).status_code == 200
    services.send_requested()  # the job deletes dead links
    row.sent_at -= timedelta(hours=2)
    db.session.commit()
    services.send_requested()
    assert db.session.query(PasswordReset).count() == 0


@pytest.mark.parametrize("mangle", [
    lambda p: p[:-6],                                  # truncated
    lambda p: p[:-5] + ("A" if p[-5] != "A" else "B") + p[-4:],  # forged signature
    lambda p: "/reset-password/" + "x" * 40,           # made up
    lambda p: "/reset-password/e30.ZZZZZZ.c2lnbmF0dXJl",  # well formed, not ours
])
def test_forged_or_truncated_links_answer_404_with_a_way_on(client, factories, mangle):
    user = factories.subscriber()
    path = mangle(request_link(client, user))
    response = client.get(path)
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "not valid" in body and 'href="/forgot-password"' in body
    assert set_password(client, path).status_code == 404
    db.session.refresh(user)
    assert verify(user.password_hash, DEFAULT_PASSWORD)


def test_bad_new_password_saves_nothing_and_keeps_the_link(client, factories):
    user = factories.subscriber()
    path = request_link(client, user)
    short = set_password(client, path, "short")
    assert short.status_code == 400 and "Use between" in short.get_data(as_text=True)
    differ = post_form(client, path, {"new": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"})
    assert differ.status_code == 400 and "differ" in differ.get_data(as_text=True)
    db.session.refresh(user)
    assert verify(user.password_hash, DEFAULT_PASSWORD)
    assert set_password(client, path).status_code == 302


def test_a_mailbox_alone_does_not_take_over_an_account_with_two_step_sign_in(client, factories):
    user = factories.subscriber()
    user.totp_secret = pyotp.random_base32()
    db.session.commit()
    path = request_link(client, user)
    page = client.get(path).get_data(as_text=True)
    assert "Code from your authenticator app" in page
    assert "recovery code" not in page  # none exist yet: the field does not mention them

    for code in ("", "000000", "not a code"):
        refused = set_password(client, path, code=code)
        assert refused.status_code == 400, code
    db.session.refresh(user)
    assert verify(user.password_hash, DEFAULT_PASSWORD)  # nothing changed

    assert set_password(client, path, code=pyotp.TOTP(user.totp_secret).now()).status_code == 302
    db.session.refresh(user)
    assert verify(user.password_hash, NEW_PASSWORD) and user.totp_secret  # still enrolled
    # and signing in still asks for the second step
    first = post_form(client, "/login", {"email": user.email, "password": NEW_PASSWORD})
    assert first.status_code == 302 and first.headers["Location"].endswith("/login/verify")


def test_a_recovery_code_passes_the_second_step_of_a_reset(client, factories):
    from panel.auth import totp

    user = factories.subscriber()
    codes, hashes = totp.new_recovery_codes()
    user.totp_secret, user.recovery_hashes = pyotp.random_base32(), hashes
    db.session.commit()
    path = request_link(client, user)
    assert "recovery code" in client.get(path).get_data(as_text=True)
    assert set_password(client, path, code=codes[0]).status_code == 302
    db.session.refresh(user)
    assert len(user.recovery_hashes) == 9  # spent


def test_rate_limited_per_address_and_per_ip(app, client, factories):
    app.config.update(RESET_LIMIT_PER_ADDRESS="3 per hour", RESET_LIMIT_PER_IP="8 per hour")
    user = factories.subscriber()
    for _ in range(3):
        assert ask(client, user.email).status_code == 200
    refused = ask(client, user.email)
    assert refused.status_code == 429 and "Wait an hour" in refused.get_data(as_text=True)
    assert ask(client, "someone-else@example.com").status_code == 200  # per address
    answers = [ask(client, f"more{i}@example.com").status_code for i in range(6)]
    assert answers[0] == 200 and answers[-1] == 429  # per IP, whatever the address
    services.send_requested()
    assert len(mails_to(user.email)) == 1


def test_staff_are_reset_by_an_admin_on_the_team_page(app, client, factories, make_app):
    admin = factories.staff("admin")
    staff = factories.staff()
    other = make_app().test_client()
    assert login(other, staff).status_code == 302
    assert other.get("/admin/team/").status_code == 404  # admins only

    assert login(client, admin).status_code == 302
    team = client.get("/admin/team/").get_data(as_text=True)
    assert staff.email in team and admin.email not in team
    sent = post_form(client, f"/admin/team/{staff.id}/reset", {"second_factor": "y"},
                     token_from="/admin/team/")
    assert sent.status_code == 302
    db.session.refresh(staff)
    assert staff.totp_secret is None
    assert other.get("/admin/").status_code == 302  # signed out: their second factor was reset
    path = link_in(mails_to(staff.email)[-1])
    fresh = make_app().test_client()
    assert "authenticator" not in fresh.get(path).get_data(as_text=True)
    assert set_password(fresh, path).status_code == 302
    signed = post_form(fresh, "/login", {"email": staff.email, "password": NEW_PASSWORD})
    assert signed.status_code == 302
    assert fresh.get("/admin/").headers["Location"].endswith("/account/2fa")  # enrols again
    # an admin cannot reset their own password here, nor a customer's
    customer = factories.subscriber()
    for target in (admin, customer):
        refused = post_form(client, f"/admin/team/{target.id}/reset", token_from="/admin/team/")
        assert refused.status_code == 404


@pytest.mark.needs_privacy
def test_an_admin_reset_is_on_the_trail(app, client, factories):
    from plugins.privacy.access.models import AuditEntry

    admin, staff = factories.staff("admin"), factories.staff()
    login(client, admin)
    post_form(client, f"/admin/team/{staff.id}/reset", token_from="/admin/team/")
    entry = db.session.execute(select(AuditEntry).where(
        AuditEntry.action == "password.reset_link")).scalar_one()
    assert entry.actor_id == admin.id and staff.label in entry.object


def test_an_admin_link_for_staff_still_asks_their_code(app, client, factories, make_app):
    admin, staff = factories.staff("admin"), factories.staff()
    login(client, admin)
    post_form(client, f"/admin/team/{staff.id}/reset", token_from="/admin/team/")
    path = link_in(mails_to(staff.email)[-1])
    fresh = make_app().test_client()
    assert set_password(fresh, path).status_code == 400
    db.session.refresh(staff)
    code = pyotp.TOTP(staff.totp_secret).now()
    assert set_password(fresh, path, code=code).status_code == 302


def test_operator_prints_a_link_from_the_shell(app, factories):
    admin = factories.staff("admin")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "reset", "--email", admin.email, "--second-factor"])
    assert result.exit_code == 0, result.output
    path = LINK.search(result.output).group(1)
    # the link is printed, not mailed; the owner is only told their second factor was reset
    [notice] = mails_to(admin.email)
    assert "Two-step sign-in was reset" in notice.subject and not LINK.search(notice.body or "")
    db.session.refresh(admin)
    assert admin.totp_secret is None
    assert set_password(app.test_client(), path).status_code == 302
    unknown = runner.invoke(args=["user", "reset", "--email", "nobody@example.com"])
    assert unknown.exit_code != 0 and "no user has the email" in unknown.output


def test_two_racing_uses_of_one_link_change_the_password_once(client, factories, make_app):
    import threading

    user = factories.subscriber()
    path = request_link(client, user)
    clients = [make_app().test_client() for _ in range(2)]
    tokens = [csrf_token(c, path) for c in clients]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def use(i: int) -> None:
        password = f"racing passphrase {i}"
        barrier.wait()
        with clients[i].application.app_context():
            answer = clients[i].post(path, data={"csrf_token": tokens[i], "new": password,
                                                 "confirm": password})
            statuses.append(answer.status_code)
            db.session.remove()

    threads = [threading.Thread(target=use, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [302, 410]
    db.session.refresh(user)
    assert sum(verify(user.password_hash, f"racing passphrase {i}") for i in range(2)) == 1
    assert len([m for m in mails_to(user.email) if m.subject == "Your password was changed"]) == 1


def test_the_mail_about_a_taken_address_links_to_the_reset(app, factories):
    """Sign-up with an address that has an account tells its owner; the promised reset is a link."""
    from panel.accounts.services import tell_address_owner

    user = factories.subscriber()
    tell_address_owner(user, "on the sign-up page")
    db.session.commit()
    [mail] = mails_to(user.email)
    assert "http://localhost/forgot-password" in (mail.body or "")


def test_an_invited_customer_without_a_password_is_told_to_use_the_invitation(client, factories):
    from panel.auth.passwords import not_chosen

    reseller = factories.reseller()
    invited = factories.subscriber(reseller=reseller)
    invited.password_hash = not_chosen()
    db.session.commit()
    ask(client, invited.email)
    services.send_requested()
    [mail] = mails_to(invited.email)
    assert "invitation" in (mail.body or "") and not LINK.search(mail.body or "")
