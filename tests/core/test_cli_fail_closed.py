"""P02: every command that needs the key ring refuses to start with a wrong master key, and
changes nothing, as `panel cron` does.

The test walks every command the panel adds (core and plugins). Each must be listed below:
either with the arguments to start it with, or as not needing the key ring, with why. A new
command nobody listed fails the test. `panel mail send` used to start anyway and spend each
due message's attempts on decryption errors until they failed for good.
"""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import click
from flask import Flask
from sqlalchemy import inspect, text

from panel.config import new_master_key
from panel.extensions import db
from panel.mail.models import FAILED
from panel.mail.outbox import queue
from panel.ready import NotReady

# Command path -> its arguments ({dir} is a folder prepared below). Each needs the key ring.
NEEDS_KEYS: dict[str, list[str]] = {
    "cron": [],
    "demo": [],
    "user create": ["--role", "staff", "--email", "new.staff@example.com"],
    "user suspend": ["--email", "victim@example.com"],
    "user reset": ["--email", "victim@example.com"],
    "keys status": [],
    "keys rotate": ["--settle-seconds", "0"],
    "keys regroup": [],
    "keys retire": ["d-00000000"],
    "keys rewrap": ["--new-master-key-file", "{dir}/new.key"],
    "mail send": [],
    "mail retry": ["--all-failed"],
    "mail inbound": ["{dir}/inbound"],
    "audit verify": ["--checkpoint", "{dir}/checkpoints.jsonl"],
    "audit checkpoint": ["--file", "{dir}/checkpoints.jsonl"],
    "whois serve": ["--port", "4343"],
    "logs import": ["{dir}/access.log", "--domain", "victim.test"],
    "retention report": [],
    "retention run": [],
}
NO_KEYS = {
    "db upgrade": "creates the key ring on a new database; opens no sealed value",
    "db current": "reads Alembic's revision table only",
    "db downgrade": "schema only",
}


def commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    """Every leaf command under ``group``, by its path (``"mail send"``)."""
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found.update(commands(command, f"{path} "))
        else:
            found[path] = command
    return found


def snapshot(app: Flask, *folders: Path) -> tuple[dict[str, list[str]], dict[str, bytes]]:
    """Every row of every table, and every file under ``folders`` (names carry Maildir flags;
    the instance's mail/ folder is where `panel mail send` delivers)."""
    with app.app_context():
        rows = {table: sorted(repr(tuple(r)) for r in db.session.execute(
                    text(f'SELECT * FROM "{table}"')))
                for table in inspect(db.engine).get_table_names()}
        db.session.remove()
    files = {str(p): p.read_bytes()
             for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}
    return rows, files


def _prepare(app: Flask, factories: Any, folder: Path) -> None:
    victim = factories.subscriber(email="victim@example.com")
    factories.domain(victim.account, "victim.test")
    queue(to="victim@example.com", subject="Due now", body="Amount due: 10 EUR")
    failed = queue(to="victim@example.com", subject="Failed", body="Amount due: 10 EUR")
    failed.status = FAILED
    db.session.commit()
    (folder / "new.key").write_text(new_master_key())
    (folder / "new.key").chmod(0o600)
    (folder / "checkpoints.jsonl").write_text("")
    (folder / "access.log").write_text(
        '203.0.113.9 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" "curl"\n')
    note = EmailMessage()
    note["From"], note["To"], note["Subject"] = "victim@example.com", "panel@x.test", "unsubscribe"
    note["Message-ID"] = "<unsub-1@example.com>"
    note.set_content("unsubscribe")
    mailbox.Maildir(folder / "inbound", create=True).add(note)


def test_p02_every_command_is_listed_as_needing_the_key_ring_or_not(app: Flask) -> None:
    unlisted = sorted(set(commands(app.cli)) - set(NEEDS_KEYS) - set(NO_KEYS))
    assert not unlisted, ("list these commands in tests/core/test_cli_fail_closed.py "
                          f"(NEEDS_KEYS with arguments, or NO_KEYS with why): {unlisted}")


def test_p02_every_command_that_needs_the_key_ring_refuses_a_wrong_master_key(
        app: Flask, factories: Any, make_app: Any, tmp_path: Path) -> None:
    folder = tmp_path / "cli"
    folder.mkdir()
    _prepare(app, factories, folder)
    db.session.remove()
    wrong = make_app(MASTER_KEY=new_master_key())
    present = commands(wrong.cli)
    assert {"cron", "mail send", "mail retry", "mail inbound"} <= set(present)
    before = snapshot(app, folder, tmp_path / "instance")

    refused = []
    for path in sorted(set(present) & set(NEEDS_KEYS)):
        args = [a.format(dir=folder) for a in NEEDS_KEYS[path]]
        with wrong.app_context():  # else the commands would run in the test's own app
            result = wrong.test_cli_runner().invoke(args=[*path.split(), *args],
                                                    input="a long enough password\n")
        if not (isinstance(result.exception, NotReady) and "master key" in str(result.exception)):
            refused.append(f"panel {path}: exit {result.exit_code}, {result.exception!r}, "
                           f"output {result.output[:200]!r}")
        after = snapshot(app, folder, tmp_path / "instance")
        if after != before:
            tables = [t for t in before[0] if before[0][t] != after[0].get(t)]
            files = sorted(set(before[1].items()) ^ set(after[1].items()))
            refused.append(f"panel {path} changed tables {tables} files "
                           f"{[name for name, _ in files]}")
            before = after
    assert not refused, "\n".join(refused)
