"""A significant policy change is announced in advance (PANEL_POLICY_NOTICE_DAYS), and the
acceptance prompt names the version /privacy shows as current (P10)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from panel.config import ConfigError, check, load
from panel.db_types import today
from panel.extensions import db
from panel.mail.models import OutboxMessage
from plugins.privacy.center.models import PolicyAcceptance, PolicyVersion
from plugins.privacy.center.services import policy
from tests.conftest import login, post_form
from tests.core.test_bad_input import assert_field_error, assert_kept, database_rows

pytestmark = pytest.mark.needs_privacy

ADMIN_PAGE = "/admin/privacy/policy/"
ACCEPT = "/client/privacy/policy/accept"


def _form(**changes):
    return {"body": "# Policy\n\nWe now share data with a processor.",
            "summary": "We share with a processor.", "material": "y", "effective_on": "",
            "action": "publish", **changes}


def _publish(admin, number_summary: str, *, material: bool, in_effect: bool = True) -> PolicyVersion:
    """Publish as an admin would; ``in_effect`` then lets its date come, as time would."""
    version = policy.publish(admin, body=f"# {number_summary}", summary=number_summary,
                             material=material)
    if in_effect:
        version.effective_on = today()
        db.session.commit()
    return version


def _current_on_privacy(client) -> str:
    page = client.get("/privacy").get_data(as_text=True)
    start = page.index("Version ", page.index("<h1>Privacy policy</h1>"))
    return page[start:page.index(",", start)]


def test_p10_a_significant_change_cannot_take_effect_before_its_notice(client, factories, login_as):
    factories.subscriber()
    login_as("admin")
    before = database_rows()
    earliest = today() + timedelta(days=30)
    for typed in (today(), today() + timedelta(days=29)):
        response = post_form(client, ADMIN_PAGE, _form(effective_on=typed.isoformat()))
        body = response.get_data(as_text=True)
        assert response.status_code == 400
        assert_field_error(body, "effective_on", "A significant change must be announced 30 days "
                                                 f"ahead: choose {earliest:%Y-%m-%d} or later")
        assert_kept(body, typed.isoformat())
        assert "We share with a processor." in body and "We now share data with a processor." in body
    assert database_rows() == before  # nothing published, nobody mailed
    assert post_form(client, ADMIN_PAGE, _form(effective_on=earliest.isoformat())).status_code == 302
    version = db.session.execute(select(PolicyVersion)).scalar_one()
    assert version.effective_on == earliest
    mail = db.session.execute(select(OutboxMessage)).scalar_one()
    assert f"takes effect on {earliest:%d %B %Y}" in mail.body  # heard of 30 days in advance


def test_p10_a_minor_change_may_still_take_effect_at_once(client, login_as):
    login_as("admin")
    assert post_form(client, ADMIN_PAGE, _form(material="", effective_on=today().isoformat())
                     ).status_code == 302
    assert db.session.execute(select(PolicyVersion)).scalar_one().effective_on == today()


def test_p10_the_notice_is_the_policy_notice_days_setting(make_app, factories, monkeypatch, tmp_path):
    app = make_app(POLICY_NOTICE_DAYS=7)
    client = app.test_client()
    with app.app_context():
        assert login(client, factories.staff("admin")).status_code == 302
        assert "7 days after publishing" in client.get(ADMIN_PAGE).get_data(as_text=True)
        too_soon = post_form(client, ADMIN_PAGE, _form(effective_on=(today() + timedelta(days=6))
                                                        .isoformat()))
        assert too_soon.status_code == 400 and "announced 7 days ahead" in too_soon.get_data(
            as_text=True)
        assert post_form(client, ADMIN_PAGE, _form(effective_on=(today() + timedelta(days=7))
                                                   .isoformat())).status_code == 302
    monkeypatch.setenv("PANEL_POLICY_NOTICE_DAYS", "45")
    assert load(tmp_path)["POLICY_NOTICE_DAYS"] == "45"
    for bad in ("0", "soon", "-3", "400"):
        config = {**load(tmp_path), "SECRET_KEY": "x" * 32, "MASTER_KEY": "A" * 43 + "=",
                  "POLICY_NOTICE_DAYS": bad}
        with pytest.raises(ConfigError, match="POLICY_NOTICE_DAYS"):
            check(config)


def test_p10_after_a_significant_v1_and_a_minor_v2_the_prompt_names_version_2(client, factories):
    user = factories.subscriber()
    admin = factories.staff("admin")
    _publish(admin, "We share with a processor.", material=True)
    _publish(admin, "Typo fixes.", material=False)
    assert login(client, user).status_code == 302
    assert client.get("/client/").headers["Location"].startswith(ACCEPT)
    page = client.get(ACCEPT).get_data(as_text=True)
    assert _current_on_privacy(client) == "Version 2"
    assert "Version 2 is in effect since" in page and "I accept version 2" in page
    assert "Version 1" not in page.split("<article")[0].replace("Version 1 (", "")  # never asked for 1
    assert "We share with a processor." in page and "Typo fixes." in page  # both changes listed
    assert post_form(client, ACCEPT, {"version": "2"}).status_code == 302
    row = db.session.execute(select(PolicyAcceptance)).scalar_one()
    assert row.version.number == 2
    assert client.get("/client/").status_code == 200  # version 2 includes version 1's change
    assert policy.pending_for(user) is None


def test_p10_a_significant_version_announced_for_later_is_not_asked_before_its_date(
        app, client, factories):
    """Decided: until its date, the prompt and /privacy both name the version in effect (v1);
    the announced v2 is shown on /privacy as upcoming and cannot be accepted early."""
    agreed, behind = factories.subscriber(), factories.subscriber()
    admin = factories.staff("admin")
    v1 = _publish(admin, "First significant change.", material=True)
    policy.accept(agreed, v1, "sign-in")
    v2 = _publish(admin, "Second significant change.", material=True, in_effect=False)
    assert v2.effective_on == today() + timedelta(days=30)

    assert login(client, agreed).status_code == 302
    assert client.get("/client/").status_code == 200  # nothing to accept yet
    assert _current_on_privacy(client) == "Version 1"
    assert (f"Version 2 takes effect on {v2.effective_on:%d %B %Y}"
            in client.get("/privacy").get_data(as_text=True))

    other = app.test_client()
    assert login(other, behind).status_code == 302
    page = other.get(ACCEPT).get_data(as_text=True)
    assert "I accept version 1" in page and _current_on_privacy(other) == "Version 1"
    early = post_form(other, ACCEPT, {"version": "2"})
    assert early.status_code == 409  # not version 2 before its date
    assert db.session.execute(select(PolicyAcceptance).where(
        PolicyAcceptance.user_id == behind.id)).first() is None

    v2.effective_on = today()  # its date comes: both are asked for version 2
    db.session.commit()
    for person, c in ((agreed, client), (behind, other)):
        post_form(c, "/logout", token_from="/privacy")
        login(c, person)
        assert c.get("/client/").headers["Location"].startswith(ACCEPT)
        assert "I accept version 2" in c.get(ACCEPT).get_data(as_text=True)
        assert _current_on_privacy(c) == "Version 2"
