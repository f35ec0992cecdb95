"""P02: any text survives a sealed field exactly; what is not text is refused, not mangled."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from panel.accounts.models import Account
from panel.crypto import current_keyring
from panel.extensions import db

_numbers = itertools.count(800_000)


def _through_the_database(value: str) -> tuple[str | None, str]:
    account = Account(id=uuid.uuid4(), number=next(_numbers), company=value)
    db.session.add(account)
    db.session.commit()
    account_id = account.id
    db.session.expunge_all()  # a fresh object: the value must come from the stored envelope
    stored = db.session.execute(select(Account._profile)
                                .where(Account.id == account_id)).scalar_one()
    loaded = db.session.get(Account, account_id)
    assert loaded is not None
    value_back = loaded.company
    db.session.expunge_all()
    return value_back, stored


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(max_size=300))  # every code point UTF-8 can carry, NUL included
@example(value="")
@example(value="x" * 10_241 + "end")
@example(value="山田太郎, Москва, ‏שלום‎, नमस्ते, 🏳️‍🌈")
@example(value="before\x00after\x00")
@example(value="company\x1f,name\x1fx")  # the group's separators, inside a value
@example(value="\r\n\t trailing space ")
@example(value="é" * 6000)  # 12 kB of two-byte characters
def test_p02_sealed_field_round_trips_text_exactly(app: Flask, value: str) -> None:
    back, stored = _through_the_database(value)
    assert back == value and type(back) is str
    assert stored.startswith("v1:")
    if len(value) >= 4:
        assert value not in stored


@pytest.mark.parametrize("bad, error, message", [
    ("lone \ud800 surrogate", ValueError, "not valid Unicode"),
    ("\udfff", ValueError, "not valid Unicode"),
    (b"bytes", TypeError, "must be text, not bytes"),
    (42, TypeError, "must be text, not int"),
])
def test_p02_sealed_field_refuses_what_is_not_text(app: Flask, bad: Any, error: type,
                                                   message: str) -> None:
    account = Account(id=uuid.uuid4(), number=next(_numbers), company="Before Ltd")
    with pytest.raises(error, match=message) as caught:
        account.company = bad
    assert "company" in str(caught.value)
    assert account.company == "Before Ltd"  # the old value is untouched


def test_p02_a_row_shows_its_envelope_as_stored_now_not_as_first_read(app: Flask) -> None:
    """The opened profile is kept per instance for speed (issue 16); a change written by
    another process shows once the row is reloaded, and an edit here shows at once."""
    account = Account(id=uuid.uuid4(), number=next(_numbers), first_name="Ada", city="London")
    db.session.add(account)
    db.session.commit()
    assert (account.first_name, account.city) == ("Ada", "London")
    other = Account(id=account.id, number=0, first_name="Ada", city="Paris")  # not added
    with db.engine.begin() as conn:  # another worker rewrites the envelope
        conn.execute(Account.__table__.update().where(Account.id == account.id)
                     .values(profile=other._profile))
    db.session.expire(account)
    assert (account.first_name, account.city) == ("Ada", "Paris")
    account.city = "Oslo"
    assert (account.first_name, account.city) == ("Ada", "Oslo")
    account_id = account.id
    db.session.commit()
    db.session.expunge_all()
    fresh = db.session.get(Account, account_id)
    assert fresh is not None and (fresh.first_name, fresh.city) == ("Ada", "Oslo")


_MEMBERS = list(Account.profile.members)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.dictionaries(st.sampled_from(_MEMBERS), st.text(max_size=20), max_size=len(_MEMBERS)),
       order=st.randoms(use_true_random=False))
@example(values={"city": "Paris"}, order=None)
@example(values={"date_of_birth": "1990-01-01", "first_name": "Ada", "tax_id": ""}, order=None)
@example(values={"country": "FR", "phone": "a\x1fb"}, order=None)  # the JSON form
def test_p02_a_profile_shows_each_field_its_own_value_whatever_it_holds(
        app: Flask, values: dict[str, str], order: Any) -> None:
    """Each member of a row's profile reads its own value (None if the row does not set it),
    whichever members the envelope names and in whatever order it names them (issue 16: the
    opened profile is kept as a row in the members' order)."""
    names = list(values)
    if order is not None:
        order.shuffle(names)
    ordered = {name: values[name] for name in names}
    account = Account(id=uuid.uuid4(), number=next(_numbers))
    ring = current_keyring()
    with db.engine.begin() as conn:  # written as another process (or an older order) would
        conn.execute(Account.__table__.insert().values(
            id=account.id, number=account.number, status="active",
            profile=ring.seal(Account.profile.format(ordered), Account.profile.aad(account.id))))
    fresh = db.session.get(Account, account.id)
    assert fresh is not None
    assert {name: getattr(fresh, name) for name in _MEMBERS} == \
        {name: values.get(name) for name in _MEMBERS}
    assert fresh.profile == values
    db.session.expunge_all()
