"""A domain's registration data as the world sees it, shared by WHOIS (port 43) and RDAP (P19).

With privacy on, each contact's personal fields are redacted the way ICANN's Registration Data
Policy does it: the name, street, city, postal code and phone are withheld, the organisation
is replaced by the privacy service's, the email by the relay web form, and the State/Province
and Country stay published. ``Record.redactions`` says what was done to which field, so RDAP
can describe it (RFC 9537) and WHOIS can print it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import idna
from flask import current_app
from sqlalchemy import bindparam, literal, select
from sqlalchemy.orm import selectinload

from panel.crypto.keyring import current_holder
from panel.db_types import utcnow
from panel.domains.models import CONTACT_ROLES, Domain, DomainContact
from panel.extensions import OUTSIDE_TRANSACTION, db
from panel.urls import external_url
from plugins.privacy.whois.models import DEFAULT_IDENTITY, WhoisSettings

REDACTED = "REDACTED FOR PRIVACY"
DEFAULT_REGISTRAR = "Hosting Panel Registrar"
MAX_NAME = 253
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")

# What privacy does to each contact field: withheld, replaced, or published.
WITHHELD = ("name", "street", "city", "postcode", "phone")
REPLACED = ("organization", "email")
PUBLISHED = ("state", "country")
FIELDS = ("name", "organization", "street", "city", "state", "postcode", "country", "phone",
          "email")

#: RDAP status values (RFC 9083 section 10.2.2) and EPP codes for WHOIS, by domain status.
RDAP_STATUS = {"active": "active", "suspended": "client hold"}
EPP_STATUS = {"active": "ok", "suspended": "clientHold"}


class BadName(ValueError):
    """Not a domain name this registry could hold; the message says why, briefly."""


def normalise_name(text: str) -> str:
    """The ASCII (punycode) form of a queried name, lower-cased, without a final dot.

    Accepts U-labels ("bücher.test") and A-labels ("xn--bcher-kva.test"); refuses anything
    that is not a host name of at least two labels. UTS 46 maps the other spellings of one
    name (full-width letters, the ideographic and full-width full stops, case) to it, and a
    final dot, however written, is the root's.
    """
    name = (text or "").strip().rstrip(".")
    if not name or len(name) > MAX_NAME * 4:
        raise BadName("empty or over-long name")
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii").rstrip(".") \
            if not name.isascii() else name.lower()
        if ascii_name.startswith("xn--") or ".xn--" in ascii_name:
            idna.decode(ascii_name)  # a punycode label must decode to a valid U-label
    except (idna.IDNAError, UnicodeError) as exc:
        raise BadName(f"not a valid internationalised domain name ({exc})") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > MAX_NAME or len(labels) < 2 or not all(map(_LABEL.match, labels)):
        raise BadName("not a valid domain name")
    return ascii_name


def unicode_name(ascii_name: str) -> str:
    try:
        return idna.decode(ascii_name)
    except (idna.IDNAError, UnicodeError):
        return ascii_name


@dataclass(frozen=True)
class Identity:
    """The privacy service shown in place of the registrant."""

    name: str
    organization: str
    street: str
    city: str
    state: str
    postcode: str
    country: str
    phone: str
    web_form: str

    def contact_url(self, domain: str) -> str:
        if not self.web_form:
            return external_url("privacy_relay.contact", name=domain)
        if "{domain}" in self.web_form:
            return self.web_form.replace("{domain}", domain)
        return f"{self.web_form.rstrip('/')}/{domain}"

    def address_lines(self) -> list[str]:
        place = " ".join(p for p in (self.postcode, self.city) if p)
        return [p for p in (self.name, self.organization, self.street, place, self.state,
                            self.country) if p]


_SETTINGS = select(WhoisSettings.__table__).where(WhoisSettings.__table__.c.id == 1)


def _identity(row: Any) -> Identity:
    values = {k: getattr(row, k) or "" for k in DEFAULT_IDENTITY} if row else DEFAULT_IDENTITY
    return Identity(**values)


def identity() -> Identity:
    return _identity(db.session.execute(_SETTINGS).first())


def save_identity(values: dict[str, str]) -> list[str]:
    """Store the admin's edits; returns the names of the fields that changed."""
    row = db.session.get(WhoisSettings, 1)
    if row is None:
        row = WhoisSettings(id=1, **DEFAULT_IDENTITY)
        db.session.add(row)
    changed = [k for k in DEFAULT_IDENTITY if (getattr(row, k) or "") != (values.get(k) or "")]
    for k in changed:
        setattr(row, k, values.get(k) or "")
    if changed:
        row.updated_at = utcnow()
    return changed


@dataclass
class Contact:
    role: str
    values: dict[str, str]
    #: field -> "withheld" | "replaced" for what privacy changed
    redacted: dict[str, str] = field(default_factory=dict)


@dataclass
class Record:
    handle: str
    name: str  # ASCII
    unicode_name: str
    registrar: str
    status: str
    created: date
    updated: datetime | date
    expires: date
    nameservers: list[str]
    private: bool
    contacts: list[Contact]
    contact_url: str
    service: Identity


def registrar_name() -> str:
    return str(current_app.config.get("WHOIS_REGISTRAR_NAME") or DEFAULT_REGISTRAR)


def find(name: str) -> Domain | None:
    """The domain as an ORM object (for pages that change it)."""
    return db.session.execute(
        select(Domain).options(selectinload(Domain.contacts)).where(Domain.name == name)
    ).scalar_one_or_none()


_D = Domain.__table__
_C = DomainContact.__table__
_S = WhoisSettings.__table__
_DOMAIN_COLS = ("id", "name", "status", "registered_on", "expires_on", "nameservers",
                "privacy_enabled", "registrar", "updated_at", "created_at")
_QUERY = (select(*(_D.c[n] for n in _DOMAIN_COLS), _C.c.id.label("contact_id"), _C.c.role,
                 *(_C.c[f].label(f"c_{f}") for f in FIELDS),
                 _S.c.id.label("s_id"), *(_S.c[k].label(f"s_{k}") for k in DEFAULT_IDENTITY))
          .select_from(_D).outerjoin(_C, _C.c.domain_id == _D.c.id)
          .outerjoin(_S, _S.c.id == literal(1)))
#: Built once: a statement made per query costs more CPU (its cache key) than the read itself.
#: One statement, so one snapshot: on PostgreSQL it runs before any transaction begins
#: (OUTSIDE_TRANSACTION), which spares each WHOIS batch and RDAP answer a BEGIN and a ROLLBACK.
_BY_NAME = _QUERY.where(_D.c.name == bindparam("name")).execution_options(**OUTSIDE_TRANSACTION)
_SEALED = {f: DomainContact.__dict__[f] for f in FIELDS}


class _Settings:
    """The service identity's columns of a joined row, named as on ``WhoisSettings``."""

    def __init__(self, row: Any) -> None:
        for k in DEFAULT_IDENTITY:
            setattr(self, k, getattr(row, f"s_{k}"))


def _fetch(name: str) -> tuple[list[Any], Any] | None:
    """The domain joined to its contacts and the service identity: one statement, plain rows,
    no ORM, on the session's connection (a request that already holds one checks out no other)."""
    rows = db.session.connection().execute(_BY_NAME, {"name": name}).all()
    if not rows:
        return None
    return rows, (_Settings(rows[0]) if rows[0].s_id is not None else None)


def _decrypt(rows: list[Any]) -> dict[str, dict[str, str]]:
    """Only what will be shown is decrypted: with privacy on, State/Province and Country; the
    withheld fields stay sealed even in memory."""
    head = rows[0]
    wanted = PUBLISHED if head.privacy_enabled else FIELDS
    holder = current_holder()
    contacts: dict[str, dict[str, str]] = {}
    for row in rows:
        if row.contact_id is None:
            continue
        values = {}
        for f in wanted:
            stored = getattr(row, f"c_{f}")
            desc = _SEALED[f]
            values[f] = (desc._open(stored, row.contact_id, desc.aad(row.contact_id), holder)
                         or "") if stored is not None else ""
        contacts[row.role] = values
    return contacts


def _contact(role: str, stored: dict[str, str] | None, private: bool, service: Identity,
             url: str) -> Contact:
    stored = stored or {}
    if not private:
        return Contact(role, {f: stored.get(f, "") for f in FIELDS})
    values = {f: stored.get(f, "") for f in PUBLISHED}
    redacted: dict[str, str] = {}
    for f in WITHHELD:
        values[f] = REDACTED
        redacted[f] = "withheld"
    values["organization"] = service.organization
    values["email"] = url
    redacted["organization"] = redacted["email"] = "replaced"
    return Contact(role, values, redacted)


def fetch(name: str) -> tuple[list[Any], Any] | None:
    """The stored rows (sealed) that the published record of ``name`` is built from, in one
    read; ``build`` makes the record. Equal rows give an equal record, so a server may keep
    what it built for them (WhoisServer does): any change to the domain, a contact, the
    privacy switch or the service identity changes the rows, and shows at the next query."""
    return _fetch(name)


def lookup_ascii(name: str, service: Identity | None = None) -> Record | None:
    """What WHOIS and RDAP publish for the domain ``name`` (ASCII form), redacted if its privacy
    is on; None if the registry holds no such domain."""
    found = _fetch(name)
    if found is None:
        return None
    return build(found, service)


def build(found: tuple[list[Any], Any], service: Identity | None = None) -> Record:
    """The published record from ``fetch``'s rows."""
    rows, settings = found
    d, contacts = rows[0], _decrypt(rows)
    service = service or _identity(settings)
    url = service.contact_url(d.name)
    private = bool(d.privacy_enabled)
    return Record(
        handle=f"{d.id.hex.upper()}-PANEL", name=d.name, unicode_name=unicode_name(d.name),
        registrar=d.registrar or registrar_name(), status=d.status, created=d.registered_on,
        # the last change of registration data; never changed since: the registration itself
        updated=d.updated_at or d.registered_on, expires=d.expires_on,
        nameservers=[n.lower().rstrip(".") for n in (d.nameservers or "").split() if n],
        private=private,
        contacts=[_contact(r, contacts.get(r), private, service, url) for r in CONTACT_ROLES],
        contact_url=url, service=service)


#: Answers kept at most by one server or worker (one per domain; cleared when full).
MAX_KEPT = 10_000


def kept(answers: dict[str, tuple[Any, str]], found: tuple[list[Any], Any],
         make: Callable[[Record], str], most: int = MAX_KEPT) -> str:
    """``make(build(found))``, reused while ``found``'s rows stay the same (WHOIS and RDAP keep
    their answers this way). The rows are the version: the domain, its contacts (the sealed
    values as stored), the privacy switch and the service identity are all in them, so
    whatever changed, the next answer shows it, in every process; and a name the registry does
    not hold has no rows, so nothing is kept for it. At ``most`` answers, all are dropped."""
    rows = found[0]
    key, name = tuple(rows), rows[0].name
    hit = answers.get(name)
    if hit is None or hit[0] != key:
        if len(answers) >= most:
            answers.clear()
        hit = answers[name] = (key, make(build(found)))
    return hit[1]


def lookup(text: str) -> Record | None:
    """The published record for a query, or None if the registry holds no such domain.
    Raises BadName for input that is not a domain name."""
    return lookup_ascii(normalise_name(text))
