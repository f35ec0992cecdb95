"""P02: sealed emails and phones are still found by exact lookup, through the blind index."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from panel.accounts.models import Account
from panel.auth.models import User
from panel.extensions import db


def _find_users(email: str) -> list[User]:
    return list(db.session.execute(select(User).where(User.email.matches(email))).scalars())


def test_p02_email_lookup_ignores_case_spaces_and_idn_form(app: Flask, factories: Any) -> None:
    user = factories.subscriber(email="Zoë.Müller@Bücher.example")
    other = factories.subscriber(email="zoe.muller@buecher.example")
    for typed in ("Zoë.Müller@Bücher.example", "  zoë.müller@bücher.example\t",
                  "ZOË.MÜLLER@BÜCHER.EXAMPLE", "zoë.müller@xn--bcher-kva.example"):
        assert [u.id for u in _find_users(typed)] == [user.id], typed
    assert [u.id for u in _find_users("ZOE.Muller@buecher.example ")] == [other.id]
    assert _find_users("zoe.muller@bücher.example") == []
    stored = db.session.execute(select(User.email_bidx, User._email)
                                .where(User.id == user.id)).one()
    assert len(stored.email_bidx) == 43 and "@" not in stored.email_bidx  # an HMAC, not the address
    assert stored._email.startswith("v1:")


def test_p02_duplicate_email_is_refused_by_the_index(app: Flask, factories: Any) -> None:
    factories.subscriber(email="ada@example.com")
    db.session.add(User(role="staff", email="  ADA@Example.COM", display_name="Twin",
                        password_hash="x"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert len(_find_users("ada@example.com")) == 1


def test_p02_phone_lookup_by_e164_whatever_the_formatting(app: Flask, factories: Any) -> None:
    user = factories.subscriber(phone="+44 20 7946 0958")
    factories.subscriber(phone="+44 20 7946 0959")
    for typed in ("+442079460958", "+44 (20) 7946-0958", " +44.20.7946.0958 "):
        found = db.session.execute(select(Account.id).where(Account.phone.matches(typed))).all()
        assert [r.id for r in found] == [user.account_id], typed
