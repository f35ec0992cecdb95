"""What staff access holds about a subscriber (P06) and how an erasure treats it (P09): the
support credentials' labels, every access session, and the trail entries about the account."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import delete, select, update

from panel.accounts.models import Account
from panel.db_types import utcnow
from panel.extensions import db
from plugins.privacy.access.models import (
    ACTIVE,
    PENDING,
    REASONS,
    REVOKED,
    AccessSession,
    AuditEntry,
    SupportCredential,
)
from plugins.privacy.access.services import credentials
from plugins.privacy.processing.services import (
    BATCH,
    Category,
    Glance,
    count,
    register,
    register_glance,
    stream,
)

PAGE = "privacy/access/my_data.html"
CREDENTIAL_COLUMNS = ("kind", "label", "created_at", "expires_at")  # never host, user or secret


def credential_rows(account: Account) -> Iterator[dict[str, Any]]:
    """Labels only: host, username and secret stay out of every export."""
    yield from stream(SupportCredential, CREDENTIAL_COLUMNS,
                      SupportCredential.account_id == account.id,
                      order_by=(SupportCredential.created_at,))


def access_rows(account: Account) -> Iterator[dict[str, Any]]:
    sessions = db.session.execute(
        select(AccessSession).where(AccessSession.account_id == account.id)
        .order_by(AccessSession.requested_at).execution_options(yield_per=BATCH)).scalars()
    for s in sessions:
        yield {"requested_at": s.requested_at, "staff": s.staff.label, "reason": REASONS.get(
            s.reason_code, s.reason_code), "ticket": s.ticket, "note": s.note, "status": s.status,
            "break_glass": s.break_glass, "minutes": s.minutes, "started_at": s.started_at,
            "expires_at": s.expires_at, "ended_at": s.ended_at, "end_reason": s.end_reason}


def trail_rows(account: Account) -> Iterator[dict[str, Any]]:
    """The trail entries about the account. The IP is included where the subscriber acted,
    never a staff member's."""
    me = account.user.id if account.user else None
    fields = ("at", "action", "object", "fields", "actor_id", "actor_role",
              "actor_label", "result", "reason_code", "ticket", "ip")
    for row in stream(AuditEntry, fields, AuditEntry.account_id == account.id,
                      order_by=(AuditEntry.seq,)):
        mine = me is not None and row.pop("actor_id") == me
        ip, actor = row.pop("ip"), row.pop("actor_label")
        yield {**row, "fields": ", ".join(row["fields"] or []), "actor": actor,
               "ip": ip if mine else None}


def _trail_count(account: Account) -> int:
    return count(AuditEntry, AuditEntry.account_id == account.id)


def _credentials_card(account: Account) -> dict[str, Any]:
    return {"credentials": credentials.current(account)}


def erase(account: Account) -> None:
    """Credentials go and open staff sessions end. The trail stays as the record of what was
    done (it names fields, never values)."""
    db.session.execute(delete(SupportCredential).where(SupportCredential.account_id == account.id))
    db.session.execute(update(AccessSession).where(
        AccessSession.account_id == account.id, AccessSession.status.in_((PENDING, ACTIVE)))
        .values(status=REVOKED, ended_at=utcnow(), end_reason="account erased"))


register(
    "access",
    Category("support_credentials", "Support credentials",
             "The labels of credentials you handed to support. The secrets themselves are "
             "never shown or exported.",
             "So support can work on your service when you ask them to.",
             "You, on the Support credentials page.",
             "No one; support staff see them only inside a recorded access session.",
             "Until the expiry you chose (at most 90 days), then deleted.",
             CREDENTIAL_COLUMNS,
             order=70, rows=credential_rows, page=PAGE, summary=_credentials_card),
    Category("staff_access", "Staff access",
             "Each time support staff asked to open your account: who, when, why, for how "
             "long, and your decision.",
             "So you can see and control staff access.",
             "Us, when staff ask for access.",
             "No one.",
             "As long as your account exists.",
             ("requested_at", "staff", "reason", "ticket", "note", "status", "break_glass",
              "minutes", "started_at", "expires_at", "ended_at", "end_reason"),
             order=170, rows=access_rows, page=PAGE),
    Category("privacy_trail", "Privacy record",
             "The tamper-evident record of privacy events on your account: changes, staff "
             "views, requests, exports. It names the fields involved, never their values.",
             "Accountability: it proves what was done with your data, and by whom.",
             "Us, as things happen.",
             "No one.",
             "As long as the law needs the evidence, also after the account is closed.",
             ("at", "action", "object", "fields", "actor_role", "actor", "result",
              "reason_code", "ticket", "ip"),
             order=180, rows=trail_rows, page=PAGE, count=_trail_count),
    erase=erase,
)


def _glance(account: Account) -> dict[str, Any]:
    """The last time staff opened the account, and any request waiting for the customer."""
    sessions = select(AccessSession).where(AccessSession.account_id == account.id)
    last = db.session.execute(sessions.where(AccessSession.started_at.is_not(None))
                              .order_by(AccessSession.started_at.desc()).limit(1)).scalar()
    waiting = db.session.execute(sessions.where(AccessSession.status == PENDING)
                                 .order_by(AccessSession.requested_at)).scalars().all()
    return {"last": last, "waiting": waiting, "now": utcnow()}


register_glance(Glance("staff_access", "Staff access", "privacy_client.staff_access",
                       "privacy/access/glance.html", _glance, order=30))
