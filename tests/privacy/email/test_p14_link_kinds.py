"""What each link in mail may do (P14): one test per cell of the table in README.md.

A one-click link (the List-Unsubscribe header's, URL and mailto) only switches its one
category off, and keeps doing so after the subscriber revoked their links. A
preference-centre link (every message's footer, transactional mail included) only opens the
centre, never unsubscribes in one click, and stops working when revoked. Every change made
through either is the subscriber's on the trail, not the system's.
"""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from panel.extensions import db
from plugins.privacy.access.models import AuditEntry
from plugins.privacy.email.services import mailto, unsubscribe
from plugins.privacy.email.services import preferences as email_prefs
from tests.conftest import login, post_form

pytestmark = pytest.mark.needs_privacy

MARKETING = [c.key for c in email_prefs.HOUSE if c.marketing]
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def ada(factories):
    user = factories.subscriber()
    email_prefs.change(user.account, {k: True for k in MARKETING}, "import")
    db.session.commit()
    return user


def _on(user) -> dict[str, bool]:
    db.session.expire_all()
    return {k: v for k, v in email_prefs.current(user.account).items() if k in MARKETING}


def _path(url: str) -> str:
    return url.split("localhost", 1)[1]


def _mailto(user, token: str) -> str | None:
    message = EmailMessage()
    message["From"], message["To"] = user.email, unsubscribe.mailto_address()
    message["Subject"] = f"unsubscribe {token}"
    return mailto.handle(message)


def _revoke(user) -> None:
    unsubscribe.revoke_all(user.account)
    db.session.commit()


def _last_change(user) -> AuditEntry:
    return db.session.execute(
        select(AuditEntry).where(AuditEntry.account_id == user.account.id,
                                 AuditEntry.action == "email_preferences.change")
        .order_by(AuditEntry.seq.desc()).limit(1)).scalar_one()


# --- where each link appears ------------------------------------------------------------------


def test_p14_one_click_link_is_in_the_list_unsubscribe_header_of_marketing_only(app, ada):
    headers = unsubscribe.headers_for(ada.account.id, "newsletter")
    url, address = re.findall(r"<([^>]+)>", headers["List-Unsubscribe"])
    token = _path(url).removeprefix("/unsubscribe/")
    assert unsubscribe.resolve_one_click(token).category == "newsletter"
    assert address.endswith(f"?subject=unsubscribe%20{token}")
    assert unsubscribe.headers_for(ada.account.id, "billing") == {}


@pytest.mark.parametrize("category", ["billing", "newsletter"])
def test_p14_centre_link_is_in_every_footer_transactional_included(app, ada, category):
    url = re.search(r"https?://\S+", unsubscribe.footer_for(ada.account.id, category)).group(0)
    assert "/email-preferences/" in url
    token = _path(url).removeprefix("/email-preferences/")
    assert unsubscribe.resolve_centre(token).category is None


# --- what GET shows ---------------------------------------------------------------------------


def test_p14_one_click_get_and_head_show_a_button_and_change_nothing(app, ada):
    token = unsubscribe.make(ada.account.id, "newsletter")
    client = app.test_client()
    assert client.head(f"/unsubscribe/{token}").status_code == 200
    page = client.get(f"/unsubscribe/{token}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'value="One-Click"' in body
    assert "/email-preferences/" in body  # "choose exactly which emails you get"
    assert all(_on(ada).values())


def test_p14_centre_get_and_head_show_the_centre_and_change_nothing(app, ada):
    token = unsubscribe.make(ada.account.id)
    client = app.test_client()
    assert client.head(f"/email-preferences/{token}").status_code == 200
    page = client.get(f"/email-preferences/{token}")
    assert page.status_code == 200 and 'name="category"' in page.get_data(as_text=True)
    assert all(_on(ada).values())


def test_p14_one_click_link_does_not_open_the_centre(app, ada):
    token = unsubscribe.make(ada.account.id, "newsletter")
    page = app.test_client().get(f"/email-preferences/{token}")
    assert page.status_code == 404 and "cannot open your email preferences" in page.get_data(
        as_text=True)


# --- what POST does ---------------------------------------------------------------------------


def test_p14_one_click_post_switches_off_its_category_only(app, ada):
    token = unsubscribe.make(ada.account.id, "newsletter")
    assert app.test_client().post(f"/unsubscribe/{token}", data=ONE_CLICK).status_code == 200
    assert _on(ada) == {k: k != "newsletter" for k in MARKETING}


def test_p14_one_click_mailto_switches_off_its_category_only(app, ada):
    assert _mailto(ada, unsubscribe.make(ada.account.id, "promotions")).startswith("done")
    assert _on(ada) == {k: k != "promotions" for k in MARKETING}


def test_p14_centre_link_never_unsubscribes_in_one_click(app, ada):
    """The footer of a password reset or an invoice is not an unsubscribe button: neither a
    one-click POST nor a mailto with it changes anything."""
    token = unsubscribe.make(ada.account.id)
    answer = app.test_client().post(f"/unsubscribe/{token}", data=ONE_CLICK)
    assert answer.status_code == 404
    assert "does not unsubscribe by itself" in answer.get_data(as_text=True)
    assert _mailto(ada, token) == "ignored: the link in the subject is not an unsubscribe link"
    assert all(_on(ada).values())


def test_p14_centre_post_saves_the_switches_and_unsubscribes_from_all(app, ada):
    url = f"/email-preferences/{unsubscribe.make(ada.account.id)}"
    client = app.test_client()
    assert post_form(client, url, {"category": ["newsletter"]}).status_code == 302
    assert _on(ada) == {k: k == "newsletter" for k in MARKETING}
    assert post_form(client, f"{url}/all", token_from=url).status_code == 302
    assert not any(_on(ada).values())


# --- what revocation changes ------------------------------------------------------------------


def test_p14_revoked_one_click_get_says_so_and_offers_only_the_button(app, ada):
    token = unsubscribe.make(ada.account.id, "newsletter")
    _revoke(ada)
    page = app.test_client().get(f"/unsubscribe/{token}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "revoked" in body and 'value="One-Click"' in body
    assert "/email-preferences/" not in body and "/login" in body
    assert all(_on(ada).values())


def test_p14_revoked_one_click_post_and_mailto_still_unsubscribe(app, ada):
    post_token = unsubscribe.make(ada.account.id, "newsletter")
    mail_token = unsubscribe.make(ada.account.id, "promotions")
    _revoke(ada)
    assert app.test_client().post(f"/unsubscribe/{post_token}", data=ONE_CLICK).status_code == 200
    assert _mailto(ada, mail_token).startswith("done")
    assert _on(ada) == {k: k not in ("newsletter", "promotions") for k in MARKETING}


def test_p14_revoked_centre_link_opens_nothing_and_changes_nothing(app, ada):
    url = f"/email-preferences/{unsubscribe.make(ada.account.id)}"
    client = app.test_client()
    form_token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                           client.get(url).get_data(as_text=True)).group(1)
    _revoke(ada)
    page = client.get(url)
    body = page.get_data(as_text=True)
    assert page.status_code == 404 and "revoked" in body and "/login" in body
    assert 'name="category"' not in body
    for target, data in ((url, {"category": []}), (f"{url}/all", {})):
        answer = client.post(target, data={"csrf_token": form_token, **data})
        assert answer.status_code == 404, target
    assert all(_on(ada).values())


# --- who the trail names ----------------------------------------------------------------------


def test_p14_signed_in_subscribers_changes_are_theirs_on_the_trail(app, client, ada):
    assert login(client, ada).status_code == 302
    post_form(client, "/client/email-preferences", {"category": ["newsletter"]})
    saved = _last_change(ada)
    assert (saved.actor_id, saved.actor_role) == (ada.id, "subscriber")
    post_form(client, "/client/email-preferences/all", token_from="/client/email-preferences")
    everything = _last_change(ada)
    assert everything.seq > saved.seq
    assert (everything.actor_id, everything.actor_role) == (ada.id, "subscriber")
    events = email_prefs.history(ada.account)
    assert {e.actor_id for e in events if e.method == "preference-centre"} == {ada.id}


@pytest.mark.parametrize("path", ["one-click", "mailto", "centre form", "centre all"])
def test_p14_changes_through_a_link_are_the_subscribers_on_the_trail(app, ada, path):
    client = app.test_client()
    centre = f"/email-preferences/{unsubscribe.make(ada.account.id)}"
    one_click = unsubscribe.make(ada.account.id, "newsletter")
    if path == "one-click":
        client.post(f"/unsubscribe/{one_click}", data=ONE_CLICK)
    elif path == "mailto":
        _mailto(ada, one_click)
    elif path == "centre form":
        post_form(client, centre, {"category": []})
    else:
        post_form(client, f"{centre}/all", token_from=centre)
    entry = _last_change(ada)
    assert (entry.actor_id, entry.actor_role) == (ada.id, "subscriber"), path
    assert not _on(ada)["newsletter"]


def test_p14_staff_changes_for_the_customer_are_the_staff_members(app, client, factories, ada):
    staff = factories.staff()
    assert login(client, staff).status_code == 302
    post_form(client, f"/admin/access/new/{ada.account.id}",
              {"reason": "support", "ticket": "T-5", "note": "n", "minutes": "30"})
    url = f"/admin/privacy/email/{ada.account.id}"
    answer = post_form(client, url, {"category": [], "reason": "customer phoned"})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    entry = _last_change(ada)
    assert (entry.actor_id, entry.actor_role) == (staff.id, "staff")
