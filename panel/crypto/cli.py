"""`panel keys`: the key ring from the command line."""

from __future__ import annotations

import click


@click.group("keys")
def keys_group() -> None:
    """Data keys: status, rotation, retirement and re-wrapping."""
