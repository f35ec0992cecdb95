"""P02: someone holding the database files or a dump reads no customer's contact data."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import make_url

from panel.crypto import normalise
from panel.extensions import db
from tests.core.crypto.util import add_accounts, stored_plaintexts

PG_DUMP = "/usr/lib/postgresql/15/bin/pg_dump"


def database_bytes(app: Flask) -> bytes:
    """The SQLite file with its journal files, or a pg_dump of the PostgreSQL database."""
    url = make_url(app.config["DATABASE_URL"])
    db.session.remove()
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        files = [p for p in (path, *(Path(f"{path}{s}") for s in ("-wal", "-journal", "-shm")))
                 if p.exists()]
        return b"".join(p.read_bytes() for p in files)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run([PG_DUMP, "--no-owner", dsn], capture_output=True, check=True,
                          timeout=120).stdout


def personal_strings(values: dict[tuple[str, str, str], str]) -> set[str]:
    """Each stored plaintext, and the normal forms a lookup index might have kept."""
    found = set()
    for (_table, column, _id), value in values.items():
        forms = {value, value.lower()}
        if "email" in column or "to_addr" in column:
            forms.add(normalise.email(value))
        if "phone" in column:
            forms.add(normalise.phone(value))
        found |= {f for f in forms if _telling(f)}
    return found


def _telling(text: str) -> bool:
    """Whether finding ``text`` in the bytes would mean a leak, not chance: short strings of
    base64/hex characters turn up inside ciphertexts, hashes and ids by accident."""
    if len(text) < 4:
        return False
    return len(text) >= 8 or not set(text) <= B64_CHARS


B64_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


def test_p02_database_holds_no_contact_data_in_plain_text(app: Flask, factories: Any) -> None:
    for i in range(4):
        user = factories.subscriber(
            email=f"Kundin.{i}@Straße-Beispiel.example", first_name=f"Zoë{i}vonWeißenfels",
            last_name=f"Ōkubo-山田{i}", phone=f"+49 30 901820{i:02d}",
            address1=f"{i} Königsallee", city="Düsseldorf", postcode=f"4021{i}",
            company=f"Weißenfels {i} GmbH", tax_id=f"DE12345678{i}")
        factories.domain(user.account)
        factories.invoice(user.account)
        factories.payment_method(user.account)
    add_accounts(25)
    result = app.test_cli_runner().invoke(args=["demo", "--password", "demo-password-1"])
    assert result.exit_code == 0, result.output

    values = stored_plaintexts()
    strings = personal_strings(values)
    assert any("@demo.test" in s for s in strings)  # the demo's people are in the check
    assert len(strings) > 500

    raw = database_bytes(app)
    assert b"client1-site1.example" in raw  # positive control: plain columns are visible
    # The audit trail names the staff member who acted in plain words, by design: it is the
    # evidence a customer reads on their Staff access page. Staff names only; never a customer's.
    from panel.auth.models import User

    staff_names = {u.display_name for u in db.session.execute(select(User)).scalars()
                   if u.role in ("staff", "admin")}
    leaked = sorted(s for s in strings if s.encode("utf-8") in raw and s not in staff_names)
    assert leaked == []
