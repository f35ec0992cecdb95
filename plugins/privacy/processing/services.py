"""What the privacy plugin processes, and whether a purpose is allowed for an account.

Two questions every feature asks or answers, kept in one small module that imports no feature:

- **May this account's data be used for this purpose?** ``purpose_allowed``: a restriction
  stops marketing and analytics, an objection stops the purpose it names (P08). Email,
  campaigns, partner files and the reseller's marketing all ask here.
- **What does each feature hold about a subscriber?** Each feature registers its categories
  (``register``): how it describes them, their rows for the export, its card on the My data
  page, and the feature's erasure step. The privacy center reads the registry and imports no
  feature, as the core reads plugins through ``panel_account_export`` and
  ``panel_account_erasure``; so My data, the export and erasure grow with the features
  without depending on them (P06, P09).

Features register when their ``records`` module is imported, which plugin.py does as the
plugin loads, before any request or command runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, String, bindparam, cast, func, select, tuple_

from panel.bulk import column_batches
from panel.crypto import Sealed
from panel.crypto.batch import open_column
from panel.crypto.keyring import current_holder
from panel.extensions import db
from plugins.privacy.processing.models import PURPOSES, ProcessingLimit

if TYPE_CHECKING:
    from panel.accounts.models import Account

Rows = Iterable[dict[str, Any]]
BATCH = 1000
CARD_ROWS = 20  # the most rows a card on My data lists; the export has every one


# --- purposes: restriction and objection (P08) -------------------------------------------------


def purpose_allowed(account_id: object, purpose: str) -> bool:
    """May this account's data be used for ``purpose``? Service, billing and security
    processing always may; a restricted account gets no marketing and no analytics."""
    limit = db.session.get(ProcessingLimit, account_id)
    if limit is None:
        return True
    if limit.restricted and purpose in PURPOSES:
        return False
    return purpose not in (limit.objections or [])


def limited(purpose: str) -> set[uuid.UUID]:
    """Every account whose restriction or objection stops ``purpose``, in one query: the bulk
    form of ``purpose_allowed`` for campaigns, partner files and dashboards."""
    return {account_id for account_id, restricted, objections in db.session.execute(
        select(ProcessingLimit.account_id, ProcessingLimit.restricted, ProcessingLimit.objections))
        if (restricted and purpose in PURPOSES) or purpose in (objections or [])}


def limit(account_id: uuid.UUID, *, restrict: bool = False, objection: str | None = None) -> None:
    """Record a restriction, or an objection to ``objection``, in the caller's transaction."""
    row = db.session.get(ProcessingLimit, account_id) or ProcessingLimit(
        account_id=account_id, restricted=False, objections=[])
    if restrict:
        row.restricted = True
    if objection:
        row.objections = sorted({*(row.objections or []), objection})
    db.session.merge(row)


# --- categories: what each feature holds (P06, P09) ----------------------------------------------


@dataclass(frozen=True)
class Category:
    """One category of personal data, as the subscriber is told about it and given a copy."""

    key: str
    title: str
    what: str
    why: str
    source: str
    shared_with: str
    kept_for: str
    columns: tuple[str, ...] = ()  # the CSV header; rows may add more
    order: int = 1000  # where it stands on My data and in every export
    rows: Callable[[Account], Rows] | None = field(default=None, compare=False)
    page: str | None = None  # the template of its card on My data
    summary: Callable[[Account], dict[str, Any]] | None = field(default=None, compare=False)
    count: Callable[[Account], int] | None = field(default=None, compare=False)  # large ones only

    def describe(self) -> dict[str, str]:
        """The description as it appears in every export."""
        return {"title": self.title, "what": self.what, "why": self.why, "source": self.source,
                "shared_with": self.shared_with, "kept_for": self.kept_for}


_CATEGORIES: dict[str, Category] = {}
_ERASERS: dict[str, Callable[[Account], None]] = {}


def register(feature: str, *categories: Category,
             erase: Callable[[Account], None] | None = None) -> None:
    """A feature declares what it holds and how its share of an account is erased. Registering
    the same feature again replaces what it said before."""
    for cat in categories:
        _CATEGORIES[cat.key] = cat
    if erase is not None:
        _ERASERS[feature] = erase


def categories() -> list[Category]:
    """Every registered category, in the order My data and the export show them."""
    return sorted(_CATEGORIES.values(), key=lambda c: c.order)


def describe(key: str) -> Category:
    """A category's description; one another plugin adds without a description gets a plain one."""
    return _CATEGORIES.get(key) or Category(
        key, key.replace("_", " ").capitalize(), "Data another part of the panel keeps.",
        "See our privacy policy.", "The panel.", "No one.", "See our privacy policy.")


def erase_steps() -> list[Callable[[Account], None]]:
    """Each feature's erasure step, in the order the features registered."""
    return list(_ERASERS.values())


def count(model: Any, *where: Any) -> int:
    """How many rows of ``model`` match: what a category's ``count`` and a card's totals ask."""
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def counted(model: Any) -> Callable[[Account], dict[str, Any]]:
    """A card's summary that shows how many of ``model``'s rows are the account's."""
    return lambda account: {"count": count(model, model.account_id == account.id)}


class Stream:
    """The rows `stream` reads, once: iterated, plain dicts; through ``pieces()``, each batch
    as its columns, in ``names`` order (the export's HTML and CSV writers take these and skip
    a dict per row). Nothing is read until one or the other starts."""

    def __init__(self, names: tuple[str, ...], pieces: Iterator[list[Sequence[Any]]]) -> None:
        self.names = names
        self._pieces = pieces

    def pieces(self) -> Iterator[list[Sequence[Any]]]:
        return self._pieces

    def __iter__(self) -> Iterator[dict[str, Any]]:
        names = self.names
        for columns in self._pieces:
            yield from map(dict, map(zip, repeat(names), zip(*columns, strict=True)))


def stream(model: type, fields: Iterable[str], *where: Any, order_by: Iterable[Any] = (),
           batch: int = BATCH) -> Stream:
    """Rows of ``model`` as plain dicts, read ``batch`` at a time without ORM objects: what
    a category's ``rows`` returns for the export (a `Stream`, which also gives each batch as
    columns).

    Sealed fields are opened here with the row's id (their associated data), a batch of one
    field at a time (``panel.crypto.batch``), so the export pays for decryption but not for
    building and tracking an object per row.

    The first ``batch`` rows come from one plain query: one round trip to the database, where
    a server-side cursor costs five, and most categories hold a few rows. Only when that batch
    is full are the rest read, ``batch`` at a time (`panel.bulk.column_batches`: one
    query PostgreSQL goes on sending while a batch is worked on), starting after the last row
    read: the order (columns that are never NULL, then the id) is the key, so a row deleted or
    added in between moves no other. Ordered by a column that may be NULL, every row is read
    that way.
    """
    names = tuple(fields)
    return Stream(names, _pieces(model, names, where, order_by, batch))


def _pieces(model: type, names: tuple[str, ...], where: tuple[Any, ...], order_by: Iterable[Any],
            batch: int) -> Iterator[list[Sequence[Any]]]:
    """`stream`'s batches, each as its columns in ``names`` order."""
    table = model.__table__  # type: ignore[attr-defined]
    sealed = [(names.index(n), model.__dict__[n]) for n in names
              if isinstance(model.__dict__.get(n), Sealed)]
    keys = [getattr(c, "expression", c) for c in order_by]  # the column of an attribute
    unique = "id" in table.c  # the id makes the order a key
    if unique and "id" not in [getattr(c, "name", None) for c in keys]:
        keys.append(table.c.id)
    keyed = unique and all(isinstance(c, Column) and not c.nullable for c in keys)
    extra = [c for c in keys if isinstance(c, Column) and c.name not in names]  # read only
    # The id only read for the sealed fields' associated data comes as text (no UUID per row).
    id_text = unique and "id" not in names and bool(sealed)
    at = [*names, *(c.name for c in extra)]
    at_id = at.index("id") if unique else -1
    stmt = select(*(table.c[n] for n in names),
                  *(cast(c, String).label("id") if id_text and c is table.c.id else c
                    for c in extra)).where(*where).order_by(*keys)
    holder = current_holder() if sealed else None
    n = len(names)
    conn = db.session.connection()
    native = conn.dialect.name == "postgresql"
    if keyed:
        first = conn.execute(stmt.limit(batch)).all()
        rest = stmt.where(_after(keys, [_key(first[-1][at.index(c.name)], c, id_text)
                                        for c in keys])) if len(first) == batch else None
    else:
        first, rest = [], stmt
    for columns in chain((list(zip(*first, strict=True)),),
                         column_batches(conn, rest, batch) if rest is not None else ()):
        if not columns:
            continue
        if sealed:
            ids = columns[at_id]
            if id_text:  # PostgreSQL's text of a uuid is already str(uuid.UUID(...))'s
                texts = list(ids) if native else [_uuid_text(t) for t in ids]
                ids = _Ids(texts)
            else:
                texts = [str(r) for r in ids]
            for i, desc in sealed:
                columns[i] = open_column(desc, columns[i], ids, texts, holder)
        yield columns[:n]


class _Ids:
    """Row ids read as text, a UUID again only where one is needed (an error naming its row)."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, i: int) -> uuid.UUID:
        return uuid.UUID(self.texts[i])


def _uuid_text(text: str) -> str:
    """``str(uuid.UUID(text))`` for an id read as text where the database stores it otherwise
    (SQLite: the 32 hex digits)."""
    if len(text) == 32:
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}".lower()
    return text if len(text) == 36 and text.islower() else str(uuid.UUID(text))


def _key(value: Any, column: Any, id_text: bool) -> Any:
    """A row's value of an order column, as the next batch's query binds it."""
    return uuid.UUID(value) if id_text and column.name == "id" and type(value) is str else value


def _after(keys: list[Any], values: list[Any]) -> Any:
    """The rows after the one with ``values`` in the order of ``keys`` (never NULL, the last
    one unique)."""
    return tuple_(*keys) > tuple_(*(bindparam(None, v, type_=c.type)
                                     for c, v in zip(keys, values, strict=True)))


# --- the Privacy hub: each feature's state at a glance ---------------------------------------------


@dataclass(frozen=True)
class Glance:
    """A feature's part of the Privacy hub (/client/privacy/): its state for one account in a
    few lines (``page``, a template given ``data``), linking to the feature's own page. Features
    register these as they register categories, so the hub imports no feature."""

    key: str
    title: str
    endpoint: str  # the feature's full page
    page: str
    summary: Callable[[Account], dict[str, Any]] = field(compare=False)
    order: int = 1000


_GLANCES: dict[str, Glance] = {}


def register_glance(*glances: Glance) -> None:
    """Add (or replace, by key) a feature's part of the Privacy hub."""
    for glance in glances:
        _GLANCES[glance.key] = glance


def glances() -> list[Glance]:
    """Every registered part of the Privacy hub, in order."""
    return sorted(_GLANCES.values(), key=lambda g: g.order)
