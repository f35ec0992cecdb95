"""`panel demo` for the privacy centre: a published policy (sign-up links to it) and a data
request or two, one still open and one done, so the request pages are not empty."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from panel.accounts.models import Account
from panel.auth.models import User
from panel.extensions import db
from plugins.privacy.center.models import DataRequest
from plugins.privacy.center.services import policy, requests

POLICY = """# How we handle your data

We keep what we need to host your sites and bill you: your name, your contact details, your
domains and your invoices. Sensitive fields are encrypted at rest.

## What you can do

- See everything we hold about you, and download a copy, from **My data**.
- Ask us to correct, restrict or erase it from **Requests**. We answer within a month.
- Choose which emails you get from **Email preferences**. Account and billing notices are
  always sent.

## Who sees it

Support staff open your account only inside an access session with a reason, and you can read
every one under **Staff access**.
"""


def seed(people: dict[str, User], say: Callable[[str], None]) -> None:
    admin, staff = people.get("admin@demo.test"), people.get("staff1@demo.test")
    if admin is not None and policy.current() is None and not policy.versions():
        policy.publish(admin, body=POLICY, summary="The first published version.", material=False)
        say("published privacy policy version 1")
    customer = people.get("client21@demo.test")
    if customer is None or staff is None or customer.account_id is None:
        return
    account = db.session.get(Account, customer.account_id)
    assert account is not None
    if db.session.execute(select(DataRequest.id).where(DataRequest.account_id == account.id)).first():
        return
    done = requests.file(account, customer, kind="rectification", channel="panel",
                         details="My postal code is wrong: it should be SW1A 2AA.",
                         verified_by="panel-password")
    requests.fulfil(done, staff)
    requests.file(account, customer, kind="objection", purpose="marketing", channel="panel",
                  verified_by="panel-password")
    say("filed two data requests (one done, one open)")
