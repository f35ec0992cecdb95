"""The admin mail pages: the outbox list and the local Maildir."""

from __future__ import annotations

import mailbox
import re
from email.message import EmailMessage
from pathlib import Path

import pytest

from panel.extensions import db
from panel.mail.outbox import deliver_due, queue


def _deliver_to_maildir(**fields) -> None:
    queue(**{"to": "grace@example.org", "subject": "Hello", "body": "Plain body", **fields})
    db.session.commit()
    assert deliver_due().startswith("sent 1")


@pytest.mark.parametrize("role", ["staff", "subscriber", "reseller"])
def test_mail_pages_are_not_found_for_anyone_but_admins(maildir_app, client, login_as, role):
    _deliver_to_maildir()
    login_as(role)
    for url in ("/admin/mail/", "/admin/mail/maildir"):
        assert client.get(url).status_code == 404, url


def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get("/admin/mail/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_admin_sees_the_outbox_with_errors_and_next_try(app, client, login_as, refusing_smtp):
    app.config["SMTP_URL"] = refusing_smtp.url
    queue(to="grace@example.org", subject="Invoice <INV-7>", body="secret body", category="billing")
    db.session.commit()
    deliver_due()
    queue(to="ada@example.org", subject="Newest message", body="b")
    db.session.commit()
    login_as("admin")

    page = client.get("/admin/mail/")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Invoice &lt;INV-7&gt;" in html
    assert "billing" in html
    assert "550" in html and "refused by policy" in html
    assert "UTC" in html  # the next-try time of the queued message
    assert html.index("Newest message") < html.index("Invoice &lt;INV-7&gt;")
    assert "secret body" not in html and "grace@example.org" not in html
    assert "/admin/mail/maildir" not in html  # SMTP is configured: no Maildir
    assert client.get("/admin/mail/maildir").status_code == 404


def test_outbox_pages_by_keyset(app, client, login_as):
    for i in range(26):
        queue(to="ada@example.org", subject=f"Message number {i:02d}", body="b")
        db.session.commit()  # distinct created_at order
    login_as("admin")

    first = client.get("/admin/mail/").get_data(as_text=True)
    older = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)

    assert first.count("Message number") == 25 and "26 messages in all" in first
    assert second.count("Message number") == 1
    assert "Message number 00" in second and "Message number 00" not in first
    assert "page=" not in older and "after=" in older  # a keyset cursor, not an OFFSET page


def test_admin_reads_the_maildir_with_the_body_escaped(maildir_app, client, login_as):
    _deliver_to_maildir(subject="Reset your password",
                        body="Click <a href='https://evil.test'>here</a> <script>alert(1)</script>")
    login_as("admin")

    listing = client.get("/admin/mail/maildir")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert "Reset your password" in html and "grace@example.org" in html
    [key] = mailbox.Maildir(Path(maildir_app.instance_path) / "mail").keys()
    assert f"/admin/mail/maildir/{key}" in html

    message = client.get(f"/admin/mail/maildir/{key}")
    assert message.status_code == 200
    html = message.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Message-ID" in html and "Reset your password" in html


def test_html_parts_are_never_rendered(maildir_app, client, login_as):
    mail = EmailMessage()
    mail["Subject"] = "Newsletter"
    mail["To"] = "grace@example.org"
    mail.set_content("The plain version")
    mail.add_alternative("<p>The <b>HTML</b> version</p><img src='https://track.test/p.gif'>",
                         subtype="html")
    key = mailbox.Maildir(Path(maildir_app.instance_path) / "mail", create=True).add(mail)
    login_as("admin")

    html = client.get(f"/admin/mail/maildir/{key}").get_data(as_text=True)

    assert "The plain version" in html
    assert "HTML</b> version" not in html and "track.test" not in html
    assert "never displayed" in html


def test_unknown_or_malicious_maildir_keys_are_not_found(maildir_app, client, login_as):
    _deliver_to_maildir()
    login_as("admin")
    for key in ("nope", "..", "..%2F..%2Fpanel.db", "%2e%2e"):
        assert client.get(f"/admin/mail/maildir/{key}").status_code == 404, key


def test_empty_maildir_page(maildir_app, client, login_as):
    login_as("admin")
    page = client.get("/admin/mail/maildir")
    assert page.status_code == 200
    assert "No mail has been delivered here yet." in page.get_data(as_text=True)


def test_signed_tokens_are_hidden_in_every_header_and_the_body(maildir_app, client, login_as):
    from itsdangerous import URLSafeSerializer, URLSafeTimedSerializer

    key = "k" * 40
    tokens = [URLSafeSerializer(key, salt="a").dumps(["a" * 32, "news", 0]),  # compressed: ".eJ…"
              URLSafeSerializer(key, salt="a").dumps(["0123456789abcdef" * 2, "newsletter", 1]),
              URLSafeTimedSerializer(key, salt="b").dumps({"s": "1" * 36, "a": "2" * 36})]
    one, two, timed = tokens
    _deliver_to_maildir(
        subject=f"unsubscribe {timed}",
        body=f"Approve: https://panel.example/access/approve/{timed}\nOr: unsubscribe%20{one}",
        headers={"List-Unsubscribe": f"<https://panel.example/unsubscribe/{two}>, "
                                     f"<mailto:u@panel.test?subject=unsubscribe%20{one}>",
                 "X-Other": f"token {two}"})
    login_as("admin")
    [mail_key] = mailbox.Maildir(Path(maildir_app.instance_path) / "mail").keys()
    for url in ("/admin/mail/maildir", f"/admin/mail/maildir/{mail_key}"):
        html = client.get(url).get_data(as_text=True)
        assert not [t for t in tokens if t in html], url
    html = client.get(f"/admin/mail/maildir/{mail_key}").get_data(as_text=True)
    assert "https://panel.example/unsubscribe/[link hidden" in html
    assert "subject=unsubscribe%20[link hidden" in html
    assert "panel.example" in html and "Message-ID" in html  # the rest is still readable
