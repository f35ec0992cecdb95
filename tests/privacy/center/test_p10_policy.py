"""Privacy policy versions, advance notice of significant changes, and re-consent (P10)."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

from sqlalchemy import select

from panel.db_types import today
from panel.extensions import db
from panel.mail.models import OutboxMessage
from plugins.privacy.access.models import AuditEntry
from plugins.privacy.center.models import PolicyAcceptance, PolicyVersion
from plugins.privacy.center.services import policy
from tests.conftest import login, post_form
from tests.core.test_bad_input import assert_field_error, assert_kept, database_rows

ADMIN_PAGE = "/admin/privacy/policy/"
ACCEPT = "/client/privacy/policy/accept"


def _publish(factories, *, body="# Our policy\n\nWe keep your data safe.", summary="First version.",
             material=False, effective_on=None):
    """A significant version wanted in effect sooner than its notice allows is published with
    the notice, then its date comes (as if it had been published that long ago)."""
    admin = factories.staff("admin")
    early = material and effective_on is not None and effective_on < policy.earliest_effective_on(True)
    version = policy.publish(admin, body=body, summary=summary, material=material,
                             effective_on=None if early else effective_on)
    if early:
        version.effective_on = effective_on
        db.session.commit()
    return version


def _form(**changes):
    return {"body": "# Policy v2\n\nWe now also use a payment processor.",
            "summary": "We added our payment processor.", "effective_on": "", "action": "publish",
            **changes}


class _Tags(HTMLParser):
    """Every tag and attribute of a page, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _active_parts(html: str) -> list[str]:
    parser = _Tags()
    parser.feed(html)
    found = []
    for tag, attrs in parser.tags:
        if tag in ("script", "iframe", "object", "embed", "img", "svg"):
            found.append(tag)
        for name, value in attrs.items():
            if name.startswith("on"):
                found.append(f"{tag} {name}")
            if name in ("href", "src") and re.sub(r"\s", "", value or "").lower().startswith(
                    ("javascript:", "data:", "vbscript:")):
                found.append(f"{tag} {name}={value}")
    return found


def test_p10_policy_page_is_public_with_every_version_its_date_and_summary(client, factories):
    _publish(factories, body="# Version one\n\nThe **first** text.", summary="First version.")
    _publish(factories, body="# Version two\n\nAdds a processor.", summary="Adds our payment processor.",
             material=True)
    page = client.get("/privacy")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "<h1>Version one</h1>" in text and "<strong>first</strong>" in text  # Markdown rendered
    assert "Version two</h1>" not in text  # not in effect yet, so not the current text
    assert "First version." in text and "Adds our payment processor." in text
    upcoming = (today() + timedelta(days=30)).strftime("%Y-%m-%d")
    assert f"{upcoming} (upcoming)" in text and today().strftime("%Y-%m-%d") in text
    assert "Significant change" in text and "Minor change" in text
    old = client.get("/privacy/1").get_data(as_text=True)
    assert "The <strong>first</strong> text." in old
    assert "<h1>Version two</h1>" in client.get("/privacy/2").get_data(as_text=True)
    assert client.get("/privacy/3").status_code == 404
    assert client.get("/privacy/abc").status_code == 404


def test_p10_policy_page_says_when_nothing_is_published(client):
    page = client.get("/privacy")
    assert page.status_code == 200
    assert "No privacy policy has been published yet." in page.get_data(as_text=True)


def test_p10_a_significant_change_is_emailed_to_every_subscriber_in_advance(client, factories, login_as):
    mine = factories.subscriber(email="first@example.com")
    theirs = factories.subscriber(email="second@example.com", reseller=factories.reseller())
    factories.staff()
    login_as("admin")
    response = post_form(client, ADMIN_PAGE, _form(material="y"))
    assert response.status_code == 302
    assert "2 subscribers will be told by email" in client.get(ADMIN_PAGE).get_data(as_text=True)
    version = db.session.execute(select(PolicyVersion)).scalar_one()
    assert version.material and version.effective_on == today() + timedelta(days=30)
    mails = db.session.execute(select(OutboxMessage)).scalars().all()
    assert sorted(m.to_addr for m in mails) == sorted([mine.email, theirs.email])
    when = version.effective_on.strftime("%d %B %Y")
    for mail in mails:
        assert mail.category == "transactional"  # a notice about the service: always delivered
        assert mail.subject == f"Our privacy policy changes on {when}"
        assert "We added our payment processor." in mail.body
        assert "http://localhost/privacy/1" in mail.body
        assert "accept it the next time you sign in" in mail.body
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "policy.publish")).scalar_one()
    assert entry.object == "privacy policy version 1 (significant)"


def test_p10_a_minor_change_takes_effect_today_without_email(client, factories, login_as):
    factories.subscriber()
    login_as("admin")
    assert post_form(client, ADMIN_PAGE, _form()).status_code == 302
    version = db.session.execute(select(PolicyVersion)).scalar_one()
    assert not version.material and version.effective_on == today()
    assert db.session.execute(select(OutboxMessage)).first() is None
    assert "We now also use a payment processor." in client.get("/privacy").get_data(as_text=True)


def test_p10_subscriber_accepts_a_significant_version_before_anything_else(app, client, factories):
    user = factories.subscriber()
    _publish(factories, summary="Initial.")
    _publish(factories, body="# New terms\n\nWe share with a processor.", summary="We now share with X.",
             material=True, effective_on=today())
    assert login(client, user).status_code == 302
    for url in ("/client/", "/client/privacy/history", "/client/privacy/email"):
        blocked = client.get(url)
        assert blocked.status_code == 302, url
        assert blocked.headers["Location"].startswith(ACCEPT), url
    page = client.get(ACCEPT + "?next=/client/privacy/history")
    text = page.get_data(as_text=True)
    assert "Our privacy policy has changed" in text and "We now share with X." in text
    assert "<h1>New terms</h1>" in text
    assert client.get("/privacy").status_code == 200  # the policy itself stays readable
    done = post_form(client, ACCEPT + "?next=/client/privacy/history", {"version": "2"})
    assert done.status_code == 302 and done.headers["Location"] == "/client/privacy/history"
    assert client.get("/client/").status_code == 200
    row = db.session.execute(select(PolicyAcceptance)).scalar_one()
    assert (row.user_id, row.version.number, row.method) == (user.id, 2, "sign-in")
    assert row.ip == "127.0.0.1" and "127.0.0.1" not in (row._ip or "")  # sealed at rest
    assert abs((row.accepted_at - row.version.published_at).total_seconds()) < 60
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "policy.accept")).scalar_one()
    assert entry.account_id == user.account_id and entry.fields == ["policy_version"]
    assert "127.0.0.1" not in entry.object
    mine = client.get("/privacy").get_data(as_text=True)
    assert "Your acceptances" in mine and "Version 2, accepted " in mine
    # the next sign-in does not ask again
    post_form(client, "/logout", token_from="/client/")
    login(client, user)
    assert client.get("/client/").status_code == 200


def test_p10_acceptance_is_asked_only_once_the_version_is_in_effect(client, factories):
    user = factories.subscriber()
    version = _publish(factories, material=True)  # 30 days ahead by default
    login(client, user)
    assert client.get("/client/").status_code == 200
    assert client.get(ACCEPT).status_code == 302  # nothing to accept yet
    version.effective_on = today()  # the date comes
    db.session.commit()
    post_form(client, "/logout", token_from="/client/")
    login(client, user)
    assert client.get("/client/").headers["Location"].startswith(ACCEPT)
    assert db.session.execute(select(PolicyAcceptance)).first() is None


def test_p10_acceptance_is_of_the_version_that_was_shown(client, factories):
    user = factories.subscriber()
    _publish(factories, material=True, effective_on=today(), summary="Shown first.")
    login(client, user)
    assert 'name="version" type="hidden" value="1"' in client.get(ACCEPT).get_data(as_text=True)
    _publish(factories, material=True, effective_on=today(), summary="Published meanwhile.")
    stale = post_form(client, ACCEPT, {"version": "1"}, token_from="/privacy")
    text = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert "Version 2 is now in effect: please read it before accepting." in text
    assert "Published meanwhile." in text
    assert db.session.execute(select(PolicyAcceptance)).first() is None
    assert post_form(client, ACCEPT, {"version": "2"}, token_from="/privacy").status_code == 302
    assert db.session.execute(select(PolicyAcceptance)).scalar_one().version.number == 2


def test_p10_declining_leaves_the_way_out_open(client, factories):
    user = factories.subscriber()
    _publish(factories, material=True, effective_on=today())
    login(client, user)
    text = client.get(ACCEPT).get_data(as_text=True)
    assert "ask us to erase your data" in text and "Sign out" in text
    assert client.get("/client/privacy/requests/").status_code == 200
    assert post_form(client, "/logout", token_from=ACCEPT).status_code == 302
    assert db.session.execute(select(PolicyAcceptance)).first() is None


def test_p10_staff_and_resellers_are_not_asked(client, factories, login_as):
    _publish(factories, material=True, effective_on=today())
    login_as("admin")
    assert client.get("/admin/").status_code == 200
    assert client.get(ACCEPT).status_code == 404


def test_p10_acceptance_needs_the_form_token(client, factories):
    user = factories.subscriber()
    _publish(factories, material=True, effective_on=today())
    login(client, user)
    assert client.post(ACCEPT).status_code == 400
    assert db.session.execute(select(PolicyAcceptance)).first() is None
    assert client.get("/client/").status_code == 302


HOSTILE = "\n\n".join([
    "# Policy",
    "<script>alert('s')</script>",
    "[click me](javascript:alert('j'))",
    "[shout](JAVASCRIPT:alert('J'))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<img src=x onerror="alert(\'i\')">',
    '<a href="javascript:alert(\'a\')" onclick="alert(\'c\')">raw link</a>',
    "![pic](x\" onerror=\"alert('m'))",
    "<iframe src=\"https://evil.example\"></iframe>",
    "[fine](https://example.com/ok)",
])


def test_p10_markdown_carrying_script_is_rendered_inert(client, factories, login_as):
    user = factories.subscriber()
    login_as("admin")
    preview = post_form(client, ADMIN_PAGE, _form(body=HOSTILE, action="preview"))
    assert preview.status_code == 200
    assert _active_parts(preview.get_data(as_text=True)) == []
    assert db.session.execute(select(PolicyVersion)).first() is None  # a preview publishes nothing
    assert post_form(client, ADMIN_PAGE, _form(body=HOSTILE, material="y")).status_code == 302
    db.session.execute(select(PolicyVersion)).scalar_one().effective_on = today()  # its date comes
    db.session.commit()
    me = client.application.test_client()
    login(me, user)
    for url in ("/privacy", "/privacy/1", ACCEPT):
        text = me.get(url).get_data(as_text=True)
        assert _active_parts(text) == [], url
        assert '<a href="https://example.com/ok" rel="noopener noreferrer nofollow">fine</a>' in text
        assert "&lt;script&gt;" in text  # shown as text, harmlessly
    assert _active_parts(str(policy.render(HOSTILE))) == []


def test_p10_publish_form_refuses_bad_input_and_saves_nothing(client, factories, login_as):
    login_as("admin")
    _publish(factories, summary="Later one.", effective_on=today() + timedelta(days=10))
    before = database_rows()
    later = (today() + timedelta(days=10)).strftime("%Y-%m-%d")
    cases = [
        ({"body": ""}, "body", "The policy text is empty."),
        ({"body": "x" * 100_001}, "body", "At most 100,000 characters."),
        ({"summary": ""}, "summary", "Say what changed."),
        ({"summary": "s" * 501}, "summary", "At most 500 characters."),
        ({"summary": "bell\x07"}, "summary", "This contains control characters; remove them."),
        ({"effective_on": "2000-01-01"}, "effective_on",
         "A version cannot take effect in the past: choose today or later."),
        ({"effective_on": today().isoformat()}, "effective_on",
         f"Version 1 takes effect on {later}; a later version cannot take effect before it."),
        ({"effective_on": "2026-13-45"}, "effective_on", "Not a valid date value."),
    ]
    for changes, name, message in cases:
        response = post_form(client, ADMIN_PAGE, _form(**changes))
        body = response.get_data(as_text=True)
        assert response.status_code == 400, changes
        assert_field_error(body, name, message)
        if name == "effective_on" and changes["effective_on"]:
            assert_kept(body, changes["effective_on"])
        if changes.get("summary"):
            assert changes["summary"][:50] in body
    assert database_rows() == before


def test_p10_only_admins_manage_the_policy(client, factories, login_as):
    assert client.get(ADMIN_PAGE).status_code == 302  # to the sign-in page
    staff = factories.staff()
    login(client, staff)
    assert client.get(ADMIN_PAGE).status_code == 404
    assert client.post(ADMIN_PAGE, data=_form()).status_code in (400, 404)
    other = client.application.test_client()
    login(other, factories.subscriber())
    assert other.get(ADMIN_PAGE).status_code == 404
    assert db.session.execute(select(PolicyVersion)).first() is None


def test_p10_admin_list_shows_who_accepted_each_version(client, factories, login_as):
    user = factories.subscriber()
    version = _publish(factories, material=True, effective_on=today())
    policy.accept(user, version, "sign-in")
    login_as("admin")
    text = client.get(ADMIN_PAGE).get_data(as_text=True)
    assert re.search(r'<td data-label="Emails queued">1</td><td data-label="Accepted by">1</td></tr>',
                     text.replace("\n", "").replace("      ", ""))


def test_p10_deactivated_plugin_asks_nothing_and_shows_no_policy_pages(app, client, factories):
    user = factories.subscriber()
    _publish(factories, material=True, effective_on=today())
    app.extensions["panel.plugins"].set_active("privacy", False)
    assert client.get("/privacy").status_code == 404
    assert client.get("/signup").status_code == 404
    assert "Create an account" not in client.get("/login").get_data(as_text=True)
    login(client, user)
    assert client.get("/client/").status_code == 200
