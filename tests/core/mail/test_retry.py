"""`panel mail retry`: a message that failed for good can be put back in the queue."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from panel.db_types import utcnow
from panel.extensions import db
from panel.hookspecs import hookimpl
from panel.mail import outbox
from panel.mail.models import FAILED, QUEUED, SENT, OutboxMessage
from panel.mail.outbox import queue


class Trail:
    """Hears every audit event, as the privacy plugin's trail would."""

    def __init__(self) -> None:
        self.events: list = []

    @hookimpl
    def panel_audit_event(self, event) -> None:
        self.events.append(event)


@pytest.fixture
def trail(register_plugin) -> Trail:
    listener = Trail()
    register_plugin(listener)
    return listener


def _messages(n: int, status: str = FAILED) -> list[OutboxMessage]:
    made = [queue(to=f"client{i}@example.com", subject=f"Invoice {i}", body="Due: 10 EUR")
            for i in range(n)]
    for m in made:
        m.status, m.attempts, m.last_error = status, 10, "SMTPDataError: 451 try later"
    db.session.commit()
    return made


def _state(message: OutboxMessage) -> tuple[str, int]:
    db.session.expire_all()
    row = db.session.get(OutboxMessage, message.id)
    assert row is not None
    return row.status, row.attempts


def test_retry_one_failed_message_queues_it_due_now_and_it_is_delivered(maildir_app, trail):
    failed, other = _messages(2)
    runner = maildir_app.test_cli_runner()

    result = runner.invoke(args=["mail", "retry", "--id", str(failed.id)])

    assert result.exit_code == 0, result.output
    assert "re-queued 1 failed message(s)" in result.output
    assert _state(failed) == (QUEUED, 0)
    assert db.session.get(OutboxMessage, failed.id).next_attempt_at <= utcnow()
    assert _state(other) == (FAILED, 10)  # only the one named
    assert [(e.action, e.object, e.actor) for e in trail.events] == [
        ("mail.retry", f"mail {failed.id}", None)]  # the operator at the shell, as `panel user`
    assert "sent 1," in runner.invoke(args=["mail", "send"]).output
    assert _state(failed) == (SENT, 1)


def test_retry_all_failed_in_batches_with_progress(maildir_app, trail, monkeypatch):
    monkeypatch.setattr(outbox, "RETRY_BATCH", 3)
    failed = _messages(7)
    [sent] = _messages(1, status=SENT)

    result = maildir_app.test_cli_runner().invoke(
        args=["mail", "retry", "--all-failed"])

    assert result.exit_code == 0, result.output
    assert "re-queued 7 failed message(s)" in result.stdout
    assert "re-queueing" in result.stderr  # the progress bar (drawn in full on a terminal)
    assert {_state(m) for m in failed} == {(QUEUED, 0)}
    assert _state(sent) == (SENT, 10)
    assert sorted(e.object for e in trail.events) == sorted(f"mail {m.id}" for m in failed)
    again = maildir_app.test_cli_runner().invoke(args=["mail", "retry", "--all-failed"])
    assert again.exit_code == 0 and "no failed messages" in again.output


@pytest.mark.parametrize(("args", "says"), [
    (["mail", "retry"], "either --id ID (one or more) or --all-failed"),
    (["mail", "retry", "--all-failed", "--id", "FAILED"], "either --id ID"),
    (["mail", "retry", "--id", str(uuid.UUID(int=7))], "no message in the outbox has the id"),
    (["mail", "retry", "--id", "SENT"], "is sent, not failed"),
    (["mail", "retry", "--id", "FAILED", "--id", "SENT"], "is sent, not failed"),
    (["mail", "retry", "--id", "not-an-id"], "'not-an-id' is not a message id"),
])
def test_retry_refuses_wrong_input_and_changes_nothing(app, trail, args, says):
    [failed] = _messages(1)
    [sent] = _messages(1, status=SENT)
    ids = {"FAILED": str(failed.id), "SENT": str(sent.id)}

    result = app.test_cli_runner().invoke(args=[ids.get(a, a) for a in args])

    assert result.exit_code != 0
    assert says in result.output
    assert (_state(failed), _state(sent)) == ((FAILED, 10), (SENT, 10))
    assert trail.events == []
    assert db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.status == QUEUED)) is None
