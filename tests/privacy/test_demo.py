"""`panel demo` shows the product: a published policy, delivered mail the admin can read, and
enough history (staff sessions, requests, consent changes, sign-ins, visits) that no list or
chart a demo customer opens is empty. Running it again adds nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from panel.extensions import db
from panel.mail.models import OutboxMessage
from plugins.privacy.access.models import AccessSession
from plugins.privacy.center.models import DataRequest, PolicyVersion
from plugins.privacy.email.models import ConsentEvent
from plugins.privacy.retention.models import SigninEvent, VisitorDay
from tests.conftest import login

COUNTED = (PolicyVersion, AccessSession, DataRequest, ConsentEvent, SigninEvent, VisitorDay,
           OutboxMessage)


def _counts() -> dict[str, int]:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) or 0 for m in COUNTED}


def _maildir(app: Flask) -> list[Path]:
    return sorted((Path(app.instance_path) / "mail" / "new").glob("*"))


def test_demo_publishes_a_policy_delivers_mail_and_has_history_once(app: Flask) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    for progress in ("published privacy policy version 1", "staff access sessions",
                     "consent changes", "visitor counts", "mail: sent"):
        assert progress in first.output, first.output
    counts = _counts()
    assert all(counts.values()), counts
    delivered = _maildir(app)
    assert delivered, "the demo's notices are still queued"
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.status == "queued")) == 0

    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert _counts() == counts
    assert _maildir(app) == delivered


def _page(client: Any, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def test_demo_pages_show_a_policy_mail_and_history(app: Flask) -> None:
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0

    anonymous = app.test_client()
    policy = _page(anonymous, "/privacy")
    assert "How we handle your data" in policy
    assert "No privacy policy has been published yet" not in policy
    assert 'href="/privacy' in _page(anonymous, "/signup")

    customer = app.test_client()
    assert login(customer, "client21@demo.test", "demo-password").status_code == 302
    access = _page(customer, "/client/privacy/access")
    assert "TICKET-4242" in access and "Sam Support" in access
    requests = _page(customer, "/client/privacy/requests/")
    assert "SW1A 2AA" in requests or "Correct" in requests or "rectif" in requests.lower()
    assert "Firefox" in _page(customer, "/client/privacy/activity")  # sign-ins
    assert "<svg" in _page(customer, "/client/privacy/activity/visits")  # visits per day
    assert "Newsletter" in _page(customer, "/client/email-preferences")

    admin = app.test_client()
    assert login(admin, "admin@demo.test", "demo-password").status_code == 302
    mail = _page(admin, "/admin/mail/maildir")
    assert "client21@demo.test" in mail or "client1@demo.test" in mail, mail[:2000]
