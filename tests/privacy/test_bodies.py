"""The privacy module's own body limits hold however a body arrives (issue 13): the one-click
unsubscribe (4 KB), identity documents (5 MB) and complaint documents (three of 4 MB), with a
Content-Length or chunked, in the test client and against gunicorn."""

from __future__ import annotations

import io
from typing import Any

import pytest

from panel.accounts.models import Account
from panel.extensions import db
from plugins.privacy.center.models import DataRequest, IdentityDocument
from plugins.privacy.center.services.requests import DOCUMENT_MAX_BYTES
from plugins.privacy.email.services import preferences as email_prefs
from plugins.privacy.email.services import unsubscribe
from plugins.privacy.email.views.unsubscribe import MAX_ONE_CLICK_BYTES
from plugins.privacy.whois.models import CaseDocument, ComplaintCase
from tests.conftest import csrf_token, login, post_form
from tests.http_bodies import TOO_LARGE, WAYS, gunicorn, page_text, post, send

MIB = 1024 * 1024
FORM = "application/x-www-form-urlencoded"
ONE_CLICK = "List-Unsubscribe=One-Click"
SESSION = {"reason": "support", "ticket": "T-13", "note": "bodies", "minutes": "30"}
PNG = b"\x89PNG\r\n\x1a\n"
PDF = b"%PDF-1.4\n% a court order\n%%EOF\n"


@pytest.fixture
def ada(factories: Any) -> Any:
    user = factories.subscriber()
    email_prefs.change(user.account, {"newsletter": True}, "import")
    db.session.commit()
    return user


def _subscribed(account_id: Any) -> bool:
    db.session.expire_all()
    return email_prefs.allowed(db.session.get(Account, account_id), "newsletter")


def _one_click(size: int) -> bytes:
    """A valid one-click body padded to ``size`` bytes."""
    start = ONE_CLICK + "&pad="
    return (start + "x" * (size - len(start))).encode()


def test_p14_an_oversized_one_click_is_refused_alike_either_way_and_unsubscribes_no_one(app, ada):
    url = f"/unsubscribe/{unsubscribe.make(ada.account.id, 'newsletter')}"
    for size in (MAX_ONE_CLICK_BYTES + 1, 2 * MIB):
        pages = {}
        for way in WAYS:
            response, source = send(app.test_client(), url, _one_click(size), content_type=FORM,
                                    way=way)
            pages[way] = page_text(response.get_data())
            assert response.status_code == 413 and TOO_LARGE in pages[way], (size, way)
            assert source.taken <= MAX_ONE_CLICK_BYTES + 1
        assert pages["chunked"] == pages["content-length"]
    assert _subscribed(ada.account_id)


@pytest.mark.parametrize("way", WAYS)
def test_p14_a_one_click_up_to_4_kb_unsubscribes_either_way(app, ada, way):
    url = f"/unsubscribe/{unsubscribe.make(ada.account.id, 'newsletter')}"
    response, _ = send(app.test_client(), url, _one_click(MAX_ONE_CLICK_BYTES), content_type=FORM,
                       way=way)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert not _subscribed(ada.account_id)


def test_p14_gunicorn_refuses_an_oversized_one_click_and_stops_reading(app, database_url,
                                                                       tmp_path, ada):
    url = f"/unsubscribe/{unsubscribe.make(ada.account.id, 'newsletter')}"
    start, account_id = _one_click(len(ONE_CLICK) + 5), ada.account_id
    db.session.commit()
    db.session.close()  # the server writes to the same database
    with gunicorn(database_url, tmp_path / "instance") as port:
        pages = {}
        for way in WAYS:
            answer = post(port, url, start, 8 * 1024, way=way)
            assert answer.status == 413 and TOO_LARGE in answer.body.decode(), answer
            pages[way] = page_text(answer.body)
        assert pages["chunked"] == pages["content-length"]
        answer = post(port, url, start, 8 * MIB, way="chunked")
        assert answer.status == 413 and TOO_LARGE in answer.body.decode(), answer
        assert not answer.finished and answer.sent < 8 * MIB and answer.closed, answer.sent
        assert _subscribed(account_id)
        db.session.close()
        assert post(port, url, ONE_CLICK.encode(), len(ONE_CLICK), way="chunked").status == 200
    assert not _subscribed(account_id)  # the same server acts on a chunked one-click within the limit


@pytest.fixture
def request_page(app: Any, factories: Any) -> tuple[Any, str]:
    """Staff in an access session on a data request that waits for an identity document."""
    user = factories.subscriber()
    staff = app.test_client()
    login(staff, factories.staff())
    post_form(staff, f"/admin/access/new/{user.account_id}", SESSION)
    post_form(staff, f"/admin/privacy/requests/new/{user.account_id}",
              {"kind": "restriction", "channel": "email", "details": "by email"})
    return staff, f"/admin/privacy/requests/{DataRequest.query.one().id}"


def _document(staff: Any, detail: str, data: bytes) -> dict[str, Any]:
    return {"csrf_token": csrf_token(staff, detail),
            "document": (io.BytesIO(data), "id.png", "image/png")}


@pytest.mark.parametrize("way", WAYS)
def test_p07_an_identity_document_of_up_to_5_mb_is_kept_either_way(request_page, way):
    staff, detail = request_page
    data = PNG + b"\0" * (DOCUMENT_MAX_BYTES - len(PNG))
    response, _ = send(staff, f"{detail}/document", _document(staff, detail, data), way=way)
    assert response.status_code == 302
    db.session.expire_all()
    assert IdentityDocument.query.one().size == DOCUMENT_MAX_BYTES


@pytest.mark.parametrize("way", WAYS)
def test_p07_an_oversized_identity_document_is_refused_either_way(request_page, way):
    staff, detail = request_page
    data = PNG + b"\0" * (DOCUMENT_MAX_BYTES + 128 * 1024)
    response, source = send(staff, f"{detail}/document", _document(staff, detail, data), way=way)
    assert response.status_code == 413 and TOO_LARGE in response.get_data(as_text=True)
    assert source.taken <= DOCUMENT_MAX_BYTES + 64 * 1024 + 1
    assert IdentityDocument.query.count() == 0


@pytest.fixture
def complaint_page(client: Any, factories: Any, login_as: Any) -> tuple[Any, str]:
    """Staff in an access session, about to open a complaint case on a private domain."""
    customer = factories.subscriber()
    domain = factories.domain(customer.account, "swan-shop.test", privacy=True)
    login_as("staff")
    post_form(client, f"/admin/access/new/{customer.account_id}", SESSION)
    return client, f"/admin/domains/{domain.id}/complaints/new"


def _complaint(client: Any, url: str, *documents: bytes) -> dict[str, Any]:
    return {"csrf_token": csrf_token(client, url), "complainant_name": "Carla Claimant",
            "complainant_email": "carla@law.example", "legal_basis": "trademark",
            "details": "The site copies our trademark.",
            "documents": [(io.BytesIO(d), f"d{i}.pdf", "application/pdf")
                          for i, d in enumerate(documents)]}


@pytest.mark.parametrize("way", WAYS)
def test_p20_complaint_documents_of_several_mb_are_kept_either_way(complaint_page, way):
    client, url = complaint_page
    response, _ = send(client, url, _complaint(client, url, PDF + b"\0" * (3 * MIB)), way=way)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert CaseDocument.query.count() == 1


@pytest.mark.parametrize("way", WAYS)
def test_p20_oversized_complaint_documents_are_refused_either_way(complaint_page, way):
    client, url = complaint_page
    big = PDF + b"\0" * (4 * MIB)
    response, source = send(client, url, _complaint(client, url, big, big, big, big), way=way)
    assert response.status_code == 413 and TOO_LARGE in response.get_data(as_text=True)
    assert source.taken <= 3 * 4 * MIB + 64 * 1024 + 1
    assert ComplaintCase.query.count() == 0 and CaseDocument.query.count() == 0
