"""Creating people: one function per kind, so sign-up, resellers, staff and the demo agree."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from panel.accounts.models import Account
from panel.auth.models import SUBSCRIBER, User
from panel.auth.passwords import hash_password
from panel.extensions import db
from panel.plugins import hook


def next_account_number() -> int:
    return (db.session.execute(select(func.max(Account.number))).scalar() or 1000) + 1


def create_subscriber(*, email: str, password: str | None, first_name: str, last_name: str,
                      phone: str | None, actor: User | None, password_hash: str | None = None,
                      reseller_id: uuid.UUID | None = None, commit: bool = True,
                      **contact: str | None) -> User:
    account = Account(id=uuid.uuid4(), number=next_account_number(), reseller_id=reseller_id,
                      first_name=first_name or None, last_name=last_name or None, phone=phone,
                      **contact)
    user = User(role=SUBSCRIBER, email=email, display_name=f"{first_name} {last_name}".strip(),
                password_hash=password_hash or hash_password(password or ""),
                account_id=account.id)
    db.session.add(account)
    db.session.flush()  # account and user reference each other: the account row goes first
    db.session.add(user)
    db.session.flush()
    hook().panel_account_created(account=account, actor=actor)
    if commit:
        db.session.commit()
    return user
