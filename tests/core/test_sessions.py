"""Sessions that really end (issue 14): a server-side record per sign-in, deleted on sign-out,
"Signed-in devices", one way to sign out everywhere, and no trust in a forged X-Forwarded-For.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from panel.auth.models import User
from panel.auth.services import sign_out_everywhere
from panel.config import ConfigError
from panel.extensions import db
from panel.sessions import services as sessions
from panel.sessions.models import UserSession
from tests.conftest import login, post_form
from tests.factories import DEFAULT_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
COOKIE = "panel_session"
DEVICES = "/account/security/devices"


def _rows(user: User) -> list[UserSession]:
    db.session.expire_all()
    return list(db.session.execute(select(UserSession).where(UserSession.user_id == user.id))
                .scalars())


def _signed_in(client, path: str = "/client/") -> bool:
    response = client.get(path)
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]
        return False
    assert response.status_code == 200, response.status_code
    return True


def _client(app, **environ: str):
    """A browser; ``environ`` sets what every request of it carries (REMOTE_ADDR, headers)."""
    client = app.test_client()
    client.environ_base.update(environ)
    return client


def _copy_cookie(app, source, **environ: str):
    """A second browser holding a copy of ``source``'s session cookie (a stolen cookie)."""
    thief = _client(app, **environ)
    thief.set_cookie(COOKIE, source.get_cookie(COOKIE).value, domain="localhost")
    return thief


def test_replayed_cookie_after_sign_out_gets_the_sign_in_page(app, client, factories):
    user = factories.subscriber()
    assert login(client, user).status_code == 302
    copy = _copy_cookie(app, client)
    assert _signed_in(copy)  # the copy works while the session lives
    assert len(_rows(user)) == 1
    post_form(client, "/logout", token_from="/client/")
    assert _rows(user) == []
    page = copy.get("/client/", follow_redirects=True)
    assert page.request.path == "/login"
    assert "Sign in" in page.get_data(as_text=True)
    assert not _signed_in(client)


def test_every_sign_in_gets_its_own_record_with_browser_and_address(app, factories):
    user = factories.subscriber()
    firefox = _client(app, **{"REMOTE_ADDR": "198.51.100.20", "HTTP_USER_AGENT":
                              "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko Firefox/128.0"})
    login(firefox, user)
    login(app.test_client(), user)
    rows = _rows(user)
    assert len(rows) == 2
    mine = next(r for r in rows if r.browser == "Firefox on Linux")
    assert mine.ip == "198.51.100.20"
    assert mine.created_at and mine.last_seen_at


def test_p02_the_session_address_is_sealed(app, factories):
    user = factories.subscriber()
    login(_client(app, **{"REMOTE_ADDR": "198.51.100.77"}), user)
    stored = db.session.execute(text("SELECT ip FROM user_session")).scalar_one()
    assert stored.startswith("v1:") and "198.51.100.77" not in stored


def test_signed_in_devices_lists_and_ends_one(app, client, factories):
    user = factories.subscriber()
    login(client, user)
    other = _client(app, **{"HTTP_USER_AGENT": "Mozilla/5.0 (iPhone) Safari/604.1"})
    login(other, user)
    page = client.get(DEVICES).get_data(as_text=True)
    assert "Safari on iOS" in page and "(this browser)" in page
    assert "Sign out all other devices" in page
    phone = next(r for r in _rows(user) if r.browser == "Safari on iOS")
    response = post_form(client, f"{DEVICES}/{phone.id}/end", token_from=DEVICES)
    assert response.status_code == 302
    assert "Safari on iOS has been signed out." in client.get(DEVICES).get_data(as_text=True)
    assert not _signed_in(other)
    assert _signed_in(client)
    assert [r.browser for r in _rows(user)] != ["Safari on iOS"] and len(_rows(user)) == 1


def test_ending_this_browser_from_the_list_signs_it_out(client, factories):
    user = factories.subscriber()
    login(client, user)
    [here] = _rows(user)
    response = post_form(client, f"{DEVICES}/{here.id}/end", token_from=DEVICES,
                         follow_redirects=True)
    assert response.request.path == "/login"
    assert "You have signed out of this browser." in response.get_data(as_text=True)
    assert _rows(user) == []


def test_sign_out_all_other_devices_keeps_this_one(app, client, factories):
    user = factories.subscriber()
    login(client, user)
    others = [app.test_client() for _ in range(2)]
    for other in others:
        login(other, user)
    [here] = [r for r in _rows(user) if r.id == _current_id(client, user)]
    token = user.session_token
    response = post_form(client, f"{DEVICES}/end-others", token_from=DEVICES)
    assert response.status_code == 302
    assert [r.id for r in _rows(user)] == [here.id]
    assert db.session.get(User, user.id).session_token != token
    assert all(not _signed_in(other) for other in others)
    assert _signed_in(client)
    assert "Sign out all other devices" not in client.get(DEVICES).get_data(as_text=True)


def _current_id(client, user: User):
    """The record of the client's own session: the one the page marks as this browser."""
    page = client.get(DEVICES).get_data(as_text=True)
    row = page.split("(this browser)")[0].rsplit("<tr>", 1)[1] + page.split("(this browser)")[1]
    found = re.search(r"/account/security/devices/([0-9a-f-]{36})/end", row)
    assert found
    return next(r.id for r in _rows(user) if str(r.id) == found.group(1))


def test_someone_elses_session_is_not_found_and_stays(app, client, factories):
    victim = factories.subscriber()
    login(app.test_client(), victim)
    [theirs] = _rows(victim)
    login(client, factories.subscriber())
    response = post_form(client, f"{DEVICES}/{theirs.id}/end", token_from=DEVICES)
    assert response.status_code == 404
    assert [r.id for r in _rows(victim)] == [theirs.id]
    assert str(theirs.id) not in client.get(DEVICES).get_data(as_text=True)


@pytest.mark.parametrize("role", ["subscriber", "reseller", "staff", "admin"])
def test_every_role_has_signed_in_devices(login_as, client, role):
    login_as(role)
    page = client.get(DEVICES)
    assert page.status_code == 200
    assert "Signed-in devices" in page.get_data(as_text=True)
    assert "(this browser)" in page.get_data(as_text=True)


def test_devices_page_needs_signing_in(client):
    response = client.get(DEVICES)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_ending_a_session_needs_csrf(app, client, factories):
    user = factories.subscriber()
    login(client, user)
    [here] = _rows(user)
    assert client.post(f"{DEVICES}/{here.id}/end").status_code == 400
    assert client.post(f"{DEVICES}/end-others").status_code == 400
    assert len(_rows(user)) == 1


def test_password_change_ends_every_other_record(app, client, factories):
    user = factories.subscriber()
    other = app.test_client()
    login(other, user)
    login(client, user)
    before = {r.id for r in _rows(user)}
    response = post_form(client, "/account/password", {
        "current": DEFAULT_PASSWORD, "new": "a brand new passphrase",
        "confirm": "a brand new passphrase"})
    assert response.status_code == 302, response.get_data(as_text=True)
    after = _rows(user)
    assert len(after) == 1 and after[0].id not in before  # a fresh record for this browser
    assert not _signed_in(other)
    assert _signed_in(client)


def test_suspension_from_the_shell_ends_every_session(app, client, factories):
    user = factories.subscriber()
    login(client, user)
    result = app.test_cli_runner().invoke(args=["user", "suspend", "--email", user.email])
    assert result.exit_code == 0, result.output
    assert _rows(user) == []
    assert not _signed_in(client)


def test_sign_out_everywhere_keeps_only_what_it_is_told(app, factories):
    user = factories.subscriber()
    for _ in range(3):
        login(app.test_client(), user)
    keep = _rows(user)[0]
    sign_out_everywhere(user, keep=keep)
    db.session.commit()
    assert [r.id for r in _rows(user)] == [keep.id]
    sign_out_everywhere(user)
    db.session.commit()
    assert _rows(user) == []


def test_an_idle_session_ends_and_cron_removes_it(app, client, factories):
    user = factories.subscriber()
    login(client, user)
    _age(user, hours=13)
    assert not _signed_in(client)  # an idle session is over, and its record goes
    assert _rows(user) == []
    login(app.test_client(), user)
    _age(user, hours=13)
    assert "idle session(s) removed" in sessions.purge_idle()
    assert _rows(user) == []


def _statements(app, client, path: str = "/client/") -> list[str]:
    """The SQL one signed-in GET of ``path`` runs."""
    from sqlalchemy import event

    seen: list[str] = []

    def note(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        assert _signed_in(client, path)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    return seen


def test_a_signed_in_request_checks_its_session_in_one_read_and_writes_nothing(
        app, client, factories):
    """Issue 16: the server-side check costs one indexed read (the user joined to this
    browser's row), and a page view writes nothing to user_session within the minute."""
    user = factories.subscriber()
    login(client, user)
    assert _signed_in(client)
    reads = [s for s in _statements(app, client) if "user_session" in s]
    assert len(reads) == 1, reads
    assert reads[0].lstrip().upper().startswith("SELECT") and " JOIN user_session" in reads[0]


def test_last_seen_is_written_at_most_once_a_minute(app, client, factories):
    user = factories.subscriber()
    login(client, user)
    for row in _rows(user):
        row.last_seen_at -= timedelta(minutes=5)
    db.session.commit()
    [before] = [r.last_seen_at for r in _rows(user)]
    writes = [s for s in _statements(app, client)
              if "user_session" in s and s.lstrip().upper().startswith("UPDATE")]
    [after] = [r.last_seen_at for r in _rows(user)]
    assert len(writes) == 1 and after - before >= timedelta(minutes=4)
    again = [s for s in _statements(app, client)
             if "user_session" in s and not s.lstrip().upper().startswith("SELECT")]
    assert again == [] and [r.last_seen_at for r in _rows(user)] == [after]


def _age(user: User, *, hours: int) -> None:
    """Move the clock: the user's sessions were last used ``hours`` ago."""
    for row in _rows(user):
        row.last_seen_at -= timedelta(hours=hours)
    db.session.commit()


CODE_ROTATION = re.compile(r"\.session_token\s*(?:,[^=\n]*)?=(?!=)|session_token=new_session_token")


def test_sign_out_everywhere_is_the_one_way_to_end_every_session():
    """Rotating ``session_token`` by hand leaves the server-side records alive: every path that
    signs a user out everywhere (password change, reset, suspension, closure, erasure...) goes
    through panel.auth.services.sign_out_everywhere."""
    allowed = {ROOT / "panel" / "auth" / "services.py"}
    found = []
    for base in (ROOT / "panel", ROOT / "plugins"):
        for path in base.rglob("*.py"):
            if path in allowed:
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if CODE_ROTATION.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "\n".join(found)


# --- the client's address: X-Forwarded-For only from a configured proxy --------------------


def _ip_of_new_session(app, user: User, **environ: str) -> str:
    client = _client(app, **environ)
    assert login(client, user).status_code == 302
    newest = max(_rows(user), key=lambda r: r.created_at)
    return newest.ip


def test_a_forged_forwarded_for_is_ignored_without_a_trusted_proxy(app, factories):
    user = factories.subscriber()
    ip = _ip_of_new_session(app, user, REMOTE_ADDR="203.0.113.9",
                            HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert ip == "203.0.113.9"


def test_a_copied_cookie_with_a_forged_forwarded_for_is_refused(app, factories):
    """The session binding (Flask-Login "strong") used to read X-Forwarded-For: a thief could
    claim the victim's address and keep the stolen session."""
    user = factories.subscriber()
    victim = _client(app, **{"REMOTE_ADDR": "198.51.100.7"})
    login(victim, user)
    thief = _copy_cookie(app, victim, **{
        "REMOTE_ADDR": "203.0.113.66", "HTTP_X_FORWARDED_FOR": "198.51.100.7"})
    assert not _signed_in(thief)
    same_place = _copy_cookie(app, victim, **{"REMOTE_ADDR": "198.51.100.7"})
    assert _signed_in(same_place)  # the binding itself still lets the real browser in


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(make_app, factories):
    app = make_app(TRUSTED_PROXIES="10.0.0.1, 192.0.2.0/28")
    with app.app_context():
        user = factories.subscriber()
        assert _ip_of_new_session(app, user, REMOTE_ADDR="10.0.0.1",
                                  HTTP_X_FORWARDED_FOR="198.51.100.7") == "198.51.100.7"
        # a forged entry to the left of what our proxies add is not believed
        assert _ip_of_new_session(app, user, REMOTE_ADDR="10.0.0.1",
                                  HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.8, 192.0.2.3"
                                  ) == "198.51.100.8"
        # a client that is not a configured proxy cannot choose its address
        assert _ip_of_new_session(app, user, REMOTE_ADDR="10.0.0.2",
                                  HTTP_X_FORWARDED_FOR="198.51.100.7") == "10.0.0.2"


def test_a_forged_forwarded_for_does_not_escape_the_sign_in_limit(app, client, factories):
    app.config["LOGIN_LIMIT_PER_IP"] = "3 per minute"
    for n in range(3):
        client.environ_base["HTTP_X_FORWARDED_FOR"] = f"198.51.100.{n}"
        login(client, f"spray{n}@example.com", "guess")
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.99"
    assert login(client, "spray9@example.com", "guess").status_code == 429


@pytest.mark.parametrize("value", ["10.0.0.300", "proxy.example.com", "10.0.0.1/33", 42])
def test_a_bad_trusted_proxy_setting_is_refused_at_start(make_app, value):
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        make_app(TRUSTED_PROXIES=value if not isinstance(value, int) else [value, "x"])


@pytest.mark.needs_privacy
def test_p21_ending_devices_shows_in_the_subscribers_activity(app, client, factories):
    user = factories.subscriber()
    login(app.test_client(), user)
    login(app.test_client(), user)
    login(client, user)
    phone = next(r for r in _rows(user) if r.id != _current_id(client, user))
    post_form(client, f"{DEVICES}/{phone.id}/end", token_from=DEVICES)
    post_form(client, f"{DEVICES}/end-others", token_from=DEVICES)
    page = client.get("/client/privacy/activity").get_data(as_text=True)
    assert "A signed-in device signed out" in page
    assert "Other sessions signed out" in page
    assert 'href="/account/security/devices"' in page  # and the activity page leads there
