"""Where the panel's theme (``templates/``) and its core migrations (``migrations/``) are, and
how private the files it writes are.

In a checkout they are top-level folders beside the package. A wheel carries them inside the
package as ``panel/_templates`` and ``panel/_migrations`` (setup.py maps them), because an
installed program has no checkout around it.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _shipped(name: str, marker: str) -> Path:
    installed = PACKAGE / f"_{name}"
    return installed if (installed / marker).exists() else PACKAGE.parent / name


TEMPLATES = _shipped("templates", "base.html")
MIGRATIONS = _shipped("migrations", "env.py")


#: Permission bits no file or folder the panel creates may give to anyone but its owner.
PRIVATE_UMASK = 0o077


def owner_only_files() -> None:
    """Make every file and folder this process creates from now on owner-only (0600 / 0700).

    A process-wide umask, not a chmod after each creation, because much of what lands in the
    instance folder is created by libraries when they choose: SQLite opens its ``-wal`` and
    ``-shm`` files at the first write (giving them the database file's mode), ``mailbox``
    writes each delivered message, and exports and checkpoints come later still. A chmod would
    miss some and leave each readable for a moment; the umask covers all from the start.
    Bits an operator's stricter umask already clears stay cleared.
    """
    os.umask(os.umask(PRIVATE_UMASK) | PRIVATE_UMASK)
