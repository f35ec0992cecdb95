"""The legal-disclosure process for privacy-protected domains (P20, P24)."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest

from panel.db_types import utcnow
from panel.domains.models import Domain
from panel.extensions import db
from panel.mail.models import OutboxMessage
from plugins.privacy.access.models import AuditEntry
from plugins.privacy.center.services import export
from plugins.privacy.whois.models import AWAITING_STAFF, CaseDocument, ComplaintCase, Disclosure
from plugins.privacy.whois.services import disclosure
from plugins.privacy.whois.services import records as whois_records
from tests.conftest import login, post_form
from tests.privacy.whois.conftest import open_session

PDF = b"%PDF-1.4\n% court order no. 4711 for Henrietta\n%%EOF\n"
COMPLAINT = {"complainant_name": "Carla Claimant", "complainant_email": "carla@law.example",
             "legal_basis": "trademark", "details": "The site copies our SWAN trademark."}


def _mails_to(address: str) -> list[OutboxMessage]:
    return [m for m in OutboxMessage.query.all() if m.to_addr == address]


@pytest.fixture
def case_setup(client, factories, login_as):
    customer = factories.subscriber(first_name="Henrietta", last_name="Swan")
    domain = factories.domain(customer.account, "swan-shop.test", privacy=True)
    staff = login_as("staff")
    open_session(client, customer.account_id)
    return customer, domain, staff


def _open(client, domain, data=None, files=None):
    url = f"/admin/domains/{domain.id}/complaints/new"
    payload = {**COMPLAINT, **(data or {})}
    if files is not None:
        payload["documents"] = files
    return post_form(client, url, payload, content_type="multipart/form-data")


def test_p20_staff_open_a_case_with_encrypted_documents_and_the_customer_is_told(
        client, case_setup, app):
    customer, domain, staff = case_setup
    response = _open(client, domain, files=[(io.BytesIO(PDF), "order.pdf", "application/pdf")])
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    case = ComplaintCase.query.one()
    assert case.status == "open" and case.due_at - case.opened_at == timedelta(days=14)
    doc = CaseDocument.query.one()
    stored = (Path(app.instance_path) / doc.file_path).read_bytes()
    assert b"court order" not in stored and b"Henrietta" not in stored  # encrypted at rest
    assert b"".join(disclosure.document_bytes(doc)) == PDF
    download = client.get(f"/admin/complaints/{case.id}/documents/{doc.id}")
    assert download.status_code == 200 and download.data == PDF
    assert AuditEntry.query.filter_by(action="complaint.document_view").count() == 1
    [notice] = _mails_to(customer.email)[-1:]
    assert "legal complaint" in notice.subject and "has NOT been given" in notice.body
    assert AuditEntry.query.filter_by(action="complaint.open").one().session_id is not None
    assert _mails_to("carla@law.example") == []  # nothing to the complainant yet


@pytest.mark.parametrize(("files", "error"), [
    ([(b"MZ\x90\x00evil", "virus.exe", "application/x-msdownload")], "upload a PDF"),
    ([(b"<html>not a pdf", "fake.pdf", "application/pdf")], "not really a PDF"),
    ([(b"%PDF-" + b"x" * (4 * 1024 * 1024), "big.pdf", "application/pdf")],
     "between 1 byte and 4 MB"),
    ([(PDF, f"d{i}.pdf", "application/pdf") for i in range(4)], "at most 3"),
    ([(b"\xff\xfe\xfa", "notes.txt", "text/plain")], "UTF-8"),
])
def test_p20_bad_documents_are_refused_and_nothing_is_saved(client, case_setup, app, files, error):
    customer, domain, staff = case_setup
    response = _open(client, domain, files=[(io.BytesIO(data), name, kind)
                                            for data, name, kind in files])
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert error in page and 'value="Carla Claimant"' in page
    assert ComplaintCase.query.count() == 0 and CaseDocument.query.count() == 0
    folder = Path(app.instance_path) / "complaints"
    assert not folder.exists() or not any(folder.rglob("*.bin"))


@pytest.mark.parametrize(("data", "error"), [
    ({"complainant_email": "nope"}, "Enter an email address"),
    ({"complainant_name": ""}, "name is required"),
    ({"legal_basis": "because"}, "Not a valid choice"),
    ({"legal_basis": ""}, "Choose the legal basis"),
    ({"details": "x" * 5000}, "under 4,000"),
    ({"details": "bad\x00byte"}, "control characters"),
])
def test_p20_bad_complaint_forms_are_refused(client, case_setup, data, error):
    customer, domain, staff = case_setup
    response = _open(client, domain, data)
    assert response.status_code == 400 and error in response.get_data(as_text=True)
    assert ComplaintCase.query.count() == 0


def test_p20_cases_only_for_private_domains_and_inside_a_session(client, factories, login_as):
    customer = factories.subscriber()
    public = factories.domain(customer.account, "public.test", privacy=False)
    login_as("staff")
    response = client.get(f"/admin/domains/{public.id}/complaints/new")
    assert f"/admin/access/new/{customer.account_id}" in response.headers["Location"]
    open_session(client, customer.account_id)
    response = _open(client, public)
    assert response.status_code == 400
    assert "only for privacy-protected domains" in response.get_data(as_text=True)


def test_p20_customer_answers_and_staff_disclose_only_to_the_complainant(client, case_setup, app):
    customer, domain, staff = case_setup
    _open(client, domain)
    case = ComplaintCase.query.one()
    customer_client = app.test_client()
    login(customer_client, customer)
    url = f"/client/domains/{domain.id}/complaints/{case.id}"
    assert "Carla Claimant" in customer_client.get(url).get_data(as_text=True)
    bad = post_form(customer_client, url, {"answer": "contacted", "text": "I wrote to them"})
    assert bad.status_code == 400 and "indemnity assurance" in bad.get_data(as_text=True)
    bad = post_form(customer_client, url, {"answer": "shrug"})
    assert bad.status_code == 400 and "Not a valid choice" in bad.get_data(as_text=True)
    done = post_form(customer_client, url, {"answer": "consent"})
    assert done.status_code == 302
    again = post_form(customer_client, url, {"answer": "dispute", "text": "changed my mind"})
    assert again.status_code == 400 and "already been answered" in again.get_data(as_text=True)

    close_url = f"/admin/complaints/{case.id}"
    bad = post_form(client, close_url, {"outcome": "disclosed", "note": ""})
    assert bad.status_code == 400 and "Write a note" in bad.get_data(as_text=True)
    response = post_form(client, close_url, {"outcome": "disclosed",
                                             "note": "The customer consented."})
    assert response.status_code == 302
    [sent] = _mails_to("carla@law.example")
    registrant = domain.contact("registrant")
    assert registrant.name in sent.body and registrant.email in sent.body
    record = Disclosure.query.one()
    assert record.recipient == "carla@law.example" and record.consented is True
    assert "email" in record.fields
    assert AuditEntry.query.filter_by(action="data.disclose").count() == 1
    page = customer_client.get(f"/client/domains/{domain.id}").get_data(as_text=True)
    assert "Disclosures of your contact data" in page and "carla@law.example" in page
    assert f"disclosed the registrant data of {domain.name} to the complainant" in page  # history
    assert "disclosed" in _mails_to(customer.email)[-1].subject


def test_p20_no_disclosure_without_consent_deadline_or_order(client, case_setup, app):
    customer, domain, staff = case_setup
    _open(client, domain)
    case = ComplaintCase.query.one()
    response = post_form(client, f"/admin/complaints/{case.id}",
                         {"outcome": "disclosed", "note": "just because"})
    assert response.status_code == 400
    assert "a missed answer deadline" in response.get_data(as_text=True)
    assert Disclosure.query.count() == 0 and _mails_to("carla@law.example") == []


def test_p20_deadline_job_hands_unanswered_cases_to_staff_who_may_deactivate(
        client, case_setup, app):
    customer, domain, staff = case_setup
    _open(client, domain)
    case = ComplaintCase.query.one()
    assert disclosure.expire_due() == "0 complaint cases passed their deadline"
    case.due_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert disclosure.expire_due() == "1 complaint cases passed their deadline"
    assert db.session.get(ComplaintCase, case.id).status == AWAITING_STAFF
    assert "no answer in time" in _mails_to(staff.email)[-1].subject
    response = post_form(client, f"/admin/complaints/{case.id}",
                         {"outcome": "deactivated", "note": "No answer within 14 days."})
    assert response.status_code == 302
    assert db.session.get(Domain, domain.id).status == "suspended"
    assert "deactivated" in _mails_to(customer.email)[-1].subject
    customer_client = app.test_client()
    login(customer_client, customer)
    page = customer_client.get(f"/client/domains/{domain.id}/complaints/{case.id}")
    text = page.get_data(as_text=True)
    assert "No answer before the deadline" in text and "Domain deactivated" in text


def test_p20_other_customers_and_staff_without_session_see_nothing(client, case_setup, app, factories):
    customer, domain, staff = case_setup
    _open(client, domain)
    case = ComplaintCase.query.one()
    stranger = factories.subscriber()
    other = app.test_client()
    login(other, stranger)
    assert other.get(f"/client/domains/{domain.id}/complaints/{case.id}").status_code == 404
    theirs = factories.domain(stranger.account, privacy=True)
    assert other.get(f"/client/domains/{theirs.id}/complaints/{case.id}").status_code == 404
    colleague = app.test_client()
    login(colleague, factories.staff())
    response = colleague.get(f"/admin/complaints/{case.id}")
    assert response.status_code == 302 and "/admin/access/new/" in response.headers["Location"]
    assert "swan-shop.test" in colleague.get("/admin/complaints/").get_data(as_text=True)
    assert "Carla" not in colleague.get("/admin/complaints/").get_data(as_text=True)


def test_p06_p09_complaints_are_exported_and_erased(client, case_setup, app):
    customer, domain, staff = case_setup
    _open(client, domain, files=[(io.BytesIO(PDF), "order.pdf", "application/pdf")])
    account = customer.account
    cats = export.gather(account)
    [row] = list(cats["whois_complaints"])
    assert row["domain"] == "swan-shop.test" and row["complainant"] == "Carla Claimant"
    doc = CaseDocument.query.one()
    path = Path(app.instance_path) / doc.file_path
    assert path.exists()
    whois_records.erase(account)
    db.session.commit()
    assert ComplaintCase.query.count() == 0 and CaseDocument.query.count() == 0
    assert not path.exists()
