"""Sealed (encrypted, row-bound) fields, the key ring and blind indexes.

Used by the core models and by plugins; nothing here knows about any one table.
"""

from panel.crypto import normalise
from panel.crypto.errors import KeyringError, SealedValueError
from panel.crypto.fields import Sealed, SealedGroup, sealed_column
from panel.crypto.keyring import Keyring, current_keyring

__all__ = ["Keyring", "KeyringError", "Sealed", "SealedGroup", "SealedValueError", "current_keyring",
           "normalise", "sealed_column"]
