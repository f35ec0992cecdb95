"""Audit events: what the core and plugins report, for the trail the privacy plugin keeps.

An event names fields, never their values. The request's IP, browser and request id are
added here, so no caller can forget them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import g, has_request_context, request

from panel.hooks import hook

if TYPE_CHECKING:
    from panel.auth.models import User


@dataclass
class AuditEvent:
    action: str  # dotted verb, e.g. "account.view", "plugin.deactivate"
    actor: User | None = None
    account_id: uuid.UUID | None = None
    object: str = ""  # what was acted on, e.g. "domain example.com contact admin"
    result: str = "ok"
    fields: list[str] = field(default_factory=list)
    reason_code: str | None = None
    ticket: str | None = None
    session_id: uuid.UUID | None = None
    on_behalf_of: uuid.UUID | None = None  # the customer, when staff act as them
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None

    def __post_init__(self) -> None:
        if has_request_context():
            self.ip = self.ip or request.remote_addr
            self.user_agent = self.user_agent or (request.user_agent.string or "")[:256]
            self.request_id = self.request_id or g.get("request_id")


def record(event: AuditEvent) -> None:
    """Report an event; it lands in the caller's transaction, with the change it describes."""
    hook().panel_audit_event(event=event)
