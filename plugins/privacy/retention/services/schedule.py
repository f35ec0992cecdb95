"""The retention schedule: every kind of data has a rule, a legal basis, and a purge.

``run()`` (the ``privacy.retention`` job of `panel cron`) deletes what is past its rule in
batches: each batch is one short transaction (one ``DELETE ... WHERE id IN (SELECT ... LIMIT
n)``), the batch shrinks when a transaction gets slow, so the panel is never blocked for long.
It is idempotent (a second run finds nothing), data of accounts under a legal hold is kept
and counted as held, and each run goes on the trail with counts only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, any_, delete, func, literal_column, or_, select, update

from panel import audit
from panel.accounts.erasure import ErasureRefused, blockers, erase
from panel.accounts.models import CLOSED, Account
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.billing.models import Invoice
from panel.db_types import utcnow
from panel.domains.models import Domain
from panel.extensions import db
from panel.metrics import Reading
from plugins.privacy.access.models import AuditEntry, SupportCredential
from plugins.privacy.center.models import (
    FAILED,
    READY,
    DataExport,
    IdentityDocument,
    PolicyAcceptance,
)
from plugins.privacy.center.services import export
from plugins.privacy.email.models import ConsentEvent
from plugins.privacy.retention.models import (
    ActivityEvent,
    CookieConsent,
    KnownDevice,
    LegalHold,
    LogImport,
    PageView,
    PurgeRun,
    SigninEvent,
    VisitorDay,
    VisitorNet,
)
from plugins.privacy.whois.models import RelayMessage

#: A batch that takes longer than SLOW_SECONDS is halved; one faster than FAST_SECONDS grows
#: to what should take FAST_SECONDS (2x to 8x at a time, up to MAX_BATCH). Large batches
#: cost far less per row (each commit rewrites the index pages it touched, and each batch's
#: scan passes the entries the one before deleted), so the batch grows to what fits in a short
#: transaction. MAX_BATCH bounds how far one misjudged step can go: at 100,000 PostgreSQL
#: purged 1,000,000 rows in 12 transactions of about 60 ms each (2.2x one bulk DELETE), at
#: 250,000 in 6, the longest 159 ms (1.7x). SQLite's batches stop growing well below either.
SLOW_SECONDS = 0.5
FAST_SECONDS = 0.2
MAX_BATCH = 250_000


def setting(name: str) -> int:
    return int(current_app.config[f"RETENTION_{name}"])


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def held_accounts() -> Select[Any]:
    return select(LegalHold.account_id).where(LegalHold.released_at.is_(None))


def held_domains() -> Select[Any]:
    return select(Domain.id).where(Domain.account_id.in_(held_accounts()))


def erased_accounts() -> Select[Any]:
    """Accounts the erasure already ran for: its trail entry is the authoritative record."""
    return select(AuditEntry.account_id).where(AuditEntry.action == "account.erase")


@dataclass
class Target:
    """One table's share of a category: which rows are due, which of them are held."""

    model: Any
    due: Callable[[datetime], Any]  # WHERE clause: past the rule
    held: Callable[[], Any] | None = None  # WHERE clause: kept by a legal hold


@dataclass
class Category:
    key: str
    title: str
    rule: Callable[[], str]
    basis: str
    targets: list[Target] = field(default_factory=list)
    custom: Callable[[Runner], int] | None = None  # categories that are not plain deletes
    custom_due: Callable[[datetime], tuple[int, int]] | None = None  # (due, held)


def _log_cutoff(now: datetime) -> datetime:
    return now - timedelta(days=setting("LOG_DAYS"))


def _log_day(now: datetime) -> date:
    return _log_cutoff(now).date()


def _evidence_cutoff(now: datetime) -> datetime:
    return now - timedelta(days=365 * setting("EVIDENCE_YEARS") + setting("EVIDENCE_YEARS") // 4)


def _long_closed(now: datetime) -> Select[Any]:
    """Accounts whose life ended more than the evidence period ago."""
    return select(Account.id).where(Account.closed_at.is_not(None),
                                    Account.closed_at <= _evidence_cutoff(now))


def _users_of(accounts: Select[Any]) -> Select[Any]:
    return select(User.id).where(User.account_id.in_(accounts))


def _by_account(model: Any) -> Callable[[], Any]:
    # IS NOT NULL first: "NULL NOT IN (...)" is NULL, which would keep rows of no account
    return lambda: and_(model.account_id.is_not(None), model.account_id.in_(held_accounts()))


def _by_user(model: Any) -> Callable[[], Any]:
    return lambda: and_(model.user_id.is_not(None),
                        model.user_id.in_(_users_of(held_accounts())))


def _by_domain(model: Any) -> Callable[[], Any]:
    return lambda: model.domain_id.in_(held_domains())


def _exports_where(now: datetime) -> Any:
    return and_(_exports_due(now), DataExport.status.in_((READY, FAILED)),
                DataExport.account_id.not_in(held_accounts()))


def _expire_exports(runner: Runner) -> int:
    """The file goes; the record stays, marked expired, as the export module does it."""
    done = 0
    while True:
        started = time.perf_counter()
        rows = db.session.execute(select(DataExport).where(_exports_where(runner.now))
                                  .limit(min(runner.batch, 200))).scalars().all()
        for row in rows:
            export.expire(row)
        db.session.commit()
        runner.note(time.perf_counter() - started)
        done += len(rows)
        if not rows:
            return done


def _export_counts(now: datetime) -> tuple[int, int]:
    base = and_(_exports_due(now), DataExport.status.in_((READY, FAILED)))
    due = _count(select(func.count()).select_from(DataExport).where(base))
    held = _count(select(func.count()).select_from(DataExport).where(
        base, DataExport.account_id.in_(held_accounts())))
    return due - held, held


def _billing_due(now: datetime) -> Any:
    """Invoices of closed accounts: a customer's own invoice history stays while they are one."""
    closed = select(Account.id).where(or_(Account.closed_at.is_not(None),
                                          Account.status == CLOSED))
    return and_(Invoice.issued_on < years_before(now.date(), setting("BILLING_YEARS")),
                Invoice.account_id.in_(closed),
                Invoice.status != "unpaid")  # an unpaid invoice is a debt, not a record


def _exports_due(now: datetime) -> Any:
    cutoff = now - timedelta(days=setting("EXPORT_DAYS"))
    return or_(DataExport.expires_at <= now, DataExport.ready_at <= cutoff,
               and_(DataExport.ready_at.is_(None), DataExport.created_at <= cutoff))


def _closed_due(now: datetime) -> Select[Any]:
    cutoff = now - timedelta(days=setting("CLOSED_ACCOUNT_DAYS"))
    return select(Account).where(Account.closed_at.is_not(None), Account.closed_at <= cutoff,
                                 Account.id.not_in(erased_accounts()))


def _closed_counts(now: datetime) -> tuple[int, int]:
    rows = db.session.execute(_closed_due(now).with_only_columns(Account.id)).scalars().all()
    held = set(db.session.execute(held_accounts()).scalars())
    return len([r for r in rows if r not in held]), len([r for r in rows if r in held])


def _erase_closed(runner: Runner) -> int:
    """Closed accounts past their grace period are erased exactly as the privacy center does,
    one account per transaction; held ones stay, blocked ones are reported."""
    done = 0
    held = set(db.session.execute(held_accounts()).scalars())
    for account_id in db.session.execute(
            _closed_due(runner.now).with_only_columns(Account.id)).scalars().all():
        if account_id in held:
            continue
        started = time.perf_counter()
        account = db.session.get(Account, account_id)
        assert account is not None
        if blockers(account):
            runner.blocked += 1
            continue
        try:
            erase(account, None)
        except ErasureRefused:
            db.session.rollback()
            runner.blocked += 1
            continue
        db.session.commit()
        runner.note(time.perf_counter() - started)
        done += 1
    return done


def _audit_due(now: datetime) -> Any:
    return and_(AuditEntry.account_id.in_(_long_closed(now)), AuditEntry._ip.is_not(None))  # noqa: SLF001


def _redact_trail(runner: Runner) -> int:
    """Trail entries stay (the chain proves them), but the IP they kept is removed: the chain
    covers only its keyed digest, so `panel audit verify` still passes."""
    entry = AuditEntry.__table__
    where = and_(_audit_due(runner.now), AuditEntry.account_id.not_in(held_accounts()))
    return runner.batched(lambda n: update(entry).where(entry.c.id.in_(
        select(AuditEntry.id).where(where).limit(n))).values(ip=None))


def _audit_counts(now: datetime) -> tuple[int, int]:
    due = db.session.scalar(select(func.count()).select_from(AuditEntry).where(_audit_due(now)))
    held = db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        _audit_due(now), AuditEntry.account_id.in_(held_accounts())))
    return (due or 0) - (held or 0), held or 0


def categories() -> list[Category]:
    """The schedule, in the order the admin page and `panel retention report` show it."""
    return [
        Category("signin_log", "Sign-in history",
                 lambda: f"{setting('LOG_DAYS')} days (RETENTION_LOG_DAYS)",
                 "Legitimate interest: account security (P21, P22)",
                 [Target(SigninEvent, lambda now: SigninEvent.at < _log_cutoff(now),
                         _by_account(SigninEvent))]),
        Category("activity_log", "Failed sign-ins, security actions and known browsers",
                 lambda: f"{setting('LOG_DAYS')} days (RETENTION_LOG_DAYS)",
                 "Legitimate interest: account security (P21, P22)",
                 [Target(ActivityEvent, lambda now: ActivityEvent.at < _log_cutoff(now),
                         lambda: or_(_by_account(ActivityEvent)(), _by_user(ActivityEvent)())),
                  Target(KnownDevice, lambda now: KnownDevice.last_seen < _log_cutoff(now),
                         _by_user(KnownDevice))]),
        Category("visitor_log", "Visitor statistics and page views",
                 lambda: f"{setting('LOG_DAYS')} days (RETENTION_LOG_DAYS)",
                 "Legitimate interest: service statistics, no person identified (P22)",
                 [Target(VisitorNet, lambda now: VisitorNet.day < _log_day(now),
                         _by_domain(VisitorNet)),
                  Target(VisitorDay, lambda now: VisitorDay.day < _log_day(now),
                         _by_domain(VisitorDay)),
                  Target(LogImport, lambda now: LogImport.at < _log_cutoff(now),
                         _by_domain(LogImport)),
                  Target(PageView, lambda now: PageView.day < _log_day(now))]),
        Category("identity_documents", "Identity documents",
                 lambda: ("when the check is done, "
                          f"{setting('IDENTITY_DOCUMENT_DAYS')} days at the latest "
                          "(RETENTION_IDENTITY_DOCUMENT_DAYS)"),
                 "Legal obligation: verifying who makes a request (P07)",
                 [Target(IdentityDocument, lambda now: or_(
                     IdentityDocument.delete_by <= now, IdentityDocument.uploaded_at <= now
                     - timedelta(days=setting("IDENTITY_DOCUMENT_DAYS"))))]),
        Category("export_files", "Data export files",
                 lambda: f"{setting('EXPORT_DAYS')} days (RETENTION_EXPORT_DAYS)",
                 "Contract: the subscriber's copy of their data (P06)",
                 custom=_expire_exports, custom_due=_export_counts),
        Category("support_credentials", "Support credentials", lambda: "at their expiry",
                 "Consent: given by the subscriber for one support case (P18)",
                 [Target(SupportCredential, lambda now: SupportCredential.expires_at <= now,
                         _by_account(SupportCredential))]),
        Category("relay_senders", "WHOIS relay-form senders",
                 lambda: f"{setting('RELAY_SENDER_DAYS')} days (RETENTION_RELAY_SENDER_DAYS)",
                 "Legitimate interest: passing on messages to a private registrant (P19)",
                 _relay_targets()),
        Category("closed_accounts", "Closed accounts' personal data",
                 lambda: (f"{setting('CLOSED_ACCOUNT_DAYS')} days after closure, unless a "
                          "legal hold applies (RETENTION_CLOSED_ACCOUNT_DAYS)"),
                 "Contract ended; erased as the privacy center does (P09)",
                 custom=_erase_closed, custom_due=_closed_counts),
        Category("billing", "Invoices and billing identity",
                 lambda: (f"{setting('BILLING_YEARS')} years from the invoice date "
                          "(RETENTION_BILLING_YEARS)"),
                 "Legal obligation: tax and accounting records (P09)",
                 [Target(Invoice, _billing_due, _by_account(Invoice))]),
        Category("consent_evidence",
                 "Consent evidence (cookie and email choices, policy acceptances)",
                 lambda: (f"life of the account + {setting('EVIDENCE_YEARS')} years "
                          "(RETENTION_EVIDENCE_YEARS)"),
                 "Legal obligation: proving consent was given (P10, P13, P23)",
                 [Target(CookieConsent, lambda now: or_(
                     CookieConsent.account_id.in_(_long_closed(now)),
                     and_(CookieConsent.account_id.is_(None), CookieConsent.user_id.is_(None),
                          CookieConsent.at <= _evidence_cutoff(now))),
                         _by_account(CookieConsent)),
                  Target(PolicyAcceptance, lambda now: PolicyAcceptance.user_id.in_(
                      _users_of(_long_closed(now))), _by_user(PolicyAcceptance)),
                  *_marketing_consent_targets()]),
        Category("audit_evidence", "Audit trail: IP addresses of entries",
                 lambda: (f"life of the account + {setting('EVIDENCE_YEARS')} years; the "
                          "entries stay, their IP address goes (RETENTION_EVIDENCE_YEARS)"),
                 "Legal obligation and legitimate interest: accountability (P16, P17)",
                 custom=_redact_trail, custom_due=_audit_counts),
    ]


def _relay_targets() -> list[Target]:
    """Messages sent through the WHOIS relay form keep the sender's name and address until
    their expiry (set from RETENTION_RELAY_SENDER_DAYS by the relay module)."""
    return [Target(RelayMessage, lambda now: RelayMessage.expires_at <= now,
                   _by_account(RelayMessage))]


def _marketing_consent_targets() -> list[Target]:
    return [Target(ConsentEvent, lambda now: ConsentEvent.account_id.in_(_long_closed(now)),
                   _by_account(ConsentEvent))]


class Runner:
    """Runs batches, keeps the longest transaction and the counts."""

    def __init__(self, now: datetime, batch: int) -> None:
        self.now, self.batch, self.max_batch = now, batch, max(batch, MAX_BATCH)
        self.longest = 0.0
        self.batches = 0
        self.blocked = 0
        self.held: dict[str, int] = {}

    def note(self, seconds: float) -> None:
        self.longest = max(self.longest, seconds)
        self.batches += 1

    def batched(self, statement: Callable[[int], Any]) -> int:
        """Run ``statement(batch)`` in its own transaction until it touches nothing."""
        total = 0
        while True:
            started = time.perf_counter()
            count = db.session.execute(statement(self.batch)).rowcount or 0
            db.session.commit()
            took = time.perf_counter() - started
            self.note(took)
            total += count
            if count < self.batch:
                return total
            if took > SLOW_SECONDS:
                self.batch = max(100, self.batch // 2)
            elif took < FAST_SECONDS:  # grow to what should take FAST_SECONDS (2x to 8x)
                scale = max(2.0, min(8.0, FAST_SECONDS / max(took, 0.001)))
                self.batch = min(self.max_batch, int(self.batch * scale))

    def purge(self, target: Target) -> int:
        model = target.model
        where = target.due(self.now)
        if target.held is not None:
            where = and_(where, ~target.held())
        postgres = db.session.get_bind().dialect.name == "postgresql"
        # Each batch's rows by their physical address, not their id: an id costs a lookup in
        # the primary-key index per row before the row is reached (on PostgreSQL 6x, on SQLite
        # 2.3x one bulk DELETE at full size).
        address = literal_column("ctid" if postgres else "rowid")

        def statement(n: int) -> Any:
            picked = select(address).select_from(model.__table__).where(where).limit(n)
            if postgres:  # "IN (subquery)" is a hash join over a scan of the whole table there;
                # an array of addresses is a TID scan, each row fetched straight from its page.
                # The subquery is not correlated with the DELETE (same table), and a row moved
                # since it was picked is simply left for the next batch.
                chosen = address == any_(func.array(picked.correlate(None).scalar_subquery()))
            else:  # SQLite: the rowid is the table's own b-tree key
                chosen = address.in_(picked.correlate(None))
            return delete(model).where(chosen).execution_options(synchronize_session=False)

        return self.batched(statement)


def _count(query: Any) -> int:
    return int(db.session.scalar(query) or 0)


def due(now: datetime | None = None) -> list[dict[str, Any]]:
    """Each category with its rule, basis, rows due now and rows kept by a legal hold."""
    now = now or utcnow()
    report = []
    for cat in categories():
        if cat.custom_due is not None:
            n, held = cat.custom_due(now)
        else:
            n = held = 0
            for t in cat.targets:
                where = t.due(now)
                total = _count(select(func.count()).select_from(t.model).where(where))
                kept = (_count(select(func.count()).select_from(t.model).where(where, t.held()))
                        if t.held is not None else 0)
                n, held = n + total - kept, held + kept
        report.append({"key": cat.key, "title": cat.title, "rule": cat.rule(),
                       "basis": cat.basis, "due": n, "held": held})
    return report


def run(now: datetime | None = None, batch: int | None = None) -> PurgeRun:
    """Purge everything past its rule; record the run (and its counts) on the trail."""
    now = now or utcnow()
    runner = Runner(now, batch or setting("BATCH_ROWS"))
    started = utcnow()
    counts: dict[str, int] = {}
    for cat, line in zip(categories(), due(now), strict=True):
        if line["held"]:
            runner.held[cat.key] = line["held"]
        if cat.custom is not None:
            counts[cat.key] = cat.custom(runner)
        else:
            counts[cat.key] = sum(runner.purge(t) for t in cat.targets)
    if runner.blocked:
        runner.held["closed_accounts_blocked"] = runner.blocked
    record = PurgeRun(started_at=started, finished_at=utcnow(), counts=counts,
                      held=runner.held, batches=runner.batches,
                      longest_ms=int(runner.longest * 1000))
    db.session.add(record)
    purged = {k: v for k, v in counts.items() if v}
    audit.record(AuditEvent(
        "retention.purge", object=("purged " + ", ".join(f"{k}={v}" for k, v in purged.items())
                                   if purged else "nothing was due")[:255],
        fields=sorted(purged)))
    db.session.commit()
    return record


#: How `panel cron` names what went, per category.
DONE = {"signin_log": "sign-in entries past their time", "activity_log": "activity entries",
        "visitor_log": "visitor statistics rows", "identity_documents": "identity documents",
        "export_files": "expired data exports", "support_credentials": "expired credentials",
        "relay_senders": "relay messages", "closed_accounts": "closed accounts erased",
        "billing": "invoices past their seven years", "consent_evidence": "consent records",
        "audit_evidence": "trail IP addresses"}


def job() -> str:
    """`panel cron`: the whole schedule."""
    record = run()
    parts = [f"deleted {v} {DONE.get(k, k)} ({k} {v})" for k, v in record.counts.items() if v]
    held = sum(record.held.values())
    return ("; ".join(parts) if parts else "nothing due") + (
        f"; {held} held" if held else "") + f"; longest transaction {record.longest_ms} ms"


def history(days: int = 90, now: datetime | None = None) -> list[tuple[date, dict[str, int]]]:
    """Rows purged per day and category, oldest first, for the chart and the report."""
    now = now or utcnow()
    runs = db.session.execute(select(PurgeRun).where(
        PurgeRun.started_at >= now - timedelta(days=days)).order_by(PurgeRun.started_at)).scalars()
    per_day: dict[date, dict[str, int]] = {}
    for r in runs:
        day = per_day.setdefault(r.started_at.date(), {})
        for key, n in (r.counts or {}).items():
            if n:
                day[key] = day.get(key, 0) + n
    return sorted(per_day.items())


def recent_runs(limit: int = 20) -> list[PurgeRun]:
    return list(db.session.execute(
        select(PurgeRun).order_by(PurgeRun.started_at.desc()).limit(limit)).scalars())


# --- legal holds ----------------------------------------------------------------------------


class HoldError(ValueError):
    """The hold cannot be placed or released; the message says why."""


def active_holds() -> list[LegalHold]:
    return list(db.session.execute(select(LegalHold).where(LegalHold.released_at.is_(None))
                                   .order_by(LegalHold.placed_at.desc())).scalars())


def is_held(account_id: Any) -> bool:
    return db.session.execute(held_accounts().where(LegalHold.account_id == account_id)).first() \
        is not None


def place_hold(account: Account, actor: User, reason: str) -> tuple[LegalHold, str | None]:
    """Keep the account's data until released. Returns the hold and a note for the admin
    when the personal data was already erased (invoices and evidence are still held)."""
    reason = (reason or "").strip()
    if not reason:
        raise HoldError("Give the reason for the hold (the case or request it is for).")
    if is_held(account.id):
        raise HoldError(f"Account {account.number} is already under a legal hold.")
    hold = LegalHold(account_id=account.id, placed_by=actor.id, placed_at=utcnow())
    hold.reason = reason
    db.session.add(hold)
    audit.record(AuditEvent("retention.hold", actor=actor, account_id=account.id,
                            object=f"legal hold on account {account.number}", fields=["reason"]))
    note = None
    if db.session.execute(erased_accounts().where(AuditEntry.account_id == account.id)).first():
        note = (f"Account {account.number} was already erased: its personal data is gone. "
                "The hold keeps what is left (invoices, consent and audit evidence).")
    return hold, note


def release_hold(hold: LegalHold, actor: User, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise HoldError("Give the reason for releasing the hold.")
    if hold.released_at is not None:
        raise HoldError("This hold was already released.")
    hold.released_at, hold.released_by = utcnow(), actor.id
    hold.release_reason = reason
    audit.record(AuditEvent("retention.release", actor=actor, account_id=hold.account_id,
                            object="legal hold released", fields=["reason"]))



def run_readings() -> list[Reading]:
    """For /metrics: when the retention schedule last ran to its end (P22)."""
    last = db.session.execute(select(func.max(PurgeRun.finished_at))).scalar()
    return [Reading("panel_retention_last_run_timestamp_seconds", "When the retention "
                    "schedule last finished a run (Unix time; 0: never).",
                    last.timestamp() if last else 0.0),
            Reading("panel_retention_last_run_age_seconds", "Seconds since the retention "
                    "schedule last finished a run (+Inf: never).",
                    max(0.0, (utcnow() - last).total_seconds()) if last else float("inf"))]
