"""Shared steps for the email preference tests."""

from __future__ import annotations

import re
from email.message import EmailMessage

from panel.extensions import db
from plugins.privacy.email.services import preferences as email_prefs

LINK = re.compile(r"<(https?://[^>]+/unsubscribe/[^>]+)>")


def opt_in(user, *keys: str) -> None:
    email_prefs.change(user.account, {k: True for k in keys}, "import")
    db.session.commit()


def one_click_path(mail: EmailMessage) -> str:
    url = LINK.search(str(mail["List-Unsubscribe"])).group(1)
    return url.split("localhost", 1)[1]
