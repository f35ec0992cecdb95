"""Issue 3 (encrypted storage): sealed fields against sqlalchemy-utils and against plain text.

Four figures, each a ratio of two things measured side by side in this run:

1. one field sealed and opened through our descriptor vs sqlalchemy-utils'
   ``StringEncryptedType(String, key, AesGcmEngine)`` (what a user would otherwise pick);
2. 10,000 subscribers loaded through the ORM with every sealed field read vs the same rows
   in a plain, unencrypted table and model;
3. finding a user by email among 100,000 through the blind index vs a plain indexed column;
4. rotation (subscribers re-encrypted per second) vs the same batched, guarded UPDATE of the
   plain rows without any cryptography; a row is the unit, whatever envelopes it holds.

Run with ``python -m bench --only crypto [--quick]``.
"""

from __future__ import annotations

import random
import secrets
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    String,
    Table,
    Uuid,
    bindparam,
    create_engine,
    select,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bench.common import (
    SQLITE,
    Figure,
    call,
    current_backend,
    current_run,
    fmt_time,
    paired,
    paired_figure,
    scratch_panel,
    timed,
)
from panel.accounts.models import CONTACT_FIELDS, Account
from panel.auth.models import User
from panel.crypto import normalise
from panel.crypto.keyring import current_holder
from panel.db_types import utcnow
from panel.extensions import db
from panel.keys import rotation

# The sealed fields of a subscriber's account: its contact fields and date of birth.
SEALED_ACCOUNT_FIELDS = (*CONTACT_FIELDS, "date_of_birth")


class PlainBase(DeclarativeBase):
    """The unencrypted comparisons live in their own metadata, apart from the panel's."""


def plain_copy(model: type, *, drop: tuple[str, ...], unique: tuple[str, ...] = (),
               index: tuple[str, ...] = ()) -> type:
    """A model for ``model``'s table as it would be without sealing: every column kept (the
    sealed ones hold plain text), blind-index columns dropped, the plain value indexed
    instead. Built from the live table so it keeps up with schema changes."""
    source: Table = model.__table__  # type: ignore[attr-defined]
    columns = [Column(c.name, c.type, primary_key=c.primary_key, unique=c.name in unique,
                      index=c.name in index, nullable=c.nullable)
               for c in source.c if c.name not in drop]
    table = Table(f"bench_plain_{source.name}", PlainBase.metadata, *columns)
    return type(f"Plain{model.__name__}", (PlainBase,), {"__table__": table})


PlainAccount = plain_copy(Account, drop=("phone_bidx", "profile"), index=("phone",))
PlainUser = plain_copy(User, drop=("email_bidx",), unique=("email",))


def _contact(i: int) -> dict[str, str]:
    """Realistic contact data: varied lengths, accents, some non-Latin script."""
    first = ["Ada", "José", "Zoë", "Ngozi", "Hiroshi", "Fatima", "Лариса", "Priya"][i % 8]
    last = ["Lovelace", "García", "Müller", "Okafor", "山田", "Haddad", "Nilsson", "O'Brien"][i % 8]
    return {"first_name": first, "last_name": f"{last}-{i}", "company": f"{last} Trading {i} Ltd",
            "phone": f"+44 20 7946 {i % 10_000:04d}", "address1": f"{i} High Street",
            "address2": f"Flat {i % 40}", "city": "London", "state": "Greater London",
            "postcode": f"SW{i % 20} {i % 9}AA", "country": "GB", "tax_id": f"GB{i:09d}",
            "date_of_birth": f"19{50 + i % 50}-{1 + i % 12:02d}-{1 + i % 28:02d}"}


# ------------------------------------------------------------------ 1. per-field cost


def field_cost(quick: bool) -> Figure:
    from sqlalchemy_utils import StringEncryptedType
    from sqlalchemy_utils.types.encrypted.encrypted_type import AesGcmEngine

    key = secrets.token_bytes(32)

    class UtilsBase(DeclarativeBase):
        pass

    class UtilsAccount(UtilsBase):
        __tablename__ = "bench_utils_account"
        id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
        first_name: Mapped[str | None] = mapped_column(StringEncryptedType(String, key,
                                                                           AesGcmEngine))

    n = 5_000 if quick else 20_000
    values = [f"{_contact(i)['first_name']} {_contact(i)['last_name']}" for i in range(n)]
    with scratch_panel():
        dialect = db.engine.dialect
        utils_type = UtilsAccount.__table__.c.first_name.type
        ours_objs = [Account(id=uuid.uuid4()) for _ in range(n)]
        theirs_objs = [UtilsAccount(id=uuid.uuid4()) for _ in range(n)]

        def ours() -> None:
            for obj, value in zip(ours_objs, values, strict=True):
                obj.first_name = value  # sealed here, bound to table|column|row id
                obj.__dict__.pop(Account.profile.cache_key, None)  # as if loaded fresh
                assert obj.first_name == value

        def theirs() -> None:
            for obj, value in zip(theirs_objs, values, strict=True):
                obj.first_name = value  # sealed at flush time by the TypeDecorator
                stored = utils_type.process_bind_param(obj.first_name, dialect)
                assert utils_type.process_result_value(stored, dialect) == value

        result = paired(ours, theirs)
        t_ours, t_theirs = result.median(0), result.median(1)
    return paired_figure(
        "per-field seal+open vs sqlalchemy-utils AesGcmEngine", result,
        at_most=1.0, detail=f"{fmt_time(t_ours / n)} vs {fmt_time(t_theirs / n)} per field; "
                            "in memory, so measured in the SQLite column only")


# ------------------------------------------------------------------ 2. load, 4. rotate


def _plain_rewrite(engine: Engine, table: Table, columns: list[str], batch_size: int) -> int:
    """The rotation loop without cryptography: batched SELECT, guarded executemany UPDATE,
    a transaction per batch. Returns the number of fields rewritten."""
    cols = [table.c[c] for c in columns]
    last: Any = None
    done = 0
    while True:
        query = select(table.c.id, *cols).order_by(table.c.id).limit(batch_size)
        if last is not None:
            query = query.where(table.c.id > last)
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return done
        last = rows[-1][0]
        params = []
        for row in rows:
            p: dict[str, Any] = {"_id": row[0]}
            for i, value in enumerate(row[1:]):
                p[f"_old{i}"], p[f"_new{i}"] = value, value[::-1]
            params.append(p)
        stmt = (update(table).where(table.c.id == bindparam("_id"),
                                    *(c == bindparam(f"_old{i}") for i, c in enumerate(cols)))
                .values({c.name: bindparam(f"_new{i}") for i, c in enumerate(cols)}))
        with engine.begin() as conn:
            conn.execute(stmt, params)
        done += len(rows) * len(cols)


def _plain_rows(model: type, plain: type, plaintexts: dict[Any, dict[str, str]]) -> list[dict]:
    """The rows of ``model`` as stored, with each sealed value replaced by its plaintext, ready
    for ``plain``'s table (same ids, so both sides hold exactly the same data)."""
    names = [c.name for c in plain.__table__.c]  # type: ignore[attr-defined]
    with db.engine.connect() as conn:
        raw = conn.execute(select(model.__table__)).mappings().all()  # type: ignore[attr-defined]
    return [{**{k: row[k] for k in names}, **plaintexts[row["id"]]} for row in raw]


def seed_accounts(n: int) -> None:
    """``n`` subscribers with every sealed field set, and the same rows in the plain table
    (in the app context's database)."""
    PlainBase.metadata.create_all(db.engine, tables=[PlainAccount.__table__])
    plaintexts = {}
    for i in range(n):
        contact = _contact(i)
        account = Account(id=uuid.uuid4(), number=10_000 + i, status="active", **contact)
        db.session.add(account)
        plaintexts[account.id] = contact
    db.session.commit()
    db.session.close()
    with db.engine.begin() as conn:
        conn.execute(PlainAccount.__table__.insert(),
                     _plain_rows(Account, PlainAccount, plaintexts))


def load_figures(n: int, repeat: int) -> list[Figure]:
    """Loading the ``n`` seeded subscribers through the ORM, sealed against plain: every
    sealed field read (target), and the two a list shows (context). Needs ``seed_accounts``."""

    def load(model: type, fields: tuple[str, ...]) -> Callable[[], None]:
        def run() -> None:
            rows = db.session.execute(select(model)).scalars().all()
            assert len(rows) == n
            for row in rows:
                for name in fields:
                    getattr(row, name)
            db.session.close()
        return run

    loads = paired(load(Account, SEALED_ACCOUNT_FIELDS),
                   load(PlainAccount, SEALED_ACCOUNT_FIELDS), repeats=repeat)
    t_ours, t_plain = loads.median(0), loads.median(1)
    figures = [paired_figure(
        f"load {n:,} subscribers, all {len(SEALED_ACCOUNT_FIELDS)} sealed fields read",
        loads, at_most=1.5,
        detail=f"{fmt_time(t_ours)} vs {fmt_time(t_plain)} unencrypted")]
    listing = ("first_name", "last_name")
    lists = paired(load(Account, listing), load(PlainAccount, listing), repeats=repeat)
    l_ours, l_plain = lists.median(0), lists.median(1)
    figures.append(paired_figure(
        f"load {n:,} subscribers, the 2 fields a customer list shows", lists,
        detail=f"{fmt_time(l_ours)} vs {fmt_time(l_plain)}; for context, no target"))
    return figures


def subscriber_loads(quick: bool, **config: Any) -> list[Figure]:
    """The two load figures on a scratch panel of this column's database."""
    n = 2_000 if quick else 10_000
    with scratch_panel(**config):
        seed_accounts(n)
        return load_figures(n, 5)


def _over_local_socket(engine: Engine) -> Engine:
    """The run's PostgreSQL through its Unix socket rather than TCP on 127.0.0.1: how a panel
    on the database's host reaches it (e.g. Debian's ``host=/var/run/postgresql``), and what
    the rotation figure needs to measure the work rather than loopback TCP. Over loopback
    (MTU 64 KiB) one executemany batch in every two or three rotations stalled ~200 ms
    (zero-window advertisements counted in those batches; a timer, not work: the server's
    executor time for the 2,000 UPDATEs was 38-59 ms in every rotation, the same plan, and
    the client's CPU time did not change). Seen on the rotation side (two envelopes a row,
    ~400 KiB a batch) and not on the plain one's; 12 of 96 batches over TCP, 0 of 168 over
    the socket. Both sides use the engine returned here. SQLite's is returned as it is."""
    run = current_run()
    if engine.dialect.name != "postgresql" or run is None:
        return engine
    server = run.postgres()
    return create_engine(engine.url.set(host=None, port=None,
                                        query={"host": str(server.root),
                                               "port": str(server.port)}))


def rotation_rate(quick: bool, **config: Any) -> Figure:
    """`panel keys rotate` over ``n`` subscribers against the same batched, guarded UPDATE of
    the same rows in plain text, in subscribers per second: a row is the unit both sides
    rewrite, however many envelopes its sealed fields take. Paired runs, interleaved."""
    n = 2_000 if quick else 10_000
    with scratch_panel(**config) as app:
        seed_accounts(n)
        engine = _over_local_socket(db.engine)
        master = app.extensions["panel.keyring"].master
        reports: list[rotation.RotationReport] = []

        def rotate() -> float:
            """Subscribers re-encrypted per second (each row's profile is one envelope)."""
            seconds = timed(lambda: reports.append(
                rotation.rotate(engine, master, batch_size=500, settle_seconds=0)))
            assert reports[-1].remaining == 0 and not reports[-1].failures
            return n / seconds

        def rewrite() -> float:
            """Subscribers rewritten per second: the same columns, no cryptography."""
            seconds = timed(lambda: _plain_rewrite(engine, PlainAccount.__table__,
                                                   list(SEALED_ACCOUNT_FIELDS), 500))
            return n / seconds

        rates = paired(rotate, rewrite, measure=call)
        engine.dispose()
    return paired_figure(
        f"rotation rate, {n:,} subscribers ({reports[-1].reencrypted:,} values)", rates,
        at_least=0.7, detail=f"{rates.median(0):,.0f} vs {rates.median(1):,.0f} subscribers/s "
                             "plain batched UPDATE")


# ------------------------------------------------------------------ 3. lookup by email


def email_lookup(quick: bool) -> Figure:
    n = 20_000 if quick else 100_000
    lookups = 300 if quick else 1_000
    with scratch_panel():
        engine = db.engine
        PlainBase.metadata.create_all(engine, tables=[PlainUser.__table__])
        ring = current_holder().get()
        emails = [f"Customer.{i}.{secrets.token_hex(3)}@Example{i % 97}.com" for i in range(n)]
        common = {"role": "subscriber", "password_hash": "x", "session_token": "t",
                  "active": True, "created_at": utcnow()}
        plaintexts = {}
        for start in range(0, n, 10_000):
            rows = []
            for email in emails[start:start + 10_000]:
                uid = uuid.uuid4()
                rows.append({"id": uid, "email": ring.seal(email, User.email.aad(uid)),
                             "email_bidx": User.email.index_of(email), **common})
                plaintexts[uid] = {"email": normalise.email(email)}
            with engine.begin() as conn:
                conn.execute(User.__table__.insert(), rows)
        with engine.begin() as conn:
            conn.execute(PlainUser.__table__.insert(), _plain_rows(User, PlainUser, plaintexts))
            conn.exec_driver_sql("ANALYZE")  # fresh statistics for both indexes
        rnd = random.Random(3)
        typed = [rnd.choice([str.upper, str.lower, str.strip])(f" {e} ")
                 for e in rnd.sample(emails, lookups)]

        def ours() -> None:
            for email in typed:
                user = db.session.execute(select(User).where(User.email.matches(email))
                                          ).scalar_one()
                assert user.email is not None
            db.session.close()

        def plain() -> None:
            for email in typed:
                user = db.session.execute(select(PlainUser).where(
                    PlainUser.email == normalise.email(email))).scalar_one()
                assert user.email is not None
            db.session.close()

        result = paired(ours, plain)
        t_ours, t_plain = result.median(0), result.median(1)
    return paired_figure(
        f"find user by email among {n:,} (blind index)", result, at_most=2.0,
        detail=f"{fmt_time(t_ours / lookups)} vs {fmt_time(t_plain / lookups)} "
               "per lookup, plain indexed column")


def run(quick: bool) -> list[Figure]:
    per_field = [field_cost(quick)] if current_backend() == SQLITE else []  # no database in it
    return [*per_field, *subscriber_loads(quick), email_lookup(quick), rotation_rate(quick)]
