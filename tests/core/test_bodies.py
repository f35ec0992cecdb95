"""Every request body is bounded however it arrives (issue 13): with a Content-Length or
chunked with none, every route refuses a body over its limit with the same 413 page, acts on
nothing, and reads at most one byte past the limit. Checked in the test client and against
gunicorn, which hands the app chunked bodies exactly as a client sends them."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from flask import Flask, url_for
from PIL import Image
from werkzeug.routing import IntegerConverter, UUIDConverter

from panel.extensions import db
from panel.reseller import branding
from tests.conftest import csrf_token, login
from tests.core.test_bad_input import PROFILE, assert_error_page, database_rows, form_of, stored_account
from tests.http_bodies import TOO_LARGE, WAYS, gunicorn, page_text, post, send

MIB = 1024 * 1024
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def customer(login_as: Any) -> Any:
    return login_as("subscriber")


def _url(app: Flask, rule: Any) -> str:
    """The rule's address with made-up values: the limit holds before any view looks at them."""
    values: dict[str, Any] = {}
    for name, converter in rule._converters.items():
        values[name] = (7 if isinstance(converter, IntegerConverter)
                        else uuid.uuid4() if isinstance(converter, UUIDConverter) else "x7")
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def test_every_route_refuses_a_body_over_its_limit_however_it_arrives(app):
    problems = []
    routes = [r for r in app.url_map.iter_rules() if BODY_METHODS & (r.methods or set())]
    assert len(routes) > 15  # the walk found the body routes (17 in the core alone)
    for rule in routes:
        view = app.view_functions[rule.endpoint]
        limit = getattr(view, "max_body_bytes", app.config["MAX_CONTENT_LENGTH"])
        url = _url(app, rule)
        pages = {}
        for way in WAYS:
            response, source = send(app.test_client(), url, b"x=",
                                    content_type="application/x-www-form-urlencoded",
                                    way=way, endless=True)
            pages[way] = page = page_text(response.get_data())
            html = not response.mimetype.endswith("json")  # RDAP answers in its own JSON
            if response.status_code != 413 or html and TOO_LARGE not in page:
                problems.append(f"{way} {url}: {response.status_code}")
            if source.taken > limit + 1:
                problems.append(f"{way} {url}: read {source.taken} bytes, limit {limit}")
        if pages["chunked"] != pages["content-length"]:
            problems.append(f"{url}: a different answer when chunked")
    assert problems == [], "\n".join(problems)


def test_an_oversized_form_is_refused_alike_either_way_and_saves_nothing(client, customer):
    form = form_of(stored_account(customer.account_id), first_name="x" * (2 * MIB),
                   csrf_token=csrf_token(client, PROFILE))
    before = database_rows()
    pages = {}
    for way in WAYS:
        response, source = send(client, PROFILE, form, way=way)
        pages[way] = page_text(assert_error_page(response, 413, TOO_LARGE))
        assert source.taken <= MIB + 1
    assert pages["chunked"] == pages["content-length"]
    assert database_rows() == before


def test_a_form_sent_chunked_within_the_limit_is_saved(client, customer):
    form = form_of(stored_account(customer.account_id), first_name="Chunky",
                   csrf_token=csrf_token(client, PROFILE))
    response, _ = send(client, PROFILE, form, way="chunked")
    assert response.status_code == 302
    assert stored_account(customer.account_id)["first_name"] == "Chunky"


@pytest.mark.parametrize("way", WAYS)
def test_an_oversized_sign_in_is_refused_either_way(client, factories, way):
    user = factories.subscriber()
    form = {"email": user.email, "password": "p" * (2 * MIB), "csrf_token": csrf_token(client, "/login")}
    response, _ = send(client, "/login", form, way=way)
    assert_error_page(response, 413, TOO_LARGE)
    assert client.get("/client/").status_code == 302  # not signed in


def _logo(reseller_id: Any) -> bytes | None:
    db.session.expire_all()
    row = branding.settings(reseller_id)
    return row.logo if row else None


def _logo_form(client: Any, logo: bytes) -> dict[str, Any]:
    return {"csrf_token": csrf_token(client, "/reseller/branding"), "name": "Acme Hosting",
            "colour": "#12ab34", "support_email": "privacy@acme.example",
            "privacy_url": "https://acme.example/privacy", "logo": (io.BytesIO(logo), "logo.png")}


@pytest.mark.parametrize("way", WAYS)
def test_p25_an_oversized_logo_is_refused_either_way_and_nothing_is_stored(as_r1, resellers, way):
    logo = b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * MIB)
    response, source = send(as_r1, "/reseller/branding", _logo_form(as_r1, logo), way=way)
    assert_error_page(response, 413, TOO_LARGE)
    assert source.taken <= MIB + 1
    assert _logo(resellers.r1.id) is None


def test_p25_a_logo_sent_chunked_is_stored(as_r1, resellers):
    png = io.BytesIO()
    Image.new("RGB", (120, 40), (200, 30, 30)).save(png, "PNG")
    response, _ = send(as_r1, "/reseller/branding", _logo_form(as_r1, png.getvalue()), way="chunked")
    assert response.status_code == 302
    assert _logo(resellers.r1.id).startswith(b"\x89PNG")


def test_gunicorn_refuses_chunked_bodies_over_the_limit_and_stops_reading(
        app, database_url, tmp_path, client, resellers):
    sign_in = f"email={resellers.house.email}&password=".encode()
    reseller_id = resellers.r1.id
    assert login(client, resellers.r1).status_code == 302
    cookie = f"panel_session={client.get_cookie('panel_session').value}"
    token = csrf_token(client, "/reseller/branding")
    boundary = "bodies7"
    logo_start = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
                  f"{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n"
                  f"Acme\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"logo\"; "
                  f'filename="logo.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG').encode("latin-1")
    as_reseller = {"Cookie": cookie, "User-Agent": client.environ_base["HTTP_USER_AGENT"],
                   "Content-Type": f"multipart/form-data; boundary={boundary}"}
    db.session.commit()
    db.session.close()  # the server writes to the same database
    before = database_rows()
    with gunicorn(database_url, tmp_path / "instance") as port:
        pages = {}
        for way in WAYS:
            answer = post(port, "/login", sign_in, 2 * MIB, way=way)
            assert answer.status == 413 and TOO_LARGE in answer.body.decode(), answer
            pages[way] = page_text(answer.body)
        assert pages["chunked"] == pages["content-length"]
        for path, start, headers in [("/login", sign_in, {}),
                                     ("/reseller/branding", logo_start, as_reseller)]:
            answer = post(port, path, start, 8 * MIB, way="chunked", headers=headers)
            assert answer.status == 413 and TOO_LARGE in answer.body.decode(), (path, answer)
            assert not answer.finished and answer.sent < 8 * MIB, (path, answer.sent)
            assert answer.closed
    assert database_rows() == before
    assert _logo(reseller_id) is None
