"""Where the panel's theme (``templates/``) and its core migrations (``migrations/``) are.

In a checkout they are top-level folders beside the package. A wheel carries them inside the
package as ``panel/_templates`` and ``panel/_migrations`` (setup.py maps them), because an
installed program has no checkout around it.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _shipped(name: str, marker: str) -> Path:
    installed = PACKAGE / f"_{name}"
    return installed if (installed / marker).exists() else PACKAGE.parent / name


TEMPLATES = _shipped("templates", "base.html")
MIGRATIONS = _shipped("migrations", "env.py")
