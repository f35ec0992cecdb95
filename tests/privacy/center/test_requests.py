"""Data requests, identity checks, restriction, objection and erasure (P07, P08, P09, P11)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import text

from panel.accounts.models import Account
from panel.auth.models import User
from panel.billing.models import Invoice, PaymentMethod
from panel.db_types import today, utcnow
from panel.domains.models import DomainContact
from panel.extensions import db
from panel.mail.models import OutboxMessage
from plugins.privacy.access.models import SupportCredential
from plugins.privacy.center.models import DataRequest, IdentityDocument
from plugins.privacy.center.services.requests import add_month
from plugins.privacy.processing.services import purpose_allowed
from tests.conftest import login, post_form
from tests.factories import DEFAULT_PASSWORD

URL = "/client/privacy/requests/"
SESSION = {"reason": "support", "ticket": "T-9", "note": "Data request", "minutes": "30"}


def _file(client, **data):
    form = {"kind": "restriction", "password": DEFAULT_PASSWORD, **data}
    return post_form(client, URL, form)


def test_add_month_is_one_calendar_month():
    assert add_month(date(2026, 1, 31)) == date(2026, 2, 28)
    assert add_month(date(2028, 1, 31)) == date(2028, 2, 29)
    assert add_month(date(2026, 12, 15)) == date(2027, 1, 15)


def test_p08_subscriber_files_a_request_and_sees_its_status_and_due_date(client, login_as):
    user = login_as("subscriber")
    assert _file(client).status_code == 302
    r = DataRequest.query.one()
    assert (r.status, r.verification) == ("verified", "panel-password")  # the password checks identity
    assert r.due_on == add_month(utcnow().date())
    page = client.get(URL).get_data(as_text=True)
    assert "Restrict processing" in page and str(r.due_on) in page and "verified" in page
    mail = OutboxMessage.query.one()
    assert mail.to_addr == user.email and str(r.due_on.year) in mail.body


def test_p08_wrong_password_files_nothing_and_keeps_the_form(client, login_as):
    login_as("subscriber")
    response = _file(client, password="wrong", details="keep me")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "That is not your password." in page and "keep me" in page
    assert DataRequest.query.count() == 0


def test_p08_erasure_needs_explicit_confirmation_and_only_one_can_be_open(client, login_as):
    login_as("subscriber")
    unconfirmed = _file(client, kind="erasure")
    assert unconfirmed.status_code == 400 and "Tick the box" in unconfirmed.get_data(as_text=True)
    assert _file(client, kind="erasure", confirm_erasure="y").status_code == 302
    second = _file(client, kind="erasure", confirm_erasure="y")
    assert second.status_code == 400
    assert "already open" in second.get_data(as_text=True)
    assert DataRequest.query.count() == 1


def test_p08_hostile_and_oversized_request_input(client, login_as):
    login_as("subscriber")
    for data, message in [({"kind": ""}, "Choose what you are asking for."),
                          ({"kind": "objection", "purpose": "everything"}, "Choose what you object to."),
                          ({"kind": "rectification", "details": ""}, "Say which data is wrong"),
                          ({"kind": "rectification", "details": "x" * 5000}, "under 2,000 characters"),
                          ({"kind": "rectification", "details": "a\x00b"}, "control characters")]:
        response = _file(client, **data)
        assert response.status_code == 400 and message in response.get_data(as_text=True), data
    assert DataRequest.query.count() == 0


def _staff_in_session(app, factories, account_id):
    staff = app.test_client()
    login(staff, factories.staff())
    post_form(staff, f"/admin/access/new/{account_id}", SESSION)
    return staff


def _second_staff_approves(app, factories, account_id, request_id):
    """Four eyes: an erasure is carried out when another staff member approves it."""
    other = _staff_in_session(app, factories, account_id)
    detail = f"/admin/privacy/requests/{request_id}"
    return post_form(other, f"{detail}/approve", {"confirm": "yes"}, token_from=detail)


def test_p08_staff_queue_oldest_first_with_deadlines_highlighted(app, client, factories):
    a, b = factories.subscriber(), factories.subscriber()
    login(client, a)
    _file(client)
    other = app.test_client()
    login(other, b)
    _file(other, kind="objection", purpose="marketing")
    late = DataRequest.query.filter_by(account_id=b.account_id).one()
    late.due_on = today() - timedelta(days=2)
    db.session.commit()
    staff = app.test_client()
    login(staff, factories.staff())
    page = staff.get("/admin/privacy/requests/").get_data(as_text=True)
    assert page.index("Object to processing") < page.index("Restrict processing")
    assert "overdue" in page


def test_p08_restriction_and_objection_change_what_purposes_are_allowed(app, client, factories):
    user = factories.subscriber()
    login(client, user)
    _file(client)
    _file(client, kind="objection", purpose="analytics")
    assert purpose_allowed(user.account_id, "marketing")
    staff = _staff_in_session(app, factories, user.account_id)
    for r in DataRequest.query.all():
        post_form(staff, f"/admin/privacy/requests/{r.id}/fulfil", token_from="/admin/access/")
    assert {r.status for r in DataRequest.query.all()} == {"fulfilled"}
    assert not purpose_allowed(user.account_id, "marketing")
    assert not purpose_allowed(user.account_id, "analytics")
    assert purpose_allowed(user.account_id, "service")  # the service itself goes on
    page = staff.get(f"/admin/customers/{user.account_id}").get_data(as_text=True)
    assert "Processing of this account is restricted" in page


def test_p08_refusal_needs_a_reason_the_customer_then_reads(app, client, factories):
    user = factories.subscriber()
    login(client, user)
    _file(client, kind="rectification", details="My company name is wrong")
    r = DataRequest.query.one()
    staff = _staff_in_session(app, factories, user.account_id)
    post_form(staff, f"/admin/privacy/requests/{r.id}/refuse", {"reason": ""},
              token_from=f"/admin/privacy/requests/{r.id}")
    assert db.session.get(DataRequest, r.id).status == "verified"
    post_form(staff, f"/admin/privacy/requests/{r.id}/refuse", {"reason": "Please send proof.",
                                                                    "confirm": "yes"},
              token_from=f"/admin/privacy/requests/{r.id}")
    assert "refused: Please send proof." in client.get(URL).get_data(as_text=True)


def test_p09_erasure_waits_for_unpaid_invoices_then_anonymises_and_keeps_billing(app, client, factories):
    user = factories.subscriber(first_name="Wilhelmina", email="wil@example.com")
    account = user.account
    factories.domain(account, "wil.test")
    factories.payment_method(account)
    invoice = factories.invoice(account, status="unpaid", total_cents=999)
    login(client, user)
    post_form(client, "/client/privacy/credentials", {"kind": "ftp", "label": "FTP", "secret": "s3",
                                                      "days": "14"})
    _file(client, kind="erasure", confirm_erasure="y")
    r = DataRequest.query.one()
    staff = _staff_in_session(app, factories, account.id)
    detail = f"/admin/privacy/requests/{r.id}"
    refused = post_form(staff, f"{detail}/fulfil", token_from=detail)
    assert "1 unpaid invoice(s) must be paid" in staff.get(refused.headers["Location"]).get_data(as_text=True)
    assert db.session.get(Account, account.id).first_name == "Wilhelmina"  # nothing half done
    invoice.status = "paid"
    db.session.commit()
    post_form(staff, f"{detail}/fulfil", token_from=detail)
    assert db.session.get(Account, account.id).first_name == "Wilhelmina"  # asked, not done
    _second_staff_approves(app, factories, account.id, r.id)
    db.session.expire_all()
    erased = db.session.get(Account, account.id)
    assert (erased.first_name, erased.last_name, erased.phone, erased.status) == (
        "[erased]", None, None, "closed")
    login_row = db.session.get(User, user.id)
    assert not login_row.active and login_row.email.endswith("@erased.invalid")
    assert DomainContact.query.count() == 0 and PaymentMethod.query.count() == 0
    assert SupportCredential.query.count() == 0
    kept = db.session.get(Invoice, invoice.id)
    assert kept.billing_name.startswith("Wilhelmina")  # still sealed, still readable for billing
    assert login(app.test_client(), "wil@example.com").status_code == 200  # cannot sign in
    goodbye = OutboxMessage.query.filter_by(subject="Your personal data has been erased").one()
    assert goodbye.to_addr == "wil@example.com"
    raw = repr(db.session.execute(text("select * from account")).all())
    assert "Wilhelmina" not in raw


def test_p09_billing_records_of_erased_accounts_go_after_seven_years(app, factories):
    user = factories.subscriber()
    old = factories.invoice(user.account, issued_on=today() - timedelta(days=365 * 7 + 10)).id
    recent = factories.invoice(user.account, issued_on=today() - timedelta(days=365 * 6)).id
    from panel.accounts.erasure import erase

    erase(user.account, None)
    db.session.commit()
    output = app.test_cli_runner().invoke(args=["cron"]).output
    assert "deleted 1 invoices past their seven years" in output
    db.session.expunge_all()
    assert db.session.get(Invoice, old) is None and db.session.get(Invoice, recent) is not None


PNG = b"\x89PNG\r\n\x1a\n" + b"identity-scan" * 100


def test_p07_requests_from_outside_the_panel_wait_for_an_identity_check(app, client, factories):
    user = factories.subscriber()
    staff = _staff_in_session(app, factories, user.account_id)
    logged = post_form(staff, f"/admin/privacy/requests/new/{user.account_id}",
                       {"kind": "restriction", "channel": "email", "details": "by email"})
    r = DataRequest.query.one()
    assert logged.status_code == 302 and r.status == "received"
    detail = f"/admin/privacy/requests/{r.id}"
    post_form(staff, f"{detail}/fulfil", token_from=detail)
    assert db.session.get(DataRequest, r.id).status == "received"  # not before verification
    for name, kind, data, ok in [("id.exe", "application/octet-stream", b"MZ", False),
                                 ("big.png", "image/png", b"x" * (5 * 1024 * 1024 + 1), False),
                                 ("id.png", "image/png", PNG, True)]:
        from io import BytesIO

        post_form(staff, f"{detail}/document", {"document": (BytesIO(data), name, kind)},
                  token_from=detail, content_type="multipart/form-data")
        assert IdentityDocument.query.count() == (1 if ok else 0), name
    raw = b"".join(bytes(str(row), "utf-8") for row in db.session.execute(
        text("select * from privacy_identity_document")).all())
    assert b"identity-scan" not in raw and b"aWRlbnRpdHktc2Nhb" not in raw  # sealed
    doc = IdentityDocument.query.one()
    assert staff.get(f"{detail}/document/{doc.id}").data == PNG  # inside the session
    outsider = app.test_client()
    login(outsider, factories.staff())
    refused = outsider.get(f"{detail}/document/{doc.id}")  # no session, no document
    assert refused.status_code == 302 and "/admin/access/new/" in refused.headers["Location"]
    post_form(staff, f"{detail}/verify", {"method": "document"}, token_from=detail)
    assert IdentityDocument.query.count() == 0  # used for the check, then deleted
    post_form(staff, f"{detail}/fulfil", token_from=detail)
    assert db.session.get(DataRequest, r.id).status == "fulfilled"


def test_p07_identity_documents_go_after_thirty_days_at_the_latest(app, factories):
    user = factories.subscriber()
    staff = _staff_in_session(app, factories, user.account_id)
    post_form(staff, f"/admin/privacy/requests/new/{user.account_id}",
              {"kind": "restriction", "channel": "phone"})
    r = DataRequest.query.one()
    from io import BytesIO

    detail = f"/admin/privacy/requests/{r.id}"
    post_form(staff, f"{detail}/document", {"document": (BytesIO(PNG), "id.png", "image/png")},
              token_from=detail, content_type="multipart/form-data")
    doc = IdentityDocument.query.one()
    doc.delete_by = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert "deleted 1 identity documents" in app.test_cli_runner().invoke(args=["cron"]).output
    assert IdentityDocument.query.count() == 0


def test_p11_staff_mark_a_childs_account_which_starts_its_erasure(app, factories):
    user = factories.subscriber()
    staff = _staff_in_session(app, factories, user.account_id)
    response = post_form(staff, f"/admin/privacy/requests/child/{user.account_id}",
                         {"confirm": "yes"}, token_from="/admin/access/")
    r = DataRequest.query.one()
    assert response.status_code == 302 and (r.kind, r.status) == ("erasure", "verified")
    post_form(staff, f"/admin/privacy/requests/{r.id}/fulfil", token_from=f"/admin/privacy/requests/{r.id}")
    _second_staff_approves(app, factories, user.account_id, r.id)
    assert db.session.get(Account, user.account_id).status == "closed"


def test_p25_a_resellers_customers_requests_are_not_in_the_house_queue(app, client, factories):
    customer = factories.subscriber(reseller=factories.reseller())
    login(client, customer)
    _file(client)
    r = DataRequest.query.one()
    staff = app.test_client()
    login(staff, factories.staff())
    assert "No open requests." in staff.get("/admin/privacy/requests/").get_data(as_text=True)
    assert staff.get(f"/admin/privacy/requests/{r.id}").status_code == 404


def test_p08_other_customers_cannot_see_requests(app, client, factories):
    a = factories.subscriber()
    login(client, a)
    _file(client, kind="rectification", details="secret detail")
    other = app.test_client()
    login(other, factories.subscriber())
    assert "secret detail" not in other.get(URL).get_data(as_text=True)
    assert "No requests yet." in other.get(URL).get_data(as_text=True)


def test_p09_erasure_forgets_where_policies_were_accepted_from_but_keeps_which(app, factories):
    from panel.accounts.erasure import erase
    from plugins.privacy.center.services import policy

    admin = factories.staff("admin")
    version = policy.publish(admin, body="# Policy", summary="First", material=False,
                             effective_on=today())
    user = factories.subscriber()
    with app.test_request_context(environ_base={"REMOTE_ADDR": "198.51.100.23"}):
        policy.accept(user, version, "signup")
    assert policy.history_for(user)[0].ip == "198.51.100.23"
    erase(user.account, None)
    db.session.commit()
    kept = policy.history_for(user)
    assert len(kept) == 1 and kept[0].ip is None
