"""`python -m panel.instance_setup DIR`: create an instance folder with its secrets.

Runs without the app (the app refuses to start until these exist). Never overwrites: a new
master key would make the existing database unreadable.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from panel.config import new_master_key
from panel.paths import owner_only_files


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def setup(instance: Path) -> list[str]:
    """Create the folder (0700: it holds the master key, the database and delivered mail)."""
    owner_only_files()
    if not instance.exists():
        instance.mkdir(mode=0o700, parents=True)
    done = []
    key_file = instance / "master.key"
    if not key_file.exists():
        _write_private(key_file, new_master_key() + "\n")
        done.append(f"created {key_file} (mode 0600): back it up, the data is unreadable without it")
    config = instance / "panel.toml"
    if not config.exists():
        _write_private(config, f'secret_key = "{secrets.token_urlsafe(48)}"\n'
                               f'master_key_file = "{key_file.resolve()}"\n')
        done.append(f"created {config} with a new secret key")
    return done


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "instance")
    for line in setup(target) or [f"{target} is already set up"]:
        print(line)


if __name__ == "__main__":
    main()
