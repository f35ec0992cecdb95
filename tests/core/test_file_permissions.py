"""What the panel writes in its instance folder is its owner's only: the folder 0700, the
SQLite database with the -wal/-shm files SQLite creates itself, and delivered mail 0600."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import TEST_PLUGINS

# A fresh process with the usual umask (022), as a shell would start `make run` or gunicorn.
SCRIPT = textwrap.dedent("""
    import json, os, stat, sys
    from pathlib import Path
    os.umask(0o022)
    from panel.instance_setup import setup
    instance = Path(sys.argv[1])
    setup(instance)
    from panel import migrate
    from panel.app import create_app
    from panel.crypto.keyring import initialise
    from panel.extensions import db
    from panel.mail.outbox import deliver_due, queue
    app = create_app({"INSTANCE_PATH": str(instance), "PLUGINS": sys.argv[2]})
    with app.app_context():
        migrate.upgrade(app)
        initialise(db.engine, app.extensions["panel.keyring"].master)
        queue(to="ada@example.com", subject="Your invoice", body="Amount due: 10 EUR")
        db.session.commit()
        summary = deliver_due()
        modes = {str(p.relative_to(instance.parent)): stat.S_IMODE(p.stat().st_mode)
                 for p in [instance, *instance.rglob("*")]}  # while the WAL is open
    print(json.dumps({"summary": summary, "modes": modes}))
""")


def test_instance_database_wal_and_delivered_mail_are_owner_only(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PANEL_")}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "instance"),
                           TEST_PLUGINS], env=env, capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["summary"].startswith("sent 1,"), result
    modes = result["modes"]
    for name in ("instance/panel.db", "instance/panel.db-wal", "instance/panel.db-shm",
                 "instance/master.key", "instance/panel.toml"):
        assert modes.get(name) == 0o600, (name, oct(modes.get(name, 0)))
    delivered = [n for n in modes if n.startswith("instance/mail/new/")]
    assert len(delivered) == 1
    for name, mode in modes.items():
        if name in ("instance", "instance/mail") or name.endswith(("/new", "/cur", "/tmp")):
            assert mode == 0o700, (name, oct(mode))
        else:
            assert mode == 0o600, (name, oct(mode))  # every file, whoever created it
