"""Errors that name where a problem is, never what the data was."""

from __future__ import annotations


class KeyringError(RuntimeError):
    """The key ring cannot be opened or used (wrong master key, no primary key...)."""


class SealedValueError(ValueError):
    """A stored value does not decrypt: corrupted, truncated, copied, or of an unknown key."""

    def __init__(self, table: str, column: str, row_id: object, reason: str) -> None:
        self.table, self.column, self.row_id, self.reason = table, column, row_id, reason
        super().__init__(f"{table}.{column} of row {row_id}: {reason}")
