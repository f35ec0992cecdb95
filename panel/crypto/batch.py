"""Sealed fields opened a batch of rows at a time (the export, and any reader of many rows).

One sealed field over many rows: each value bound to ``table|column|row id`` as the field's
getter binds it, opened by ``envelope.open_many`` (one lookup of the key ring and of each key
id per batch, not per value). A value that does not open there goes through the field's own
one-at-a-time path, so the key ring is reloaded when another process rotated, and a value that
still does not open raises the same SealedValueError, naming its row.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from operator import add

from panel.crypto.envelope import open_many
from panel.crypto.fields import Sealed
from panel.crypto.keyring import KeyringHolder, current_holder


def open_column(field: Sealed, stored: Sequence[str | None], row_ids: Sequence[object],
                row_texts: Sequence[str] | None = None,
                holder: KeyringHolder | None = None) -> list[str | None]:
    """The plain values of ``field`` for rows whose stored envelopes are ``stored`` (None where
    unset) and ids ``row_ids``. ``row_texts``, when the caller has them, are ``str(row_id)``
    of each row (the form the associated data binds), saving a UUID per row."""
    holder = holder or current_holder()
    texts = row_texts if row_texts is not None else [str(r) for r in row_ids]
    prefix = field.aad("")  # table|column|
    keys = holder.get().data_keys  # type: ignore[misc]
    if None not in stored:  # every row has a value: the lists built in one pass each, in C
        opened = open_many(keys, stored, list(map(str.encode, map(add, repeat(prefix), texts))))
        if None not in opened:
            return opened  # type: ignore[return-value]
        at: Sequence[int] = range(len(stored))
    else:
        at = [i for i, s in enumerate(stored) if s is not None]
        opened = open_many(keys, [stored[i] for i in at],  # type: ignore[arg-type]
                           [(prefix + texts[i]).encode() for i in at])
    out: list[str | None] = [None] * len(stored)
    for i, value in zip(at, opened, strict=True):
        # one that did not open goes the field's own way: reloads the ring once, or raises
        out[i] = value if value is not None else field._open(
            stored[i], row_ids[i], prefix + texts[i], holder)  # type: ignore[arg-type]
    return out
