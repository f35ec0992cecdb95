"""Structured headers (RFC 2369 List-*, RFC 8058, Message-ID) reach every receiver as written:
never RFC 2047-encoded, folded only between URIs, no line over 998 characters. A receiver that
does not decode these fields (Python's compat32, many filters) must still find the links."""

from __future__ import annotations

import base64
import mailbox
import re
from email import message_from_bytes, policy
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from panel.extensions import db
from panel.mail.outbox import STRUCTURED_HEADERS, deliver_due, queue

TOKEN = ("W1siNjE2ZGI0YjZmMjNmNDYyNDk2ZDFjNjJkNmI1N2U2YjEiLCJuZXdzbGV0dGVyIiwwXQ."
         "q8Qm1nT6xH0p9vJ3ZkLwR2sYtA5bC7dE4fG8hI1jK0")  # as long as a one-click token
ONE_CLICK = f"https://panel.example/unsubscribe/{TOKEN}"
MAILTO = f"mailto:unsubscribe@panel.test?subject=unsubscribe%20{TOKEN}"
HEADERS = {"List-Unsubscribe": f"<{ONE_CLICK}>, <{MAILTO}>",
           "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
           "List-Id": "Panel news <news.panel.test>"}


def dkim_key_pair() -> tuple[str, bytes]:
    """A PEM private key and the DNS TXT record that publishes its public half."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def assert_plain_receiver_reads(raw: bytes) -> dict[str, str]:
    """What a receiver that decodes nothing sees: every structured header unencoded, every
    header line within RFC 5322's 998 characters. Returns the structured headers, unfolded."""
    head = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    for line in head.splitlines():
        assert len(line) <= 998, line[:80]
    mail = message_from_bytes(raw, policy=policy.compat32)
    found = {}
    for name in mail:  # compat32 iterates over header names
        if name.lower() in STRUCTURED_HEADERS:
            value = " ".join(str(mail[name]).split())
            assert "=?" not in value, f"{name} is RFC 2047-encoded: {value[:80]}"
            found[name.lower()] = value
    assert re.fullmatch(r"<[^<>\s]+@[^<>\s]+>", found["message-id"])
    return found


def _deliver(**extra: str) -> None:
    queue(to="ada@example.com", subject="Our news", body="Hello", headers={**HEADERS, **extra})
    db.session.commit()
    assert deliver_due().startswith("sent 1")


@pytest.mark.parametrize("signed", [False, True], ids=["plain", "dkim"])
def test_list_unsubscribe_reaches_an_smtp_receiver_unencoded(app, smtp, signed):
    app.config["SMTP_URL"] = smtp.url
    pem, record = dkim_key_pair()
    if signed:
        app.config.update(DKIM_KEY=pem, DKIM_SELECTOR="s1")
    _deliver()
    [envelope] = smtp.handler.envelopes
    raw = envelope.content
    found = assert_plain_receiver_reads(raw)
    assert re.findall(r"<([^<>]+)>", found["list-unsubscribe"]) == [ONE_CLICK, MAILTO]
    assert found["list-unsubscribe-post"] == "List-Unsubscribe=One-Click"
    assert found["list-id"] == HEADERS["List-Id"]
    assert re.search(rb"\r\nList-Unsubscribe: <https://[^\r\n]+>,\r\n <mailto:", raw)  # folded between URIs
    if signed:
        assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: record)
        changed = raw.replace(TOKEN.encode(), TOKEN[:-1].encode() + b"x", 1)
        assert not dkim.verify(changed, dnsfunc=lambda name, timeout=5: record)


def test_list_unsubscribe_in_the_local_maildir_is_unencoded(maildir_app):
    _deliver()
    box = mailbox.Maildir(Path(maildir_app.instance_path) / "mail", create=False)
    [key] = box.keys()
    found = assert_plain_receiver_reads(box.get_bytes(key))
    assert re.findall(r"<([^<>]+)>", found["list-unsubscribe"]) == [ONE_CLICK, MAILTO]


@pytest.mark.parametrize(("name", "value", "error"), [
    ("List-Unsubscribe", f"<https://panel.example/unsubscribe/{'x' * 1000}>", "too long"),
    ("List-Unsubscribe", "<https://bücher.example/unsubscribe/abc>", "must be ASCII"),
    ("List-Id", "Ünïcode list <news.panel.test>", "must be ASCII"),
])
def test_a_structured_header_that_cannot_go_out_unencoded_is_refused_when_queued(
        app, name, value, error):
    with pytest.raises(ValueError, match=error):
        queue(to="ada@example.com", subject="News", body="Hello", headers={name: value})
