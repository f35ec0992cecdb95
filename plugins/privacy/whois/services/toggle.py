"""Switching a domain's WHOIS privacy on or off (P19), through the registrar hook.

The registrar is asked first (``panel_registrar_set_privacy``, like WHMCS's IDProtectToggle);
only if every implementation accepts is the new state stored, so what the panel stores and
what WHOIS/RDAP publish never disagree. A refusal is recorded on the trail and explained.
"""

from __future__ import annotations

import logging
from typing import Any

from panel import audit
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.db_types import utcnow
from panel.domains.models import Domain
from panel.domains.registrar import RegistrarError
from panel.extensions import db
from panel.hooks import hook
from plugins.privacy.access.models import AuditEntry

log = logging.getLogger("panel.whois")


class ToggleError(ValueError):
    """The change was not applied; the message says why, for the person who asked."""


def _event(action: str, domain: Domain, actor: User | None, result: str = "ok") -> AuditEvent:
    return AuditEvent(action, actor=actor, account_id=domain.account_id,
                      object=f"domain {domain.name} privacy", fields=["privacy_enabled"],
                      result=result)


def set_privacy(domain: Domain, enabled: bool, actor: User | None) -> bool:
    """Apply and store; returns False when it was already so. Raises ToggleError."""
    if bool(domain.privacy_enabled) == enabled:
        return False
    name, action = domain.name, f"whois.privacy_{'on' if enabled else 'off'}"
    try:
        hook().panel_registrar_set_privacy(domain=domain, enabled=enabled)
    except RegistrarError as exc:
        reason = str(exc) or "the registrar refused the change"
        _refused(domain, action, actor)
        raise ToggleError(f"WHOIS privacy for {name} was not changed: {reason}") from None
    except Exception:  # noqa: BLE001 - any registrar failure leaves everything as it was
        log.exception("registrar failed to set privacy for %s", name)
        _refused(domain, action, actor)
        raise ToggleError(f"WHOIS privacy for {name} was not changed: the registrar could "
                          "not apply it (the error was logged). Try again later.") from None
    domain.privacy_enabled = enabled
    domain.updated_at = utcnow()
    audit.record(_event(action, domain, actor))
    db.session.commit()
    return True


def _refused(domain: Domain, action: str, actor: User | None) -> None:
    db.session.rollback()  # anything an implementation half-did goes
    audit.record(_event(action, domain, actor, result="refused by registrar"))
    db.session.commit()


def history(domain: Domain, limit: int = 100) -> list[Any]:
    """Trail entries about this domain (privacy changes, contact changes, complaint steps)."""
    from sqlalchemy import select

    prefix = f"domain {domain.name} "
    return list(db.session.execute(
        select(AuditEntry).where(AuditEntry.account_id == domain.account_id,
                                 AuditEntry.object.startswith(prefix, autoescape=True))
        .order_by(AuditEntry.seq.desc()).limit(limit)).scalars())
