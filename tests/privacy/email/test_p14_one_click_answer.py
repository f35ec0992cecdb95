"""What a one-click POST answers (P14, RFC 8058, issue 16): a mail provider's POST, which nobody
reads, gets one line of plain text; a person's browser (its form names HTML in Accept) gets the
"you are unsubscribed" page. Either way the same rules hold: the category goes off, on the
consent record and the trail as the subscriber's; a repeat writes nothing; a forged, revoked
or erased link is answered exactly as before, and bad links are still counted per address."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from panel.extensions import db
from plugins.privacy.access.models import AuditEntry
from plugins.privacy.email.services import preferences as email_prefs
from plugins.privacy.email.services import unsubscribe

pytestmark = pytest.mark.needs_privacy

FORM = "application/x-www-form-urlencoded"
ONE_CLICK = "List-Unsubscribe=One-Click"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def ada(factories):
    user = factories.subscriber()
    email_prefs.change(user.account, {"newsletter": True, "promotions": True}, "import")
    db.session.commit()
    return user


def _post(client, token, accept=None, **kw):
    headers = {"Accept": accept} if accept else {}
    return client.post(f"/unsubscribe/{token}", data=ONE_CLICK, content_type=FORM,
                       headers=headers, **kw)


def _on(user) -> dict[str, bool]:
    db.session.expire_all()
    return email_prefs.current(user.account)


def _changes(user) -> list[AuditEntry]:
    """The trail's preference changes made as the subscriber (the fixture's import is not)."""
    return list(db.session.execute(
        select(AuditEntry).where(AuditEntry.account_id == user.account.id,
                                 AuditEntry.action == "email_preferences.change",
                                 AuditEntry.actor_id == user.id)).scalars())


@pytest.mark.parametrize("accept", [None, "*/*"])
def test_p14_a_mail_providers_one_click_post_gets_a_line_of_plain_text(app, ada, accept):
    token = unsubscribe.make(ada.account.id, "newsletter")
    answer = _post(app.test_client(), token, accept)
    assert answer.status_code == 200
    assert answer.mimetype == "text/plain" and answer.mimetype_params["charset"] == "utf-8"
    assert answer.get_data(as_text=True) == (
        "You are unsubscribed: you will get no more newsletter email from us.\n")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"  # every answer's headers
    assert "Content-Security-Policy" in answer.headers and "Set-Cookie" not in answer.headers
    on = _on(ada)
    assert not on["newsletter"] and on["promotions"]  # that one category, nothing else
    [event] = [e for e in email_prefs.history(ada.account) if e.method == "one-click"]
    assert (event.category, event.granted, event.actor_id) == ("newsletter", False, ada.id)
    [entry] = _changes(ada)
    assert (entry.actor_id, entry.actor_role) == (ada.id, "subscriber")


def test_p14_a_persons_browser_still_gets_the_page(app, ada):
    token = unsubscribe.make(ada.account.id, "newsletter")
    answer = _post(app.test_client(), token, BROWSER)
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    page = answer.get_data(as_text=True)
    assert "You are unsubscribed" in page and "/email-preferences/" in page
    assert not _on(ada)["newsletter"]
    assert len(_changes(ada)) == 1


@pytest.mark.parametrize("accept", [None, BROWSER])
def test_p14_a_repeated_one_click_post_answers_the_same_and_writes_nothing(app, ada, accept):
    token = unsubscribe.make(ada.account.id, "newsletter")
    client = app.test_client()
    first = _post(client, token, accept)
    again = _post(client, token, accept)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.mimetype == first.mimetype
    assert [e.method for e in email_prefs.history(ada.account)].count("one-click") == 1
    assert len(_changes(ada)) == 1


def test_p14_a_revoked_one_click_link_still_unsubscribes_in_plain_text(app, ada):
    token = unsubscribe.make(ada.account.id, "newsletter")
    unsubscribe.revoke_all(ada.account)
    db.session.commit()
    answer = _post(app.test_client(), token)
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    assert not _on(ada)["newsletter"]


@pytest.mark.parametrize("accept", [None, BROWSER])
def test_p14_forged_centre_and_erased_links_are_refused_as_before(app, ada, accept):
    client = app.test_client()
    token = unsubscribe.make(ada.account.id, "newsletter")
    forged = _post(client, token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"), accept)
    assert forged.status_code == 404 and forged.mimetype == "text/html"
    assert "not valid" in forged.get_data(as_text=True)
    centre = _post(client, unsubscribe.make(ada.account.id), accept)
    assert centre.status_code == 404 and "does not unsubscribe" in centre.get_data(as_text=True)
    assert _on(ada)["newsletter"] and _changes(ada) == []


def test_p14_bad_links_are_still_limited_whatever_the_accept_header(app, ada):
    app.config["UNSUBSCRIBE_BAD_LIMIT_PER_IP"] = "3 per minute"
    client = app.test_client()
    codes = [_post(client, f"garbage{i}.token", accept).status_code
             for i, accept in enumerate([None, BROWSER, "*/*", None, BROWSER])]
    assert codes == [404, 404, 404, 429, 429]
    assert _post(client, unsubscribe.make(ada.account.id, "newsletter")).status_code == 200
    assert not _on(ada)["newsletter"]
