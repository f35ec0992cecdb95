"""White label (P25): validated brand settings, a logo stored and served safely, and the
brand shown to the reseller's customers (panel and mail), never on the host's own mail."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from panel.extensions import db
from panel.mail.models import OutboxMessage
from panel.reseller import branding
from tests.conftest import login, post_form

URL = "/reseller/branding"
GOOD = {"name": "Acme Hosting", "colour": "#12ab34", "support_email": "privacy@acme.example",
        "privacy_url": "https://acme.example/privacy"}


def image(fmt: str = "PNG", size: tuple[int, int] = (120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def upload(client, data: bytes, name: str = "logo.png", **fields):
    return post_form(client, URL, {**GOOD, **fields, "logo": (io.BytesIO(data), name)},
                     content_type="multipart/form-data")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF"])
def test_p25_logo_is_accepted_reencoded_and_served_as_png_with_nosniff(as_r1, resellers, fmt):
    assert upload(as_r1, image(fmt)).status_code == 302
    row = branding.settings(resellers.r1.id)
    assert row.logo.startswith(b"\x89PNG") and (row.logo_width, row.logo_height) == (120, 40)
    served = as_r1.get("/brand/logo.png")
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]


SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
       b"<script>alert(document.cookie)</script></svg>")


@pytest.mark.parametrize(("data", "name", "message"), [
    (SVG, "logo.svg", "SVG"),
    (b"\x89PNG\r\n\x1a\n" + SVG, "logo.png", "could not be read"),  # PNG magic, SVG inside
    (b"GIF89a<script>alert(1)</script>", "logo.gif", "could not be read"),
    (b"%PDF-1.4 not an image", "logo.png", "PNG, JPEG or GIF"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * (201 * 1024), "big.png", "limit is 200 kB"),
    (image("PNG", (2000, 100)), "wide.png", "2000×100 pixels"),
    (image("PNG", (4, 4)), "tiny.png", "4×4 pixels"),
])
def test_p25_bad_logos_are_refused_keeping_the_form_and_saving_nothing(as_r1, resellers, data,
                                                                      name, message):
    response = upload(as_r1, data, name, name_field="x")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and message in page
    assert "Acme Hosting" in page  # what was typed stays
    assert branding.settings(resellers.r1.id) is None  # nothing half-saved
    assert "<script>alert" not in page


@pytest.mark.parametrize(("field", "value", "message"), [
    ("colour", "red", "six hexadecimal digits"),
    ("colour", "#12ab34;}body{display:none", "six hexadecimal digits"),
    ("privacy_url", "http://acme.example/privacy", "https://"),
    ("privacy_url", "javascript:alert(1)", "https://"),
    ("privacy_url", "https://user:pw@acme.example/", "user name or password"),
    ("support_email", "not-an-address", "not a valid email"),
    ("name", "x" * 81, "at most 80"),
])
def test_p25_bad_brand_settings_are_refused(as_r1, resellers, field, value, message):
    response = post_form(as_r1, URL, {**GOOD, field: value})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert branding.settings(resellers.r1.id) is None


def test_p25_customers_see_the_brand_house_customers_and_other_resellers_do_not(
        as_r1, resellers, make_app):
    assert upload(as_r1, image()).status_code == 302
    customer = make_app().test_client()
    assert login(customer, resellers.c1).status_code == 302
    page = customer.get("/client/").get_data(as_text=True)
    assert "Acme Hosting" in page and "/brand/logo.png" in page and "/brand/theme.css" in page
    assert "privacy@acme.example" in page and "https://acme.example/privacy" in page
    css = customer.get("/brand/theme.css")
    assert css.mimetype == "text/css" and "#12ab34" in css.get_data(as_text=True)
    assert customer.get("/brand/logo.png").status_code == 200
    for other in (resellers.house, resellers.c2):
        client = make_app().test_client()
        assert login(client, other).status_code == 302
        assert "Acme Hosting" not in client.get("/client/").get_data(as_text=True)
        assert client.get("/brand/logo.png").status_code == 404
    assert make_app().test_client().get("/brand/logo.png").status_code in (302, 404)


@pytest.mark.needs_privacy  # the host's own notice comes from the privacy plugin
def test_p25_reseller_mail_carries_the_brand_host_mail_does_not(as_r1, resellers):
    assert post_form(as_r1, URL, GOOD).status_code == 302
    post_form(as_r1, f"/reseller/customers/{resellers.a1.id}/invite", {}, token_from="/reseller/")
    mail = db.session.execute(select(OutboxMessage)).scalars().all()[-1]
    assert mail.headers == {branding.FROM_NAME_HEADER: "Acme Hosting"}
    assert mail.body.rstrip().endswith("Privacy policy: https://acme.example/privacy")
    from plugins.privacy.reseller.services import requests as reseller_requests

    reseller_requests.file_removal(resellers.r1, resellers.a1.id, "")  # host's own notice
    for message in db.session.execute(select(OutboxMessage)).scalars():
        if message.subject.startswith("Removal request"):
            assert not message.headers and "Acme" not in message.body
