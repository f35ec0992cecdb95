"""What a one-click unsubscribe POST costs the database (P14, issue 16): one read of the link
(the account, its subscriber's id, its link generation and the category's current choice)
and, only when something changes, the subscriber (who the change is recorded as) and the
writes of the change itself. A repeated POST reads two rows (the plugin's state, the link),
writes nothing and, on PostgreSQL, opens no transaction: no BEGIN, no ROLLBACK."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from panel.extensions import db
from plugins.privacy.email.services import preferences as email_prefs
from plugins.privacy.email.services import unsubscribe
from tests import wire

pytestmark = pytest.mark.needs_privacy

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def _opted_in_link(client: Any, factories: Any) -> str:
    """A subscriber who wants the newsletter, and the path of its one-click link (the process's
    one-time readiness checks already done by a GET)."""
    user = factories.subscriber()
    email_prefs.change(user.account, {"newsletter": True}, "import")
    db.session.commit()
    path = f"/unsubscribe/{unsubscribe.make(user.account_id, 'newsletter')}"
    db.session.close()
    assert client.get(path).status_code == 200  # the process's one-time readiness checks
    return path


def _statements(client: Any, path: str) -> tuple[int, list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        status = client.post(path, data=ONE_CLICK).status_code
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return status, seen


def test_p14_one_click_post_reads_the_link_once(client, factories):
    path = _opted_in_link(client, factories)

    status, first = _statements(client, path)
    assert status == 200
    reads = [s for s in first if s == "SELECT"]
    # the plugin's state, the link (account + subscriber id + generation + latest choice),
    # and the subscriber who the change is recorded as
    assert len(reads) <= 3, first
    assert first.count("INSERT") == 2, first  # the consent event and its trail entry

    status, again = _statements(client, path)
    assert status == 200
    assert again == ["SELECT"] * 2, again  # unsubscribed already: nothing written


def test_p14_repeated_one_click_post_opens_no_transaction(client, factories, backend, tmp_path):
    """What the database is sent over every connection the request takes: a repeated POST
    runs its two reads before any transaction begins, so no BEGIN, and no ROLLBACK at its end
    (on PostgreSQL through OUTSIDE_TRANSACTION; pysqlite begins only at a write); the first
    POST, which writes, still begins and commits one."""
    path = _opted_in_link(client, factories)

    def traced() -> str:
        with wire.traced(db.engine, tmp_path / "wire.trace") as sent:
            assert client.post(path, data=ONE_CLICK).status_code == 200
        return sent()

    first = traced()
    # the change is one transaction (libpq quotes what it sends; sqlite3 traces it bare)
    assert "BEGIN" in first and "COMMIT" in first, first
    assert "INSERT INTO privacy_consent_event" in first
    again = traced()
    assert "FROM plugin_state" in again and "FROM account" in again, again  # its two reads
    assert "BEGIN" not in again and "ROLLBACK" not in again, again
    assert "INSERT" not in again
