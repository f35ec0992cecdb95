"""The support credential vault (P18)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from panel.db_types import utcnow
from panel.extensions import db
from plugins.privacy.access.models import AccessSession, AuditEntry, SupportCredential
from tests.conftest import login, post_form

CRED = {"kind": "ssh", "label": "Support SSH", "host": "vps1.example.net", "username": "support",
        "secret": "hunter2-correct-horse", "days": "14"}
SESSION = {"reason": "support", "ticket": "T-77", "note": "Fix the cron job", "minutes": "30"}


def _saved(app, factories):
    user = factories.subscriber()
    me = app.test_client()
    login(me, user)
    response = post_form(me, "/client/privacy/credentials", CRED)
    assert response.status_code == 302
    return user, me


def test_p18_credential_is_sealed_and_advice_is_given(app, factories):
    user, me = _saved(app, factories)
    page = me.get("/client/privacy/credentials").get_data(as_text=True)
    assert "Create a fresh login for support" in page
    assert "Support SSH" in page and "hunter2-correct-horse" not in page  # never shown back
    raw = repr(db.session.execute(text("select * from privacy_support_credential")).all())
    for plain in ("hunter2", "vps1.example.net", "Support SSH"):
        assert plain not in raw
    cred = SupportCredential.query.one()
    assert timedelta(days=13, hours=23) < cred.expires_at - utcnow() <= timedelta(days=14)


def test_p18_staff_reveal_only_inside_a_live_session_and_each_reveal_is_recorded(app, client, factories):
    user, me = _saved(app, factories)
    staff = factories.staff()
    login(client, staff)
    post_form(client, f"/admin/access/new/{user.account_id}", SESSION)
    s = AccessSession.query.one()
    page = client.get(f"/admin/access/{s.id}/credentials").get_data(as_text=True)
    assert "Support SSH" in page and "hunter2-correct-horse" not in page
    cred = SupportCredential.query.one()
    shown = post_form(client, f"/admin/access/{s.id}/credentials", {"credential": str(cred.id)})
    assert "hunter2-correct-horse" in shown.get_data(as_text=True)
    reveal = AuditEntry.query.filter_by(action="credential.reveal").one()
    assert (reveal.actor_id, reveal.session_id, reveal.ticket) == (staff.id, s.id, "T-77")
    customer_view = me.get("/client/privacy/access").get_data(as_text=True)
    assert "credential.reveal" in customer_view
    # after the session ends, nothing more can be revealed
    s.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    late = post_form(client, f"/admin/access/{s.id}/credentials", {"credential": str(cred.id)},
                     token_from="/admin/access/")
    assert late.status_code == 302
    assert "hunter2" not in client.get(late.headers["Location"]).get_data(as_text=True)
    assert AuditEntry.query.filter_by(action="credential.reveal").count() == 1


def test_p18_another_staff_members_session_cannot_reveal(app, client, factories):
    user, _ = _saved(app, factories)
    owner = app.test_client()
    login(owner, factories.staff())
    post_form(owner, f"/admin/access/new/{user.account_id}", SESSION)
    s = AccessSession.query.one()
    login(client, factories.staff())
    assert client.get(f"/admin/access/{s.id}/credentials").status_code == 404


def test_p18_expired_credentials_are_deleted_by_cron(app, factories):
    _saved(app, factories)
    cred = SupportCredential.query.one()
    cred.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    output = app.test_cli_runner().invoke(args=["cron"]).output
    assert "deleted 1 expired support credentials" in output
    assert SupportCredential.query.count() == 0
    assert AuditEntry.query.filter_by(action="credential.expire").count() == 1


def test_p18_subscriber_deletes_a_credential_and_no_one_else_can(app, client, factories):
    user, me = _saved(app, factories)
    cred = SupportCredential.query.one()
    stranger = app.test_client()
    login(stranger, factories.subscriber())
    assert post_form(stranger, f"/client/privacy/credentials/{cred.id}/delete",
                     token_from="/client/privacy/credentials").status_code == 404
    assert SupportCredential.query.count() == 1
    post_form(me, f"/client/privacy/credentials/{cred.id}/delete", token_from="/client/privacy/credentials")
    assert SupportCredential.query.count() == 0


def test_p18_bad_credential_input_keeps_the_form_and_saves_nothing(app, factories):
    user = factories.subscriber()
    me = app.test_client()
    login(me, user)
    for data, message in [({**CRED, "secret": ""}, "The secret is required."),
                          ({**CRED, "days": "365"}, "Between 1 and 90 days."),
                          ({**CRED, "label": "x" * 5000}, "At most 80 characters."),
                          ({**CRED, "kind": "telnet"}, "Not a valid choice")]:
        response = post_form(me, "/client/privacy/credentials", data)
        assert response.status_code == 400 and message in response.get_data(as_text=True)
        assert 'value="vps1.example.net"' in response.get_data(as_text=True)
    assert SupportCredential.query.count() == 0
