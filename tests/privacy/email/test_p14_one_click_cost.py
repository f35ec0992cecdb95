"""What a one-click unsubscribe POST costs the database (P14, issue 16): one read of the link
(the account, its subscriber's id and its link generation), one read of the current choice,
and, only when something changes, the subscriber (who the change is recorded as) and the
writes of the change itself. A repeated POST reads three rows and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from panel.extensions import db
from plugins.privacy.email.services import preferences as email_prefs
from plugins.privacy.email.services import unsubscribe

pytestmark = pytest.mark.needs_privacy

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


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
    user = factories.subscriber()
    email_prefs.change(user.account, {"newsletter": True}, "import")
    db.session.commit()
    path = f"/unsubscribe/{unsubscribe.make(user.account_id, 'newsletter')}"
    db.session.close()
    assert client.get(path).status_code == 200  # the process's one-time readiness checks

    status, first = _statements(client, path)
    assert status == 200
    reads = [s for s in first if s == "SELECT"]
    # the plugin's state, the link (account + subscriber id + generation), the latest choice,
    # and the subscriber who the change is recorded as
    assert len(reads) <= 4, first
    assert first.count("INSERT") == 2, first  # the consent event and its trail entry

    status, again = _statements(client, path)
    assert status == 200
    assert again == ["SELECT"] * 3, again  # unsubscribed already: nothing written
