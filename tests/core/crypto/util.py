"""Helpers for the P02 tests: bulk sealed data, and every stored plaintext read back."""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select

from panel.accounts.models import Account
from panel.crypto import Sealed, SealedGroup
from panel.extensions import db
from panel.keys.rotation import sealed_tables

_numbers = itertools.count(500_000)

# Contact data with the shapes real customers have: accents, non-Latin scripts, IDN domains.
FIRST = ["Zoë", "José", "Ngozi", "Hiroshi", "Ананья", "Søren", "Fatima", "Mateo"]
LAST = ["Müller", "García", "山田", "Okafor", "Ivanova", "Ó Briain", "Haddad", "Nilsson"]


def add_accounts(count: int, *, tag: str = "") -> list[uuid.UUID]:
    """Create ``count`` accounts with every sealed contact field set, distinct per row."""
    ids = []
    for i in range(count):
        n = next(_numbers)
        account = Account(
            id=uuid.uuid4(), number=n, first_name=f"{FIRST[i % 8]}{tag}{n}",
            last_name=f"{LAST[i % 8]}-{n}", company=f"Firma {n} GmbH", phone=f"+44207946{n % 10_000:04d}",
            address1=f"{n} Rue de la Paix", address2=f"Appartement {n}", city=f"Ville{n}",
            state=f"Région {n}", postcode=f"PC{n}", country="FR", tax_id=f"FR{n:011d}",
            date_of_birth=f"19{n % 100:02d}-01-{1 + n % 28:02d}")
        db.session.add(account)
        ids.append(account.id)
    db.session.commit()
    return ids


def stored_plaintexts() -> dict[tuple[str, str, str], str]:
    """(table, field, row id) -> plaintext for every stored sealed field, through the ORM
    (a group's members one by one, whether regrouped or not).

    Objects are expunged first so every value is decrypted from what the database holds.
    """
    db.session.expunge_all()
    by_owner: dict[type, list[Sealed]] = defaultdict(list)
    seen = set()
    for sealed in Sealed.registry:
        if isinstance(sealed, SealedGroup):
            continue
        if (sealed.table, sealed.column) not in seen:
            seen.add((sealed.table, sealed.column))
            by_owner[sealed.owner].append(sealed)
    values: dict[tuple[str, str, str], str] = {}
    for owner, fields in by_owner.items():
        for obj in db.session.execute(select(owner)).scalars():
            for sealed in fields:
                value = getattr(obj, sealed.name)
                if value is not None:
                    values[(sealed.table, sealed.column, str(obj.id))] = value
    db.session.expunge_all()
    return values


def raw_sealed_rows() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table with sealed columns, exactly as stored (for byte comparisons)."""
    out = {}
    with db.engine.connect() as conn:
        for name, columns in sealed_tables().items():
            table = columns[0].table
            out[name] = [tuple(r) for r in conn.execute(select(table).order_by(table.c.id))]
    return out


def envelope_count() -> int:
    """How many sealed envelopes are stored (a group's is one for all its fields)."""
    total = 0
    with db.engine.connect() as conn:
        for columns in sealed_tables().values():
            total += sum(conn.execute(select(*(func.count(sc.column) for sc in columns))
                                      .select_from(columns[0].table)).one())
    return total
