"""P02: sealed values opened a batch at a time (panel.crypto.batch, the export's way) keep every
promise of the one-at-a-time getter: bound to their row, damage is an error naming the row,
and a key another process added is found."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from panel.auth.models import User
from panel.crypto import SealedValueError, keyring
from panel.crypto.batch import open_column
from panel.crypto.envelope import open_many
from panel.crypto.keyring import Keyring, current_holder
from panel.extensions import db
from tests.core.crypto.test_p02_integrity import _variants


def _staff(factories: Any, count: int) -> list[Any]:
    ids = [factories.staff(name=f"Agent Nummer{n}").id for n in range(count)]
    db.session.expunge_all()
    return ids


def _column(ids: list[Any]) -> list[str | None]:
    stored = dict(db.session.execute(select(User.id, User._display_name).where(User.id.in_(ids))).all())
    return [stored[i] for i in ids]


def _put(user_id: Any, value: str | None) -> None:
    table = User.__table__
    db.session.execute(update(table).where(table.c.id == user_id).values(display_name=value))
    db.session.commit()


def test_p02_a_batch_opens_each_value_in_its_own_row(app: Flask, factories: Any) -> None:
    ids = _staff(factories, 4)
    _put(ids[2], None)
    assert open_column(User.display_name, _column(ids), ids) == [
        "Agent Nummer0", "Agent Nummer1", None, "Agent Nummer3"]
    texts = [str(i) for i in ids]  # the ids as text, as the export reads them
    assert open_column(User.display_name, _column(ids), ids, texts)[3] == "Agent Nummer3"


def test_p02_a_value_copied_to_another_row_of_the_batch_is_refused(app: Flask, factories: Any) -> None:
    ids = _staff(factories, 3)
    _put(ids[1], _column(ids)[0])  # row 0's name, copied into row 1
    with pytest.raises(SealedValueError) as caught:
        open_column(User.display_name, _column(ids), ids)
    err = caught.value
    assert (err.table, err.column, err.row_id) == ("user", "display_name", ids[1])
    assert "Nummer0" not in str(err)


@pytest.mark.parametrize("damage", ["unknown key id", "truncated", "tag cut off",
                                    "one bit flipped", "not base64", "not an envelope", "empty"])
def test_p02_damage_in_a_batch_raises_the_error_naming_its_row(
        app: Flask, factories: Any, damage: str) -> None:
    ids = _staff(factories, 3)
    stored = _column(ids)
    damaged = _variants(stored[2])[damage]
    keys = current_holder().get().data_keys
    aads = [f"user|display_name|{i}".encode() for i in ids]
    assert open_many(keys, [*stored[:2], damaged], aads) == ["Agent Nummer0", "Agent Nummer1", None]
    with pytest.raises(SealedValueError) as caught:
        open_column(User.display_name, [*stored[:2], damaged], ids)
    assert (caught.value.column, caught.value.row_id) == ("display_name", ids[2])
    assert "Nummer" not in caught.value.reason


def test_p02_a_batch_finds_a_key_another_process_made_primary(app: Flask, factories: Any) -> None:
    ids = _staff(factories, 2)
    current_holder().get()  # this process has the ring loaded, without the next key
    master = app.extensions["panel.keyring"].master
    keyring.add_primary_data_key(db.engine, master)  # another process rotates
    other = Keyring.load(db.engine, master)
    _put(ids[1], other.seal("Neuer Name", User.display_name.aad(ids[1])))
    assert other.primary_kid not in current_holder().get().data_keys
    assert open_column(User.display_name, _column(ids), ids) == ["Agent Nummer0", "Neuer Name"]
