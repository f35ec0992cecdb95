"""The white label everywhere a reseller's customer looks (P25, issue 15): the Staff access
page, mail to the customer, and the sign-in page reached through the reseller's own address
(/login/<slug> or a host name in BRAND_HOSTS), where a signed-out customer lands."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from panel.extensions import db
from panel.mail.models import OutboxMessage
from panel.mail.outbox import FROM_NAME_HEADER
from panel.reseller import branding
from tests.conftest import login, post_form

URL = "/reseller/branding"
BRAND = {"name": "Harbour Web", "colour": "#0b6e4f", "slug": "harbour-web",
         "support_email": "privacy@harbour.example", "privacy_url": ""}


def _branded(as_r1) -> None:
    assert post_form(as_r1, URL, BRAND).status_code == 302


def test_p25_the_branded_sign_in_page_and_sign_out_landing(as_r1, resellers, make_app):
    _branded(as_r1)
    visitor = make_app().test_client()
    page = visitor.get("/login/harbour-web").get_data(as_text=True)
    assert "<title>Sign in · Harbour Web</title>" in page and "Hosting panel" not in page
    assert "/brand/theme.css?v=0b6e4f" in page
    assert visitor.get("/brand/theme.css?v=0b6e4f").status_code == 200
    assert visitor.get("/login/no-such-brand").status_code == 404
    assert "Hosting panel" in visitor.get("/login").get_data(as_text=True)  # the host's own
    customer = make_app().test_client()
    signed_in = post_form(customer, "/login/harbour-web",
                          {"email": resellers.c1.email, "password": "correct horse battery"})
    assert signed_in.status_code == 302
    out = post_form(customer, "/logout", token_from="/client/")
    assert out.status_code == 302 and out.headers["Location"].endswith("/login/harbour-web")
    assert "Harbour Web" in customer.get(out.headers["Location"]).get_data(as_text=True)
    house = make_app().test_client()  # the house's customer lands on the host's page
    assert login(house, resellers.house).status_code == 302
    assert post_form(house, "/logout", token_from="/client/").headers["Location"].endswith("/login")


def test_p25_a_host_name_mapped_in_settings_shows_the_brand(as_r1, resellers, make_app):
    _branded(as_r1)
    app = make_app(BRAND_HOSTS="panel.harbour.example=harbour-web")
    page = app.test_client().get("/login", base_url="http://panel.harbour.example")
    assert "<title>Sign in · Harbour Web</title>" in page.get_data(as_text=True)
    other = app.test_client().get("/login", base_url="http://localhost")
    assert "Harbour Web" not in other.get_data(as_text=True)


@pytest.mark.needs_privacy
def test_p25_the_staff_access_page_names_the_brand_not_the_reseller(as_r1, resellers, make_app):
    _branded(as_r1)
    as_r1.get(f"/reseller/customers/{resellers.a1.id}")  # on the customer's provider trail
    customer = make_app().test_client()
    assert login(customer, resellers.c1).status_code == 302
    page = customer.get("/client/privacy/access").get_data(as_text=True)
    assert "Your provider&#39;s access" in page or "Your provider's access" in page
    assert "Harbour Web (your provider" in page and "Reseller One Ltd" not in page


def test_p25_mail_to_the_customer_goes_out_under_the_brand(app, as_r1, resellers):
    _branded(as_r1)
    from panel.mail.outbox import queue

    queue(to=resellers.c1.email, subject="Security notice", body="x", account_id=resellers.a1.id)
    queue(to="admin@host.example", subject="About a customer", body="x", account_id=resellers.a1.id)
    db.session.commit()
    to_customer, to_staff = db.session.execute(
        select(OutboxMessage).order_by(OutboxMessage.created_at)).scalars().all()[-2:]
    headers: dict[str, str] = {}
    branding.email_pre_send(to_customer, headers)
    assert headers == {FROM_NAME_HEADER: "Harbour Web"}
    headers = {}
    branding.email_pre_send(to_staff, headers)
    assert headers == {}


def test_p25_the_branding_page_has_a_colour_picker_preview_and_current_logo(as_r1):
    _branded(as_r1)
    page = as_r1.get(URL).get_data(as_text=True)
    assert 'type="color"' in page and 'value="#0b6e4f"' in page
    assert "Current logo: none." in page and "What your customers see" in page
    assert "<script" not in page and "style=" not in page
    shown = post_form(as_r1, URL, {**BRAND, "name": "Harbour Web Two", "colour": "#aa0000",
                                   "action": "preview"})
    body = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "Preview (not saved yet)" in body
    assert "Harbour Web Two" in body and "/brand/preview.css?v=aa0000" in body
    assert as_r1.get("/brand/preview.css?v=aa0000").get_data(as_text=True).count("#aa0000") == 4
    db.session.expire_all()
    row = db.session.execute(select(branding.ResellerBrand)).scalar_one()
    assert (row.name, row.colour) == ("Harbour Web", "#0b6e4f")  # a preview saves nothing


def test_p25_a_ready_made_colour_previews_live_in_css_and_is_what_gets_saved(as_r1):
    _branded(as_r1)
    page = as_r1.get(URL).get_data(as_text=True)
    css = as_r1.get("/brand/preview.css?v=0b6e4f").get_data(as_text=True)
    for colour, name in branding.SWATCHES:  # a radio button each, and CSS that previews it
        assert f'value="{colour}"' in page and name in page
        assert f'main:has(input[name="swatch"][value="{colour}"]:checked) .brand-preview' in css
    assert "<script" not in page
    assert post_form(as_r1, URL, {**BRAND, "swatch": "#6f42c1"}).status_code == 302
    db.session.expire_all()
    assert db.session.execute(select(branding.ResellerBrand)).scalar_one().colour == "#6f42c1"
    for hostile in ("#123456", "red", "#6f42c1;}body{display:none", "x" * 5000):
        refused = post_form(as_r1, URL, {**BRAND, "name": "Changed", "swatch": hostile})
        assert refused.status_code == 400 and "Not a valid choice" in refused.get_data(as_text=True)
        db.session.expire_all()
        row = db.session.execute(select(branding.ResellerBrand)).scalar_one()
        assert (row.name, row.colour) == ("Harbour Web", "#6f42c1")  # nothing half-saved
