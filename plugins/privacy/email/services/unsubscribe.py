"""Signed links in mail (P14): they never expire, can be revoked, and change preferences only.

A link carries the account, the mail's category and the account's link generation, signed
with a key derived from SECRET_KEY. Nothing is stored per link, so a campaign to 100,000
people writes no token rows; revoking bumps the generation, which kills every earlier link.
Holding a link never signs anyone in: the views that take it show and change preferences
and nothing else.

Two kinds, each good for one thing (the table is in README.md, "The privacy module"):

- a one-click link names one category; it is in the List-Unsubscribe header (URL and mailto)
  and only ever switches that category off. Revoking does not stop it: unsubscribing is
  always safe, and a mail provider's unsubscribe button must not fail.
- a preference-centre link names none; it is in the footer of every message, transactional
  mail included, and opens the preference centre. It never unsubscribes in one click, and
  revoking stops it.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any
from urllib.parse import quote

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from panel.accounts.models import CLOSED, Account
from panel.auth.models import User
from panel.db_types import utcnow
from panel.extensions import OUTSIDE_TRANSACTION, db
from panel.mail.models import TRANSACTIONAL_CATEGORIES
from panel.urls import external_url
from plugins.privacy.email.models import EmailLinkKey
from plugins.privacy.email.services.consent import latest_query

MAX_TOKEN_CHARS = 300
SALT = "privacy.email-link.v1"
MAILTO_PREFIX = "unsubscribe"


class LinkError(ValueError):
    """A link that cannot be used; ``kind`` is "invalid", "revoked", "erased", or
    "not-one-click" / "not-centre" for a link of the other kind."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class LinkAccount:
    """What a one-click POST needs of the account a link names, read in one Core statement
    (no ORM entities: a one-click POST is a hot path, bench/mail.py)."""

    id: uuid.UUID
    reseller_id: uuid.UUID | None
    subscriber_id: uuid.UUID | None  # the account's subscriber: who a change is recorded as


@dataclass(frozen=True)
class Link:
    ref: LinkAccount
    category: str | None  # None: a preference-centre link; else a one-click link
    revoked: bool = False  # only ever True for a one-click link (see resolve_one_click)
    generation: int = 0  # the account's current link generation, read with the account
    #: a one-click link's category: the account's latest choice, read with the account
    #: (consent.latest_query; None: no choice yet)
    latest: bool | None = None
    _loaded: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def account_id(self) -> uuid.UUID:
        return self.ref.id

    @property
    def account(self) -> Account:
        """The account entity, loaded on first use and kept (the preference centre's pages)."""
        if "account" not in self._loaded:
            self._loaded["account"] = db.session.get(Account, self.ref.id)
        return self._loaded["account"]  # type: ignore[no-any-return]

    def subscriber(self) -> User | None:
        """Who a change through the link is recorded as: the subscriber it was sent to. Loaded
        on first use, so a repeated one-click POST, which changes nothing, never loads it."""
        if "subscriber" not in self._loaded:
            found = self.ref.subscriber_id
            self._loaded["subscriber"] = None if found is None else db.session.get(User, found)
        return self._loaded["subscriber"]  # type: ignore[no-any-return]


def _serializer() -> URLSafeSerializer:
    cache = current_app.extensions.setdefault("privacy.link_serializer", {})
    key = current_app.config["SECRET_KEY"]
    found = cache.get(key)
    if found is None:
        found = cache[key] = URLSafeSerializer(key, salt=SALT,
                                               signer_kwargs={"digest_method": hashlib.sha256})
    return found


def generation(account_id: uuid.UUID) -> int:
    row = db.session.get(EmailLinkKey, account_id)
    return row.generation if row is not None else 0


def make(account_id: uuid.UUID, category: str | None = None, gen: int | None = None) -> str:
    """A link token for the account (and one category, for one-click unsubscribe)."""
    gen = generation(account_id) if gen is None else gen
    return str(_serializer().dumps([account_id.hex, category or "", gen]))


#: The preference centre's pages show the account: its entity, with its subscriber.
_LOOKUP = (select(Account, EmailLinkKey.generation)
           .outerjoin(EmailLinkKey, EmailLinkKey.account_id == Account.id)
           .options(joinedload(Account.user))
           .where(Account.id == bindparam("account_id")))
#: A one-click POST needs a few columns: Core, no entities (bench/mail.py).
_ACCOUNT, _USER, _KEY = Account.__table__, User.__table__, EmailLinkKey.__table__
#: The category's current choice is a column: the one definition (consent.latest_query). A
#: plain read: it runs before the request's transaction begins (OUTSIDE_TRANSACTION), so a
#: repeated POST, which writes nothing, opens none.
_LOOKUP_COLUMNS = (select(_ACCOUNT.c.id, _ACCOUNT.c.status, _ACCOUNT.c.reseller_id,
                          _USER.c.id, _KEY.c.generation,
                          latest_query(_ACCOUNT.c.id, bindparam("category")).scalar_subquery())
                   .select_from(_ACCOUNT)
                   .outerjoin(_USER, _USER.c.account_id == _ACCOUNT.c.id)
                   .outerjoin(_KEY, _KEY.c.account_id == _ACCOUNT.c.id)
                   .where(_ACCOUNT.c.id == bindparam("account_id"))
                   .limit(1)
                   .execution_options(**OUTSIDE_TRANSACTION))


def _lookup(token: str, *, entities: bool) -> Link:
    """The link a token names, revoked or not; LinkError if it is forged or its account is
    gone. One statement reads the account, its subscriber (who a change through the link is
    recorded as) and its link generation: as entities for the pages that show the account,
    as a few columns for a one-click POST."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise LinkError("invalid")
    try:
        payload = _serializer().loads(token)
        account_hex, category, gen = payload
        account_id = uuid.UUID(hex=account_hex)
        if not isinstance(category, str) or not isinstance(gen, int):
            raise ValueError
    except (BadSignature, ValueError, TypeError):
        raise LinkError("invalid") from None
    if entities:
        found = db.session.execute(_LOOKUP, {"account_id": account_id}).first()
        if found is None or found[0].status == CLOSED:
            raise LinkError("erased")
        account, current = found[0], found[1] or 0
        user = account.user
        link = Link(LinkAccount(account.id, account.reseller_id, user.id if user else None),
                    category or None, revoked=gen != current, generation=current)
        link._loaded.update(account=account, subscriber=user)
        return link
    row = db.session.connection().execute(
        _LOOKUP_COLUMNS, {"account_id": account_id, "category": category}).first()
    if row is None or row[1] == CLOSED:
        raise LinkError("erased")
    current = row[4] or 0
    return Link(LinkAccount(row[0], row[2], row[3]), category or None, revoked=gen != current,
                generation=current, latest=row[5])


def resolve(token: str) -> Link:
    """The account and category a live token names, or LinkError saying why not."""
    link = _lookup(token, entities=True)
    if link.revoked:
        raise LinkError("revoked")
    return link


def resolve_centre(token: str) -> Link:
    """A live preference-centre link (the footer's), or LinkError."""
    link = resolve(token)
    if link.category is not None:
        raise LinkError("not-centre")
    return link


def resolve_one_click(token: str) -> Link:
    """A one-click link (the List-Unsubscribe header's), revoked or not, or LinkError: a
    revoked one still unsubscribes, and says so (``Link.revoked``)."""
    link = _lookup(token, entities=False)
    if link.category is None:
        raise LinkError("not-one-click")
    return link


def revoke_all(account: Account) -> None:
    """Every link sent so far stops working (the caller commits)."""
    row = db.session.get(EmailLinkKey, account.id)
    if row is None:
        row = EmailLinkKey(account_id=account.id, generation=0)
        db.session.add(row)
    row.generation = (row.generation or 0) + 1
    row.revoked_at = utcnow()


def mailto_address() -> str:
    configured = current_app.config.get("UNSUBSCRIBE_MAILTO")
    if configured:
        return str(configured)
    domain = parseaddr(current_app.config["MAIL_FROM"])[1].rpartition("@")[2] or "localhost"
    return f"{MAILTO_PREFIX}@{domain}"


def headers_for(account_id: uuid.UUID, category: str) -> dict[str, str]:
    """RFC 2369 + RFC 8058 headers for one non-transactional message."""
    if category in TRANSACTIONAL_CATEGORIES:
        return {}
    token = make(account_id, category)
    url = external_url("privacy_unsubscribe.one_click", token=token)
    mailto = f"mailto:{mailto_address()}?subject={quote('unsubscribe ' + token)}"
    return {"List-Unsubscribe": f"<{url}>, <{mailto}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def footer_for(account_id: uuid.UUID, category: str) -> str:
    """The preference-centre line at the foot of every message to an account."""
    url = external_url("privacy_unsubscribe.centre", token=make(account_id))
    if category in TRANSACTIONAL_CATEGORIES:
        return f"Choose which other emails you get: {url}"
    return (f"You get this because of your email preferences. Unsubscribe or choose what you "
            f"get, without signing in: {url}")
