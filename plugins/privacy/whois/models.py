"""WHOIS privacy (P19, P20, P24): the privacy service's identity, the contact relay, complaint
cases with their documents and steps, and the disclosures made at the end of a case."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from panel.crypto import Sealed, sealed_column
from panel.db_types import UTCDateTime, utcnow, uuid_pk
from panel.extensions import db

DEFAULT_IDENTITY = {
    "name": "Privacy Service",
    "organization": "Hosting Panel Domain Privacy",
    "street": "1 Registry Square",
    "city": "London",
    "state": "",
    "postcode": "EC1A 1AA",
    "country": "GB",
    "phone": "+442079460999",
    "web_form": "",  # empty: the panel's own /whois/contact/<domain>
}
DEFAULT_ANSWER_DAYS = 14


class WhoisSettings(db.Model):
    """The privacy service's published identity (one row, edited by admins). Company data,
    not personal data, so stored plainly."""

    __tablename__ = "privacy_whois_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    organization: Mapped[str] = mapped_column(String(120))
    street: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(120), default="")
    postcode: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))
    phone: Mapped[str] = mapped_column(String(32))
    web_form: Mapped[str] = mapped_column(String(255), default="")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DomainRelay(db.Model):
    """The registrant's switch for messages from the WHOIS contact form (on by default)."""

    __tablename__ = "privacy_domain_relay"

    domain_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("domain.id", ondelete="CASCADE"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class RelayMessage(db.Model):
    """One message through the contact relay. The sender's address is kept sealed only so the
    registrant can answer through the panel, and the row is deleted at ``expires_at``."""

    __tablename__ = "privacy_relay_message"

    id: Mapped[uuid.UUID] = uuid_pk()
    domain_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("domain.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True)
    _sender_name: Mapped[str | None] = sealed_column("sender_name")
    sender_name = Sealed()
    _sender_email: Mapped[str | None] = sealed_column("sender_email")
    sender_email = Sealed()
    _body: Mapped[str | None] = sealed_column("body")
    body = Sealed()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


LEGAL_BASES = {
    "court_order": "Court order",
    "law_enforcement": "Law enforcement request",
    "trademark": "Trademark or intellectual property claim",
    "defamation": "Defamation or unlawful content",
    "abuse": "Abuse (spam, phishing, malware)",
    "other": "Other legal claim",
}
ANSWERS = {
    "contacted": "I have contacted the complainant and give the indemnity assurance",
    "consent": "I consent to disclosing my contact data to the complainant",
    "dispute": "I dispute the complaint",
}
OPEN, ANSWERED, AWAITING_STAFF = "open", "answered", "awaiting_staff"
RESOLVED, DISCLOSED, DEACTIVATED = "resolved", "disclosed", "deactivated"
LIVE = (OPEN, ANSWERED, AWAITING_STAFF)
STATUS_LABELS = {OPEN: "waiting for the customer's answer", ANSWERED: "answered",
                 AWAITING_STAFF: "no answer in time: awaiting staff decision",
                 RESOLVED: "closed: resolved", DISCLOSED: "closed: contact data disclosed",
                 DEACTIVATED: "closed: domain deactivated"}


class ComplaintCase(db.Model):
    """A legal complaint about a privacy-protected domain (P20)."""

    __tablename__ = "privacy_complaint_case"

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True)
    domain_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("domain.id", ondelete="CASCADE"), index=True)
    domain_name: Mapped[str] = mapped_column(String(253))
    status: Mapped[str] = mapped_column(String(16), index=True)
    _complainant_name: Mapped[str | None] = sealed_column("complainant_name")
    complainant_name = Sealed()
    _complainant_email: Mapped[str | None] = sealed_column("complainant_email")
    complainant_email = Sealed()
    legal_basis: Mapped[str] = mapped_column(String(32))
    _details: Mapped[str | None] = sealed_column("details")
    details = Sealed()
    opened_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    answer: Mapped[str | None] = mapped_column(String(16))
    _answer_text: Mapped[str | None] = sealed_column("answer_text")
    answer_text = Sealed()
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    @property
    def basis_label(self) -> str:
        return LEGAL_BASES.get(self.legal_basis, self.legal_basis)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def answer_label(self) -> str:
        return ANSWERS.get(self.answer or "", "no answer yet")

    @property
    def is_live(self) -> bool:
        return self.status in LIVE


class CaseDocument(db.Model):
    """A document the complainant sent: an encrypted file under instance/complaints/, with its
    own key sealed here (P02)."""

    __tablename__ = "privacy_case_document"

    id: Mapped[uuid.UUID] = uuid_pk()
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("privacy_complaint_case.id", ondelete="CASCADE"), index=True)
    _filename: Mapped[str | None] = sealed_column("filename")
    filename = Sealed()
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    file_path: Mapped[str] = mapped_column(String(500))  # relative to instance_path
    _file_key: Mapped[str | None] = sealed_column("file_key")
    file_key = Sealed()
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseEvent(db.Model):
    """One step of a case as the customer and staff read it (the trail holds the proof)."""

    __tablename__ = "privacy_case_event"

    id: Mapped[uuid.UUID] = uuid_pk()
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("privacy_complaint_case.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))  # "Support (Grace)", "customer", "system"
    kind: Mapped[str] = mapped_column(String(32))
    _note: Mapped[str | None] = sealed_column("note")
    note = Sealed()


class Disclosure(db.Model):
    """Personal data given to someone outside (P24): to whom, what, why, when, by whom."""

    __tablename__ = "privacy_disclosure"

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("privacy_complaint_case.id", ondelete="SET NULL"), index=True)
    domain_name: Mapped[str] = mapped_column(String(253))
    _recipient: Mapped[str | None] = sealed_column("recipient")
    recipient = Sealed()
    legal_basis: Mapped[str] = mapped_column(String(32))
    fields: Mapped[list[str]] = mapped_column(JSON)
    consented: Mapped[bool] = mapped_column(Boolean, default=False)
    disclosed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disclosed_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    @property
    def basis_label(self) -> str:
        return LEGAL_BASES.get(self.legal_basis, self.legal_basis)
