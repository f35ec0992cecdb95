"""Delivery through real SMTP servers, the local Maildir, the pre-send hook and the CLI."""

from __future__ import annotations

import mailbox
import threading
from datetime import timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlalchemy import select

from panel.db_types import utcnow
from panel.extensions import db
from panel.hookspecs import hookimpl
from panel.mail.models import OutboxMessage
from panel.mail.outbox import deliver_due, parse_smtp_url, queue, retry_delay
from tests.pg import free_port


def _fresh(message: OutboxMessage) -> OutboxMessage:
    db.session.expire_all()
    row = db.session.get(OutboxMessage, message.id)
    assert row is not None
    return row


def _queue(n: int = 1, **kwargs) -> list[OutboxMessage]:
    fields = {"to": "ada@example.com", "subject": "Your invoice", "body": "Amount due: 10 EUR"}
    messages = [queue(**{**fields, "subject": f"{fields['subject']} {i}", **kwargs})
                for i in range(n)]
    db.session.commit()
    return messages


def test_smtp_delivery_sends_the_stored_message(app, smtp):
    app.config["SMTP_URL"] = smtp.url
    app.config["MAIL_FROM"] = "Hosting Panel <no-reply@panel.test>"
    [message] = _queue(to="grace@example.org", subject="Welcome, Grace",
                       body="Hello Grace,\nyour account is ready.\n",
                       headers={"X-Panel-Kind": "welcome"})

    assert deliver_due() == "sent 1, suppressed 0, failed 0, retrying 0"

    [envelope] = smtp.handler.envelopes
    assert envelope.mail_from == "no-reply@panel.test"
    assert envelope.rcpt_tos == ["grace@example.org"]
    [mail] = smtp.handler.messages
    assert mail["From"] == "Hosting Panel <no-reply@panel.test>"
    assert mail["To"] == "grace@example.org"
    assert mail["Subject"] == "Welcome, Grace"
    assert mail["Message-ID"] == f"<{message.id}@panel.test>"
    assert mail["Date"] is not None
    assert mail["X-Panel-Kind"] == "welcome"
    assert mail.get_content().replace("\r\n", "\n") == "Hello Grace,\nyour account is ready.\n"
    row = _fresh(message)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert row.sent_at is not None
    # a second run finds nothing to do and sends nothing again
    assert deliver_due() == "sent 0, suppressed 0, failed 0, retrying 0"
    assert len(smtp.handler.envelopes) == 1


def test_refused_message_stays_queued_with_its_error_then_goes_out_later(
        app, refusing_smtp, smtp, clock):
    app.config["SMTP_URL"] = refusing_smtp.url
    [message] = _queue(to="grace@example.org")

    before = utcnow()
    assert deliver_due() == "sent 0, suppressed 0, failed 0, retrying 1"

    row = _fresh(message)
    assert row.status == "queued"
    assert row.attempts == 1
    assert "550" in row.last_error and "refused by policy" in row.last_error
    assert "grace@example.org" not in row.last_error  # no personal data in the error
    retry_in = row.next_attempt_at - before
    assert timedelta(seconds=299) <= retry_in <= timedelta(seconds=310)

    # the server now accepts, but the message waits for its next-try time
    app.config["SMTP_URL"] = smtp.url
    assert deliver_due() == "sent 0, suppressed 0, failed 0, retrying 0"
    assert smtp.handler.envelopes == []

    clock(timedelta(minutes=5, seconds=11))
    assert deliver_due() == "sent 1, suppressed 0, failed 0, retrying 0"
    assert [e.rcpt_tos for e in smtp.handler.envelopes] == [["grace@example.org"]]
    row = _fresh(message)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert refusing_smtp.handler.refused == 1


def test_one_refused_message_does_not_hold_up_the_others(app, refusing_smtp):
    app.config["SMTP_URL"] = refusing_smtp.url
    messages = _queue(3)

    assert deliver_due() == "sent 0, suppressed 0, failed 0, retrying 3"

    assert refusing_smtp.handler.refused == 3
    assert {(_fresh(m).status, _fresh(m).attempts) for m in messages} == {("queued", 1)}


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_credentials_in_the_smtp_url_are_used_to_sign_in(app, auth_smtp):
    [message] = _queue()
    app.config["SMTP_URL"] = auth_smtp.url.replace("//", "//mailer%40panel.test:wrong@")
    summary = deliver_due()
    assert "stopped early: SMTPAuthenticationError: 535" in summary
    assert "wrong" not in _fresh(message).last_error
    assert auth_smtp.handler.envelopes == []

    app.config["SMTP_URL"] = auth_smtp.url.replace("//", "//mailer%40panel.test:p%40ss%3Aw%2Frd@")
    _fresh(message).next_attempt_at = utcnow()
    db.session.commit()
    assert deliver_due() == "sent 1, suppressed 0, failed 0, retrying 0"
    assert len(auth_smtp.handler.envelopes) == 1


def test_starttls_requested_but_not_offered_sends_nothing_in_the_clear(app, smtp):
    app.config["SMTP_URL"] = smtp.url + "?starttls=1"  # the test server offers no STARTTLS
    [message] = _queue()

    summary = deliver_due()

    assert "stopped early: SMTPNotSupportedError: STARTTLS extension not supported" in summary
    assert smtp.handler.envelopes == []
    row = _fresh(message)
    assert row.status == "queued" and "STARTTLS" in row.last_error


def test_retries_back_off_then_give_up_as_failed(app, refusing_smtp, clock):
    app.config.update(SMTP_URL=refusing_smtp.url, MAIL_RETRY_SECONDS=60, MAIL_MAX_ATTEMPTS=3)
    [message] = _queue()

    waits = []
    for _ in range(2):
        now = clock(timedelta())
        assert deliver_due() == "sent 0, suppressed 0, failed 0, retrying 1"
        row = _fresh(message)
        assert row.status == "queued"
        waits.append((row.next_attempt_at - now).total_seconds())
        assert deliver_due().endswith("retrying 0")  # not due again before its time
        clock(row.next_attempt_at - now + timedelta(seconds=1))
    assert 60 <= waits[0] < 65 and 120 <= waits[1] < 125  # doubled
    assert deliver_due() == "sent 0, suppressed 0, failed 1, retrying 0"
    row = _fresh(message)
    assert (row.status, row.attempts) == ("failed", 3)
    assert "550" in row.last_error
    assert refusing_smtp.handler.refused == 3
    # a failed message is not tried again
    clock(timedelta(days=2))
    assert deliver_due() == "sent 0, suppressed 0, failed 0, retrying 0"
    assert refusing_smtp.handler.refused == 3


def test_retry_delay_doubles_and_is_capped_at_a_day(app):
    app.config["MAIL_RETRY_SECONDS"] = 300
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [300, 600, 1200, 2400]
    assert retry_delay(12) == timedelta(days=1)
    assert retry_delay(60) == timedelta(days=1)


def test_unreachable_server_keeps_everything_and_stops_the_batch(app):
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    first, second = _queue(2)

    summary = deliver_due()

    assert summary.startswith("sent 0, suppressed 0, failed 0, retrying 1; stopped early: ")
    assert "ConnectionRefusedError" in summary
    rows = sorted([_fresh(first), _fresh(second)], key=lambda r: r.attempts)
    assert [(r.status, r.attempts) for r in rows] == [("queued", 0), ("queued", 1)]
    assert rows[0].last_error is None
    assert "ConnectionRefusedError" in rows[1].last_error


def test_without_smtp_url_mail_goes_to_the_instance_maildir(maildir_app):
    [message] = _queue(to="grace@example.org", subject="Maildir delivery", body="Ünïcode body\n")

    assert deliver_due() == "sent 1, suppressed 0, failed 0, retrying 0"

    box = mailbox.Maildir(Path(maildir_app.instance_path) / "mail", create=False)
    [key] = box.keys()
    with box.get_file(key) as fh:
        mail = BytesParser(policy=policy.default).parse(fh)
    assert mail["To"] == "grace@example.org"
    assert mail["Subject"] == "Maildir delivery"
    assert mail.get_content() == "Ünïcode body\n"
    assert _fresh(message).status == "sent"


class PreSend:
    """A plugin deciding at delivery time: it may suppress, or add headers."""

    def __init__(self, suppress: dict[str, str] | None = None) -> None:
        self.suppress = suppress or {}
        self.seen: list[str] = []

    @hookimpl
    def panel_email_pre_send(self, message: OutboxMessage, headers: dict[str, str]) -> str | None:
        self.seen.append(message.subject)
        if message.category in self.suppress:
            return self.suppress[message.category]
        headers["List-Unsubscribe"] = "<https://panel.test/unsubscribe/abc>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return None


def test_pre_send_hook_suppresses_at_delivery_time(app, smtp, register_plugin):
    app.config["SMTP_URL"] = smtp.url
    [news] = _queue(subject="Spring news", category="newsletter")
    [receipt] = _queue(subject="Receipt")
    plugin = PreSend(suppress={"newsletter": "subscriber opted out of newsletter"})
    register_plugin(plugin)  # the preference changed after the message was queued
    assert plugin.seen == []  # queueing does not ask the hook

    assert deliver_due() == "sent 1, suppressed 1, failed 0, retrying 0"

    assert sorted(plugin.seen) == ["Receipt", "Spring news"]
    assert [m["Subject"] for m in smtp.handler.messages] == ["Receipt"]
    row = _fresh(news)
    assert (row.status, row.suppressed_reason) == ("suppressed", "subscriber opted out of newsletter")
    assert row.attempts == 0 and row.sent_at is None
    assert _fresh(receipt).status == "sent"
    # suppressed is final: later runs do not send it
    assert deliver_due() == "sent 0, suppressed 0, failed 0, retrying 0"
    assert len(smtp.handler.envelopes) == 1


def test_headers_added_by_the_hook_are_in_the_delivered_message(app, smtp, register_plugin):
    app.config["SMTP_URL"] = smtp.url
    [message] = _queue(headers={"X-Campaign": "spring"})
    register_plugin(PreSend())

    deliver_due()

    [mail] = smtp.handler.messages
    assert mail["List-Unsubscribe"] == "<https://panel.test/unsubscribe/abc>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["X-Campaign"] == "spring"
    assert _fresh(message).headers == {"X-Campaign": "spring"}  # hook headers are per delivery


def test_a_failing_hook_keeps_the_message_queued(app, smtp, register_plugin):
    class Broken:
        @hookimpl
        def panel_email_pre_send(self, message, headers):
            raise RuntimeError("preference store unavailable")

    app.config["SMTP_URL"] = smtp.url
    [message] = _queue()
    register_plugin(Broken())

    assert deliver_due() == "sent 0, suppressed 0, failed 0, retrying 1"

    row = _fresh(message)
    assert row.status == "queued"
    assert row.last_error == "RuntimeError: preference store unavailable"
    assert smtp.handler.envelopes == []


def test_two_concurrent_runs_deliver_each_message_exactly_once(app, slow_smtp):
    app.config["SMTP_URL"] = slow_smtp.url
    messages = _queue(12)
    start = threading.Barrier(2)
    summaries: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                start.wait(timeout=30)
                summaries.append(deliver_due())
                db.session.remove()
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    subjects = sorted(m["Subject"] for m in slow_smtp.handler.messages)
    assert subjects == sorted(m.subject for m in messages)  # each exactly once
    sent = sum(int(s.split(",")[0].removeprefix("sent ")) for s in summaries)
    assert sent == 12
    db.session.expire_all()
    rows = db.session.execute(select(OutboxMessage)).scalars().all()
    assert {(r.status, r.attempts) for r in rows} == {("sent", 1)}


def test_panel_mail_send_command(app, smtp):
    app.config["SMTP_URL"] = smtp.url
    _queue(3)
    runner = app.test_cli_runner()

    result = runner.invoke(args=["mail", "send", "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "sent 2, suppressed 0, failed 0, retrying 0"
    assert len(smtp.handler.envelopes) == 2

    result = runner.invoke(args=["mail", "send"])
    assert result.output.strip() == "sent 1, suppressed 0, failed 0, retrying 0"
    assert len(smtp.handler.envelopes) == 3


def test_panel_mail_send_refuses_a_bad_smtp_url_and_touches_nothing(app):
    app.config["SMTP_URL"] = "http://mail.example.com"
    [message] = _queue()

    result = app.test_cli_runner().invoke(args=["mail", "send"])

    assert result.exit_code == 1
    assert "PANEL_SMTP_URL must start with smtp:// or smtps://" in result.output
    row = _fresh(message)
    assert (row.status, row.attempts, row.last_error) == ("queued", 0, None)


def test_panel_cron_delivers_the_outbox(maildir_app):
    [message] = _queue()
    result = maildir_app.test_cli_runner().invoke(args=["cron"])
    assert "mail.send: sent 1, suppressed 0, failed 0, retrying 0" in result.output
    assert _fresh(message).status == "sent"


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.example.com", ("mail.example.com", 25, False, False, None, None)),
    ("smtp://u%40x:p%3Aw@mail.example.com?starttls=1", ("mail.example.com", 587, False, True,
                                                         "u@x", "p:w")),
    ("smtps://u:p@mail.example.com:2465", ("mail.example.com", 2465, True, False, "u", "p")),
])
def test_smtp_url_forms(url, expected):
    s = parse_smtp_url(url)
    assert (s.host, s.port, s.implicit_tls, s.starttls, s.username, s.password) == expected


def test_p25_a_resellers_brand_is_the_from_name_and_the_address_stays_the_hosts(app, smtp):
    app.config["SMTP_URL"] = smtp.url
    app.config["MAIL_FROM"] = "Hosting Panel <no-reply@panel.test>"
    _queue(headers={"X-Panel-From-Name": "Reseller One, Ltd"})

    assert deliver_due() == "sent 1, suppressed 0, failed 0, retrying 0"

    [mail] = smtp.handler.messages
    assert mail["From"] == '"Reseller One, Ltd" <no-reply@panel.test>'
    assert mail["X-Panel-From-Name"] is None  # an instruction to the outbox, never sent
    assert smtp.handler.envelopes[0].mail_from == "no-reply@panel.test"
