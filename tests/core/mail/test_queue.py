"""Queueing: what the outbox refuses, and what it stores."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from panel.extensions import db
from panel.mail.models import OutboxMessage
from panel.mail.outbox import MAX_BODY_BYTES, queue


def _count() -> int:
    return db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()


@pytest.mark.parametrize("subject", ["Hello\r\nBcc: victim@example.com", "Hello\nthere",
                                     "Hello\rthere"])
def test_line_break_in_subject_is_refused(app, subject):
    with pytest.raises(ValueError, match="single line"):
        queue(to="ada@example.com", subject=subject, body="hi")
    db.session.commit()
    assert _count() == 0


def test_oversized_body_is_refused_with_a_clear_message(app):
    with pytest.raises(ValueError, match=r"at most 1048576 bytes \(1 MiB\)"):
        queue(to="ada@example.com", subject="Big", body="x" * (MAX_BODY_BYTES + 1))
    # multi-byte characters count as the bytes they take
    with pytest.raises(ValueError, match="1 MiB"):
        queue(to="ada@example.com", subject="Big", body="é" * (MAX_BODY_BYTES // 2 + 1))
    queue(to="ada@example.com", subject="Just fits", body="x" * MAX_BODY_BYTES)
    db.session.commit()
    assert _count() == 1


@pytest.mark.parametrize("to", ["not-an-address", "ada@", "ada@example.com\r\nBcc: x@y.z",
                                "two@example.com, three@example.com", "root@localhost"])
def test_invalid_recipient_is_refused(app, to):
    with pytest.raises(ValueError, match="not a valid email address"):
        queue(to=to, subject="Hi", body="hi")


@pytest.mark.parametrize("headers", [{"X-Note": "a\r\nBcc: victim@example.com"},
                                     {"To": "someone@else.example"}, {"Bad Name": "x"}])
def test_header_injection_and_overrides_are_refused(app, headers):
    with pytest.raises(ValueError):
        queue(to="ada@example.com", subject="Hi", body="hi", headers=headers)


def test_queued_message_is_due_now_and_sealed_at_rest(app):
    message = queue(to="Ada@Example.com", subject="Welcome", body="Your secret body text",
                    category="newsletter", headers={"X-Campaign": "spring"})
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(OutboxMessage, message.id)
    assert (stored.status, stored.category, stored.attempts) == ("queued", "newsletter", 0)
    assert stored.to_addr == "Ada@example.com"  # the domain is normalised, the local part kept
    assert stored.body == "Your secret body text"
    assert stored.headers == {"X-Campaign": "spring"}
    raw = db.session.execute(text("SELECT to_addr, body FROM mail_outbox")).one()
    assert "example.com" not in raw.to_addr.lower()
    assert "secret" not in raw.body


def test_category_must_be_a_simple_name(app):
    with pytest.raises(ValueError, match="not a mail category"):
        queue(to="ada@example.com", subject="Hi", body="hi", category="News Letter")


def test_demo_addresses_on_the_reserved_test_domain_are_accepted(app):
    message = queue(to="client1@demo.test", subject="Hi", body="hi")
    assert message.to_addr == "client1@demo.test"
