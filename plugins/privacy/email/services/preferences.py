"""Email categories and consent (P12, P13, P27): the one place that says whether mail may go.

Public API for other features (resellers, alerts, campaigns)::

    from plugins.privacy.email.services.preferences import allowed, reseller_category
    allowed(account, reseller_category(reseller.id))   # -> bool, checked now

``allowed`` answers from the consent events (latest wins), the account's restriction and
objection (``purpose_allowed``) and the account's state; transactional mail is always allowed.
Outbox categories may not contain ':', so a reseller's category is ``reseller.<user id>``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import FunctionType, MethodType
from typing import Any, Protocol

from flask import current_app, has_request_context, request
from sqlalchemy import Select, bindparam, delete, func, select

from panel import audit
from panel.accounts.models import CLOSED, Account
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.db_types import utcnow
from panel.extensions import db
from panel.mail.models import TRANSACTIONAL_CATEGORIES, OutboxMessage
from plugins.privacy.email.models import METHODS, ConsentEvent, EmailLinkKey, PartnerDisclosure
from plugins.privacy.email.services import unsubscribe
from plugins.privacy.email.services.consent import latest_query
from plugins.privacy.processing.services import limited, purpose_allowed

OPT_IN, OPT_OUT = "opt-in", "opt-out"
RESELLER_PREFIX = "reseller."
MARKETING = "marketing"  # the purpose a restriction or objection stops (processing.models.PURPOSES)
NOTICE_VERSION = "2026-11"
EVIDENCE_YEARS = 6  # consent evidence outlives a closed account by six years
# Categories whose feature keeps its own switch and checks it at delivery (the WHOIS contact
# relay, issue 7: per domain, on the domain's page); no preference-centre links are added.
OWN_SWITCH = frozenset({"whois_relay"})
TRANSACTIONAL_REASON = ("Account, billing, security and service notices are always sent: they "
                        "are part of the service and tell you about your account.")


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    notice: str  # what the subscriber is told next to the switch (its hash is the evidence)
    purpose: str | None = MARKETING  # None: part of the service (site alerts)
    group: str = "Marketing"

    @property
    def marketing(self) -> bool:
        return self.purpose == MARKETING

    @property
    def notice_hash(self) -> str:
        return notice_hash(self.notice)


def notice_hash(text: str) -> str:
    return hashlib.sha256(f"{NOTICE_VERSION}\n{text}".encode()).hexdigest()


HOUSE: tuple[Category, ...] = (
    Category("newsletter", "Newsletter",
             "Our newsletter: news about the company and hosting, about once a month."),
    Category("promotions", "Promotions",
             "Special offers and discounts on our own products."),
    Category("partner_offers", "Partner offers",
             "Offers run together with our partners. If you agree, your name and email address "
             "(never billing details) may be shared with the partner running the promotion."),
    Category("product_updates", "Product updates",
             "News about new features and products."),
    Category("alerts.contact_form", "Contact-form entries",
             "An email when a visitor fills in a contact form on your site.", None, "Site alerts"),
    Category("alerts.comments", "Comments",
             "An email when someone comments on your site.", None, "Site alerts"),
    Category("alerts.guestbook", "Guestbook posts",
             "An email when someone signs your site's guestbook.", None, "Site alerts"),
)
BY_KEY = {c.key: c for c in HOUSE}
NOTICES = {c.notice_hash: c.notice for c in HOUSE}


def reseller_category(reseller_user_id: uuid.UUID | str) -> str:
    """The category of one reseller's own marketing to its customers (P27)."""
    return f"{RESELLER_PREFIX}{uuid.UUID(str(reseller_user_id))}"


def _reseller_notice(name: str) -> str:
    return f"Marketing email from {name}, the company you bought your hosting from."


def category(key: str, account: AccountRef | None = None) -> Category | None:
    """The category named ``key``; a reseller's only for that reseller's own customers."""
    if key in BY_KEY:
        return BY_KEY[key]
    if key.startswith(RESELLER_PREFIX):
        try:
            reseller_id = uuid.UUID(key[len(RESELLER_PREFIX):])
        except ValueError:
            return None
        if account is not None and account.reseller_id != reseller_id:
            return None
        reseller = db.session.get(User, reseller_id)
        if reseller is None or reseller.role != "reseller":
            return None
        name = reseller.display_name or "your reseller"
        return Category(key, f"Marketing from {name}", _reseller_notice(name), group="Your reseller")
    return None


def categories_for(account: Account) -> list[Category]:
    found = list(HOUSE)
    if account.reseller_id is not None:
        own = category(reseller_category(account.reseller_id), account)
        if own is not None:
            found.append(own)
    return found


def mode() -> str:
    """Whether marketing starts opted in or out (EMAIL_CONSENT_MODE); opt-in by default,
    meaning nothing is sent until the subscriber says yes."""
    value = str(current_app.config.get("EMAIL_CONSENT_MODE") or OPT_IN).lower()
    return OPT_OUT if value == OPT_OUT else OPT_IN


def default_for(cat: Category) -> bool:
    """No event yet: site alerts are on, marketing follows the opt-in/opt-out setting."""
    return True if not cat.marketing else mode() == OPT_OUT


#: Built once: asked before every change (bench/mail.py).
_LATEST = latest_query(bindparam("account_id"), bindparam("key"))
#: ``preference``'s ``latest`` when the caller has not read it.
UNREAD: Any = object()


def _latest(account_id: uuid.UUID, key: str) -> bool | None:
    # Core on the session's connection (one column, no ORM loading). Nothing to autoflush:
    # record() flushes each event it adds.
    return db.session.connection().execute(
        _LATEST, {"account_id": account_id, "key": key}).scalar()


def preference(account: AccountRef, cat: Category, latest: bool | None = UNREAD) -> bool:
    """The category's switch for the account; ``latest`` is its latest choice when the caller
    already read it with ``consent.latest_query`` (None: no choice yet)."""
    if latest is UNREAD:
        latest = _latest(account.id, cat.key)
    return default_for(cat) if latest is None else bool(latest)


def current(account: Account) -> dict[str, bool]:
    """Every category's current switch for the account, derived from its events."""
    rows = db.session.execute(
        select(ConsentEvent.category, ConsentEvent.granted, ConsentEvent.at)
        .where(ConsentEvent.account_id == account.id).order_by(ConsentEvent.at)).all()
    latest = {key: granted for key, granted, _ in rows}
    return {c.key: latest.get(c.key, default_for(c)) for c in categories_for(account)}


def suppression_reason(account: Account | None, key: str) -> str | None:
    """Why mail of category ``key`` may not go to ``account`` now, or None when it may."""
    if key in TRANSACTIONAL_CATEGORIES:
        return None
    cat = category(key, account)
    if cat is None:
        return f"unknown mail category {key!r}"
    if account is None:
        return "non-transactional mail must name its account, so its preference can be checked"
    if account.status == CLOSED:
        return "the account was erased or closed"
    if cat.purpose is not None and not purpose_allowed(account.id, cat.purpose):
        return "processing of this account for marketing is restricted or objected to"
    if not preference(account, cat):
        return f"the subscriber does not want {cat.label.lower()} email"
    return None


def allowed(account: Account, key: str) -> bool:
    """May mail of category ``key`` go to ``account`` right now? (preference, restriction,
    objection and account state; transactional always may). Call it just before sending."""
    return suppression_reason(account, key) is None


class AccountRef(Protocol):
    """What recording a choice needs of an account: an Account, or a link's LinkAccount."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def reseller_id(self) -> uuid.UUID | None: ...


#: Who makes a change, or a function returning them that is called only once something is
#: written: a one-click link's subscriber is loaded only then (a repeated POST writes nothing).
Actor = User | Callable[[], User | None] | None


def _deferred(actor: Actor) -> bool:
    """A function to call (not a User, nor a proxy to one such as ``current_user``)."""
    return isinstance(actor, FunctionType | MethodType)


def _who(actor: Actor) -> User | None:
    return actor() if _deferred(actor) else actor  # type: ignore[operator,return-value]


def record(account: AccountRef, key: str, granted: bool, method: str, *, actor: Actor = None,
           reason: str | None = None, notice: str | None = None,
           latest: bool | None = UNREAD) -> ConsentEvent | None:
    """Append a grant or withdrawal (the caller commits). Nothing is written when the switch is
    already in that position (by an earlier event or the default), so saving an unchanged
    form or repeating a one-click POST adds no noise. ``latest``: see ``preference``."""
    cat = category(key, account)
    if cat is None or method not in METHODS:
        raise ValueError(f"unknown category {key!r} or method {method!r}")
    if preference(account, cat, latest) == granted:
        return None
    actor = _who(actor)
    text = notice or cat.notice
    event = ConsentEvent(id=uuid.uuid4(), account_id=account.id, category=key, granted=granted,
                         method=method, mode=mode(), notice_version=NOTICE_VERSION,
                         notice_hash=notice_hash(text), actor_id=actor.id if actor else None,
                         reason=(reason or None) and reason[:200], at=utcnow())
    if has_request_context():
        event.ip = request.remote_addr
        event.user_agent = (request.user_agent.string or "")[:256] or None
    db.session.add(event)
    db.session.flush()
    return event


def change(account: AccountRef, wanted: dict[str, bool], method: str, *, actor: Actor = None,
           reason: str | None = None, ticket: str | None = None,
           latest: dict[str, bool | None] | None = None) -> list[ConsentEvent]:
    """Set several switches at once; staff changes carry a reason and go on the trail. An
    ``actor`` given as a function is called once, before the first write, if there is one.
    ``latest``: the latest choice of categories the caller already read (``consent.latest_query``)."""
    found: list[User | None] = []

    def who() -> User | None:
        if not found:
            person = _who(actor)
            if person is not None and person.is_staff and not (reason or "").strip():
                raise ValueError("Give the reason for changing the customer's preferences.")
            found.append(person)
        return found[0]

    if not _deferred(actor):
        who()  # refused before anything is read
    events = [e for key, on in wanted.items()
              if (e := record(account, key, on, method, actor=who, reason=reason,
                              latest=(latest or {}).get(key, UNREAD))) is not None]
    if events:
        actor = who()
        audit.record(AuditEvent(
            "email_preferences.change", actor=actor, account_id=account.id,
            object=f"email preferences ({METHODS[method]})", fields=[e.category for e in events],
            reason_code="customer-request" if actor is not None and actor.is_staff else None,
            ticket=ticket))
    return events


def unsubscribe_all(account: Account, method: str, *, actor: User | None = None,
                    reason: str | None = None) -> list[ConsentEvent]:
    """"Unsubscribe from all marketing": every marketing category off; alerts stay as they are."""
    return change(account, {c.key: False for c in categories_for(account) if c.marketing},
                  method, actor=actor, reason=reason)


def history_query(account: Account) -> Select[tuple[ConsentEvent]]:
    """The account's consent evidence, for a keyset-paged list on (at, id)."""
    return select(ConsentEvent).where(ConsentEvent.account_id == account.id)


def history(account: Account) -> list[ConsentEvent]:
    return list(db.session.execute(
        history_query(account).order_by(ConsentEvent.at.desc(), ConsentEvent.id.desc())).scalars())


def label_of(key: str) -> str:
    cat = category(key)
    return cat.label if cat else key


def notice_text(digest: str) -> str | None:
    """The exact notice behind a stored hash, when it is one of this version's."""
    return NOTICES.get(digest)


def consenting(key: str, account_ids: Iterable[uuid.UUID] | None = None) -> dict[uuid.UUID, bool]:
    """Latest event per account for one category, in one query (campaigns, partner shares)."""
    ranked = (select(ConsentEvent.account_id, ConsentEvent.granted,
                     func.row_number().over(partition_by=ConsentEvent.account_id,
                                            order_by=(ConsentEvent.at.desc(), ConsentEvent.id))
                     .label("n"))
              .where(ConsentEvent.category == key)).subquery()
    query = select(ranked.c.account_id, ranked.c.granted).where(ranked.c.n == 1)
    if account_ids is not None:
        query = query.where(ranked.c.account_id.in_(list(account_ids)))
    return {account_id: bool(granted) for account_id, granted in db.session.execute(query)}


def eligible(key: str, account_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these accounts may get marketing of category ``key`` now: their latest choice
    (or the default) and no restriction or objection. A few queries for any number of
    accounts, the bulk form of ``allowed`` for campaigns and partner shares."""
    cat = category(key)
    if cat is None:
        return set()
    latest, default = consenting(key), default_for(cat)
    stopped = limited(cat.purpose) if cat.purpose is not None else set()
    return {a for a in account_ids if a not in stopped and latest.get(a, default)}


def erase(account: Account) -> None:
    """Erasure: marketing stops (recorded), links stop working; the events stay as evidence
    for the life of the account plus six years (the retention schedule purges it)."""
    for cat in categories_for(account):
        if cat.marketing:
            record(account, cat.key, False, "erasure")
    db.session.execute(delete(EmailLinkKey).where(EmailLinkKey.account_id == account.id))


def preference_rows(account: Account) -> Iterable[dict[str, object]]:
    """The current switch of every category, for the subscriber's copy of their data (P06)."""
    for key in sorted(TRANSACTIONAL_CATEGORIES):
        yield {"category": key, "allowed": True, "locked": True}
    for key, allowed in current(account).items():
        yield {"category": key, "allowed": allowed, "locked": False}


def export_rows(account: Account) -> Iterable[dict[str, object]]:
    for e in history(account):
        yield {"at": e.at.isoformat(), "category": e.category, "granted": e.granted,
               "method": e.method, "setting": e.mode, "notice_version": e.notice_version,
               "notice_sha256": e.notice_hash, "notice": notice_text(e.notice_hash) or "",
               "ip": e.ip or "", "user_agent": e.user_agent or ""}


def pre_send(message: OutboxMessage, headers: dict[str, str]) -> str | None:
    """At delivery: suppress (with the reason) or add the RFC 2369/8058 headers."""
    if message.category in TRANSACTIONAL_CATEGORIES or message.category in OWN_SWITCH:
        return None
    account = db.session.get(Account, message.account_id) if message.account_id else None
    reason = suppression_reason(account, message.category)
    if reason is not None or account is None:
        return reason
    headers.update(unsubscribe.headers_for(account.id, message.category))
    return None


def footer(message: OutboxMessage) -> str | None:
    """The preference-centre link at the foot of every message to an open account."""
    if message.account_id is None or message.category in OWN_SWITCH:
        return None  # a relay message may go to a contact who is not the account holder
    account = db.session.get(Account, message.account_id)
    if account is None or account.status == CLOSED:
        return None
    return unsubscribe.footer_for(account.id, message.category)


def disclosure_rows(account: Account) -> Iterable[dict[str, object]]:
    for d in db.session.execute(select(PartnerDisclosure).where(
            PartnerDisclosure.account_id == account.id).order_by(PartnerDisclosure.at)).scalars():
        yield {"at": d.at.isoformat(), "partner": d.partner, "purpose": d.purpose,
               "fields": ", ".join(d.fields)}
