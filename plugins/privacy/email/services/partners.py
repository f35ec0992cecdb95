"""Co-marketing shares (P15, P24): consenting subscribers' contact fields, never billing.

The file holds first name, last name and email address, and only for house customers whose
"partner offers" switch is on and whose processing is not restricted or objected to. Each
subscriber in it gets a disclosure row they can see; the share itself goes on the trail.
"""

from __future__ import annotations

import csv
import io
import uuid

from sqlalchemy import select

from panel import audit
from panel.accounts.models import CLOSED, Account
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.db_types import utcnow
from panel.extensions import db
from plugins.privacy.email.models import PartnerDisclosure
from plugins.privacy.email.services import preferences as email_prefs

CATEGORY = "partner_offers"
#: Contact fields only. Billing fields (address, tax id, cards, invoices) are never shared.
SHARED_FIELDS = ("first_name", "last_name", "email")


class ShareError(ValueError):
    pass


def share(staff: User, partner: str, purpose: str) -> tuple[str, int]:
    """The partner's CSV and how many subscribers are in it; disclosures are recorded."""
    partner, purpose = partner.strip(), purpose.strip()
    if not partner or not purpose or len(partner) > 120 or len(purpose) > 200:
        raise ShareError("Name the partner (120 characters at most) and the promotion "
                         "(200 at most).")
    rows = db.session.execute(
        select(Account, User).join(User, User.account_id == Account.id)
        .where(Account.reseller_id.is_(None), Account.status != CLOSED, User.active.is_(True))
        .order_by(Account.number)).all()
    wanted = email_prefs.eligible(CATEGORY, [account.id for account, _ in rows])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SHARED_FIELDS)
    share_id, now, count = uuid.uuid4(), utcnow(), 0
    for account, user in rows:
        if account.id not in wanted:
            continue
        writer.writerow([_safe(account.first_name), _safe(account.last_name), _safe(user.email)])
        db.session.add(PartnerDisclosure(account_id=account.id, share_id=share_id,
                                         partner=partner, purpose=purpose,
                                         fields=list(SHARED_FIELDS), staff_id=staff.id, at=now))
        count += 1
    audit.record(AuditEvent("partner.share", actor=staff, object=f"partner file {share_id} for "
                            f"{partner}: {count} consenting subscribers", fields=list(SHARED_FIELDS)))
    db.session.commit()
    return out.getvalue(), count


def _safe(value: str | None) -> str:
    """Spreadsheet formula injection: a cell must not start with = + - @."""
    text = value or ""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
