"""The staff customer page in an access session (P16, issue 15): a bar on every page while a
session is open, data read-only until "Edit", sessions named by customer, and masked emails
that still tell customers apart."""

from __future__ import annotations

import re

from panel.accounts import masking
from plugins.privacy.access.models import AccessSession
from tests.conftest import post_form

SESSION = {"reason": "support", "ticket": "T-4242", "note": "Site down", "minutes": "30"}


def _open(client, account) -> AccessSession:
    assert post_form(client, f"/admin/access/new/{account.id}", SESSION).status_code == 302
    return AccessSession.query.filter_by(account_id=account.id).one()


def test_p16_masked_emails_keep_first_and_last_character_and_the_domain():
    assert masking.email("client1@demo.test") == "c•••1@demo.test"
    assert masking.email("client2@demo.test") != masking.email("client1@demo.test")
    assert masking.email("a@x.test") == "a•••@x.test"
    assert masking.name("Ada Lovelace") == "A•••a L•••e"
    assert masking.email(None) == masking.name("") == "—"


def test_p16_staff_customer_list_tells_customers_apart(client, factories, login_as):
    for n in (1, 2):
        factories.subscriber(email=f"client{n}@demo.test")
    login_as("staff")
    page = client.get("/admin/").get_data(as_text=True)
    assert "c•••1@demo.test" in page and "c•••2@demo.test" in page
    assert "client1@demo.test" not in page


def test_p16_an_open_session_shows_a_bar_on_every_page_until_ended(client, factories, login_as):
    user = factories.subscriber(first_name="Henrietta", last_name="Jones")
    account = user.account
    login_as("staff")
    assert "End session" not in client.get("/admin/").get_data(as_text=True)
    s = _open(client, account)
    for url in ("/admin/", "/admin/access/", f"/admin/customers/{account.id}",
                "/admin/privacy/requests/", "/account/security"):
        page = client.get(url).get_data(as_text=True)
        bar = re.search(r'<div class="banner session-bar".*?</div>', page, re.S)
        assert bar, url
        text = bar.group(0)
        assert f"client #{account.number}" in text and "Customer support request" in text
        assert "T-4242" in text and re.search(r"\b(30|29) minutes left", text), text
        assert f'action="/admin/access/{s.id}/end"' in text and "End session" in text
    ended = post_form(client, f"/admin/access/{s.id}/end", token_from="/admin/")
    assert ended.status_code == 302
    assert AccessSession.query.one().status == "ended"
    assert "session-bar" not in client.get("/admin/").get_data(as_text=True)


def test_p16_customer_data_is_read_only_until_edit(client, factories, login_as):
    user = factories.subscriber(first_name="Henrietta", city="Leeds")
    account = user.account
    login_as("staff")
    _open(client, account)
    url = f"/admin/customers/{account.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Leeds" in page and 'name="city"' not in page and f'action="{url}"' not in page
    assert f'href="{url}?edit=1#contact">Edit</a>' in page
    editing = client.get(f"{url}?edit=1").get_data(as_text=True)
    assert 'name="city"' in editing and 'value="Leeds"' in editing
    saved = post_form(client, url, {"first_name": "Henrietta", "last_name": "Jones", "city": "York",
                                    "country": "GB", "phone": "+442079460001"},
                      token_from=f"{url}?edit=1")
    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert "York" in client.get(url).get_data(as_text=True)


def test_p16_the_session_list_names_the_customer(client, factories, login_as):
    user = factories.subscriber(first_name="Henrietta", last_name="Jones")
    login_as("staff")
    _open(client, user.account)
    page = client.get("/admin/access/").get_data(as_text=True)
    assert f"#{user.account.number} H•••a J•••s" in page
    assert ">open</a>" not in page and "Henrietta" not in page
