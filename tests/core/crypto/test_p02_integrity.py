"""P02: a stored value only opens in its own row and column; damage is an error, never data."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from panel.accounts.models import Account
from panel.crypto import SealedValueError
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
    _put(bob, Account._first_name, _stored(alice, Account._first_name))

    with pytest.raises(SealedValueError) as caught:
        _reread(bob, "first_name")
    assert (caught.value.table, caught.value.column) == ("account", "first_name")
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
    account = factories.subscriber(first_name="Genevieve", last_name="Fairweather").account_id
    _put(account, Account._first_name, _stored(account, Account._last_name))
    with pytest.raises(SealedValueError, match=r"account\.first_name") as caught:
        _reread(account, "first_name")
    assert "Fairweather" not in str(caught.value)
    assert _reread(account, "last_name") == "Fairweather"


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
    account = factories.subscriber(first_name="Maximilian").account_id
    stored = _stored(account, Account._first_name)
    _put(account, Account._first_name, _variants(stored)[damage])
    with pytest.raises(SealedValueError) as caught:
        _reread(account, "first_name")
    err = caught.value
    assert (err.table, err.column, str(err.row_id)) == ("account", "first_name", str(account))
    assert str(err).startswith(f"account.first_name of row {account}: ")
    assert "Maximilian" not in err.reason
    assert _reread(account, "last_name")  # the row's other fields still open
