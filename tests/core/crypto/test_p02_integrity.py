"""P02: a stored value only opens in its own row and column; damage is an error, never data."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from panel.accounts.models import Account
from panel.auth.models import User
from panel.crypto import SealedValueError, keyring
from panel.crypto.envelope import b64d, b64e
from panel.extensions import db
from tests.conftest import login


def _stored(account_id: Any, column: Any) -> str:
    return db.session.execute(select(column).where(Account.id == account_id)).scalar_one()


def _put(account_id: Any, column: Any, value: str) -> None:
    db.session.execute(update(Account).where(Account.id == account_id).values({column: value}))
    db.session.commit()
    db.session.expunge_all()


def _reread(account_id: Any, field: str) -> Any:
    db.session.expunge_all()
    account = db.session.get(Account, account_id)
    return getattr(account, field)


def test_p02_value_copied_to_another_customer_shows_integrity_error_not_their_data(
        app: Flask, client: Any, factories: Any) -> None:
    alice = factories.subscriber(first_name="Alicia", last_name="Secretson").account_id
    bob_user = factories.subscriber(first_name="Bartholomew")
    bob, bob_email = bob_user.account_id, bob_user.email
    _put(bob, Account._profile, _stored(alice, Account._profile))

    with pytest.raises(SealedValueError) as caught:
        _reread(bob, "first_name")
    assert (caught.value.table, caught.value.column) == ("account", "profile")
    assert "Alicia" not in str(caught.value)

    assert login(client, bob_email).status_code == 302
    page = client.get("/client/")
    body = page.get_data(as_text=True)
    assert page.status_code == 500
    assert "integrity check" in body
    assert "Alicia" not in body and "Secretson" not in body
    assert _reread(alice, "first_name") == "Alicia"  # the original is unharmed


def test_p02_value_copied_to_another_column_of_the_same_row_is_refused(
        app: Flask, factories: Any) -> None:
    """The profile envelope and the per-field columns it replaced (still read for rows not
    regrouped) are bound to their own column: neither opens in the other."""
    account = factories.subscriber(first_name="Genevieve", last_name="Fairweather").account_id
    profile = _stored(account, Account._profile)
    per_field = keyring.current_keyring().seal("Fairweather", Account.last_name.aad(account))
    _put(account, Account._profile, per_field)
    with pytest.raises(SealedValueError, match=r"account\.profile") as caught:
        _reread(account, "first_name")
    assert "Fairweather" not in str(caught.value)

    db.session.execute(update(Account).where(Account.id == account).values(
        {Account._profile: None, Account._first_name: profile, Account._last_name: per_field}))
    db.session.commit()
    with pytest.raises(SealedValueError, match=r"account\.first_name") as caught:
        _reread(account, "first_name")
    assert "Genevieve" not in str(caught.value)
    _put(account, Account._first_name, None)
    assert _reread(account, "last_name") == "Fairweather"  # in its own column, it opens


def _variants(stored: str) -> dict[str, str]:
    version, kid, body = stored.split(":", 2)
    blob = bytearray(b64d(body))
    blob[len(blob) // 2] ^= 0x01
    return {
        "unknown key id": f"{version}:dnosuchkey01:{body}",
        "truncated": stored[: len(version) + len(kid) + 2 + 20],
        "tag cut off": f"{version}:{kid}:{b64e(b64d(body)[:-4])}",
        "one bit flipped": f"{version}:{kid}:{b64e(bytes(blob))}",
        "not base64": f"{version}:{kid}:{body[:10]}!!{body[12:]}",
        "not an envelope": "Maximilian",
        "empty": "",
    }


@pytest.mark.parametrize("damage", ["unknown key id", "truncated", "tag cut off",
                                    "one bit flipped", "not base64", "not an envelope", "empty"])
def test_p02_damaged_value_raises_error_naming_table_and_column_only(
        app: Flask, factories: Any, damage: str) -> None:
    user = factories.subscriber(first_name="Maximilian")
    account, user_id = user.account_id, user.id
    stored = _stored(account, Account._profile)
    _put(account, Account._profile, _variants(stored)[damage])
    for field in ("first_name", "city"):  # every field of the group: none is guessed
        with pytest.raises(SealedValueError) as caught:
            _reread(account, field)
        err = caught.value
        assert (err.table, err.column, str(err.row_id)) == ("account", "profile", str(account))
        assert str(err).startswith(f"account.profile of row {account}: ")
        assert "Maximilian" not in err.reason
    db.session.expunge_all()
    assert db.session.get(User, user_id).email  # other sealed values still open
