"""The legal-disclosure process for privacy-protected domains (P20, P24; seed 003 "Domain
Privacy").

Staff open a case inside an access session: who complains, on what legal basis, and the
documents they sent (encrypted files). The customer is told and has PRIVACY_COMPLAINT_DAYS
(14) to answer in the panel: they contacted the complainant and give the indemnity assurance,
they consent to disclosure, or they dispute. `panel cron` moves unanswered cases past their
deadline to "awaiting staff decision" and tells staff. Staff close the case as resolved,
disclosed (the registrant's data goes to the complainant only, through the outbox, and a
disclosure is recorded that the customer sees) or deactivated (the domain is suspended).
Each step is a case event the customer reads on the domain page and an entry on the trail.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, select, update

from panel import audit
from panel.accounts.models import Account
from panel.audit import AuditEvent
from panel.auth.models import STAFF_ROLES, User
from panel.crypto.files import EncryptingWriter, decrypt_chunks
from panel.db_types import utcnow
from panel.domains.models import CONTACT_FIELDS, Domain
from panel.extensions import db
from panel.mail.outbox import queue
from panel.urls import external_url
from plugins.privacy.whois.models import (
    ANSWERED,
    ANSWERS,
    AWAITING_STAFF,
    DEACTIVATED,
    DEFAULT_ANSWER_DAYS,
    DISCLOSED,
    LEGAL_BASES,
    LIVE,
    OPEN,
    RESOLVED,
    CaseDocument,
    CaseEvent,
    ComplaintCase,
    Disclosure,
)

DOCUMENT_MAX_BYTES = 4 * 1024 * 1024
MAX_DOCUMENTS = 3
#: content type -> the bytes such a file starts with (the declared type must match the file)
DOCUMENT_TYPES = {"application/pdf": (b"%PDF-",), "image/png": (b"\x89PNG\r\n\x1a\n",),
                  "image/jpeg": (b"\xff\xd8\xff",), "text/plain": ()}
LEGAL_ORDERS = frozenset({"court_order", "law_enforcement"})
OUTCOMES = {RESOLVED: "Resolved", DISCLOSED: "Disclose the registrant's data to the complainant",
            DEACTIVATED: "Deactivate (suspend) the domain"}
EVENT_LABELS = {
    "opened": "Complaint received and case opened",
    "notified": "Customer notified by email",
    "document": "Document added to the case",
    "answered": "Customer answered",
    "deadline": "No answer before the deadline: awaiting staff decision",
    RESOLVED: "Case closed as resolved",
    DISCLOSED: "Registrant data disclosed to the complainant",
    DEACTIVATED: "Domain deactivated",
}


class CaseError(ValueError):
    """A step that cannot be taken; the message is for the person who tried."""


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def answer_days() -> int:
    return max(1, int(current_app.config.get("PRIVACY_COMPLAINT_DAYS", DEFAULT_ANSWER_DAYS)))


def check_uploads(uploads: list[Upload]) -> None:
    """Refuse anything but a few small PDF, PNG, JPEG or text files, checked by content."""
    if len(uploads) > MAX_DOCUMENTS:
        raise CaseError(f"Attach at most {MAX_DOCUMENTS} documents.")
    for u in uploads:
        name = u.filename or "document"
        if u.content_type not in DOCUMENT_TYPES:
            raise CaseError(f"{name}: upload a PDF, PNG, JPEG or plain-text file.")
        if not u.data or len(u.data) > DOCUMENT_MAX_BYTES:
            raise CaseError(f"{name}: each document must be between 1 byte and 4 MB.")
        magic = DOCUMENT_TYPES[u.content_type]
        if magic and not u.data.startswith(magic):
            raise CaseError(f"{name}: the file is not really a {u.content_type.split('/')[1].upper()}.")
        if u.content_type == "text/plain":
            try:
                u.data.decode("utf-8")
            except UnicodeDecodeError:
                raise CaseError(f"{name}: a text document must be UTF-8 text.") from None


def _label(user: User | None) -> str:
    if user is None:
        return "system"
    if user.role in STAFF_ROLES:
        return f"Support ({user.label})"[:120]
    return "customer"


def _event(case: ComplaintCase, kind: str, actor: User | None, note: str | None = None) -> None:
    db.session.add(CaseEvent(case_id=case.id, at=utcnow(), actor=_label(actor), kind=kind,
                             note=note or None))


def _trail(action: str, case: ComplaintCase, actor: User | None, fields: list[str] | None = None,
           result: str = "ok") -> None:
    audit.record(AuditEvent(action, actor=actor, account_id=case.account_id,
                            object=f"domain {case.domain_name} complaint {case.id}",
                            fields=fields or [], result=result))


# --- documents: encrypted files under instance/complaints/ ---------------------------------


def _doc_dir(case: ComplaintCase) -> Path:
    path = Path(current_app.instance_path) / "complaints" / str(case.id)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _context(doc: CaseDocument) -> str:
    return f"privacy_case_document|{doc.id}"


def _store(case: ComplaintCase, upload: Upload) -> CaseDocument:
    key = os.urandom(32)
    doc = CaseDocument(case_id=case.id, filename=(upload.filename or "document")[:200],
                       content_type=upload.content_type, size=len(upload.data), file_path="",
                       uploaded_at=utcnow())
    doc.file_path = f"complaints/{case.id}/{doc.id}.bin"
    doc.file_key = base64.b64encode(key).decode()
    path = Path(current_app.instance_path) / doc.file_path
    _doc_dir(case)
    with EncryptingWriter(path, key, _context(doc)) as out:
        out.write(upload.data)
    db.session.add(doc)
    return doc


def document_bytes(doc: CaseDocument) -> Iterator[bytes]:
    key = base64.b64decode(doc.file_key or "")
    return decrypt_chunks(Path(current_app.instance_path) / doc.file_path, key, _context(doc))


def documents(case: ComplaintCase) -> list[CaseDocument]:
    return list(db.session.execute(select(CaseDocument).where(CaseDocument.case_id == case.id)
                                   .order_by(CaseDocument.uploaded_at)).scalars())


def add_documents(case: ComplaintCase, staff: User, uploads: list[Upload]) -> None:
    if not case.is_live:
        raise CaseError("This case is closed.")
    if not uploads:
        raise CaseError("Choose a file to attach.")
    if len(documents(case)) + len(uploads) > MAX_DOCUMENTS * 2:
        raise CaseError("This case already holds as many documents as it may.")
    check_uploads(uploads)
    written: list[Path] = []
    try:
        for u in uploads:
            doc = _store(case, u)
            written.append(Path(current_app.instance_path) / doc.file_path)
            _event(case, "document", staff, doc.content_type)
        _trail("complaint.document_add", case, staff)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        for path in written:
            path.unlink(missing_ok=True)
        raise


# --- the case -------------------------------------------------------------------------------


def open_case(domain: Domain, staff: User, *, complainant_name: str, complainant_email: str,
              legal_basis: str, details: str, uploads: list[Upload]) -> ComplaintCase:
    if staff.role not in STAFF_ROLES:
        raise CaseError("Only support staff can open a complaint case.")
    if not domain.privacy_enabled:
        raise CaseError("This domain's data is published in WHOIS already: a disclosure case "
                        "is only for privacy-protected domains.")
    if legal_basis not in LEGAL_BASES:
        raise CaseError("Choose the legal basis of the complaint.")
    check_uploads(uploads)
    now = utcnow()
    case = ComplaintCase(account_id=domain.account_id, domain_id=domain.id,
                         domain_name=domain.name, status=OPEN, complainant_name=complainant_name,
                         complainant_email=complainant_email, legal_basis=legal_basis,
                         details=details, opened_by=staff.id, opened_at=now,
                         due_at=now + timedelta(days=answer_days()))
    db.session.add(case)
    db.session.flush()
    written: list[Path] = []
    try:
        _event(case, "opened", staff, LEGAL_BASES[legal_basis])
        for u in uploads:
            doc = _store(case, u)
            written.append(Path(current_app.instance_path) / doc.file_path)
            _event(case, "document", staff, doc.content_type)
        _trail("complaint.open", case, staff, ["complainant", "legal_basis", "details"]
               + (["documents"] if uploads else []))
        if _notify_customer(case, "A legal complaint was made about your domain {name}",
                            [f"We received a legal complaint about {case.domain_name} "
                             f"({case.basis_label}).",
                             "Your contact data is protected by WHOIS privacy and has NOT been "
                             "given to the complainant.",
                             f"Please answer in the panel by {case.due_at:%d %B %Y}: tell us you "
                             "have contacted the complainant (and give the indemnity "
                             "assurance), consent to disclosure, or dispute the complaint.",
                             "If you do not answer in time, the domain may be deactivated and "
                             "your contact data disclosed to the complainant."]):
            _event(case, "notified", None)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return case


def _notify_customer(case: ComplaintCase, subject: str, lines: list[str]) -> bool:
    account = db.session.get(Account, case.account_id)
    user = account.user if account else None
    if user is None or not user.email:
        return False
    link = external_url("privacy_whois_client.case", domain_id=case.domain_id, case_id=case.id)
    queue(to=user.email, subject=subject.format(name=case.domain_name),
          body="\n".join([*lines, "", f"See the case and answer: {link}"]),
          account_id=case.account_id)
    return True


def answer(case: ComplaintCase, user: User, choice: str, text: str, indemnity: bool) -> None:
    """The customer's answer; allowed until staff close the case (late answers are marked)."""
    if not case.is_live or case.answer:
        raise CaseError("This case has already been answered or closed.")
    if choice not in ANSWERS:
        raise CaseError("Choose one of the answers.")
    if choice == "contacted" and not indemnity:
        raise CaseError("To answer that you contacted the complainant, give the indemnity "
                        "assurance (tick the box).")
    if choice in ("contacted", "dispute") and not text.strip():
        raise CaseError("Say briefly how you contacted the complainant, or why you dispute the "
                        "complaint.")
    late = case.status == AWAITING_STAFF
    done = db.session.execute(
        update(ComplaintCase).where(ComplaintCase.id == case.id,
                                    ComplaintCase.status.in_((OPEN, AWAITING_STAFF)),
                                    ComplaintCase.answer.is_(None))
        .values(status=ANSWERED, answer=choice, answered_at=utcnow())
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise CaseError("This case has already been answered or closed.")
    db.session.refresh(case)
    case.answer_text = text.strip() or None
    note = ANSWERS[choice] + (" (after the deadline)" if late else "")
    if choice == "contacted":
        note += "; indemnity assurance given"
    _event(case, "answered", user, note)
    _trail("complaint.answer", case, user, ["answer"] + (["indemnity"] if indemnity else []))
    db.session.commit()


def close(case: ComplaintCase, staff: User, outcome: str, note: str) -> Disclosure | None:
    """End the case. Disclosure needs consent, a missed deadline, or a legal order (P24)."""
    if staff.role not in STAFF_ROLES:
        raise CaseError("Only support staff can close a case.")
    if not case.is_live:
        raise CaseError(f"This case is already {case.status_label}.")
    if outcome not in OUTCOMES:
        raise CaseError("Choose how to close the case.")
    if not note.strip():
        raise CaseError("Write a note for the customer saying why.")
    if outcome == DISCLOSED and not (case.answer == "consent" or case.status == AWAITING_STAFF
                                     or case.legal_basis in LEGAL_ORDERS):
        raise CaseError("Disclosure needs the customer's consent, a missed answer deadline, or "
                        "a court order or law-enforcement request.")
    domain = db.session.get(Domain, case.domain_id)
    if domain is None:
        raise CaseError("The domain is no longer registered here.")
    if outcome == DISCLOSED and domain.contact("registrant") is None:
        raise CaseError("The domain has no registrant contact to disclose.")
    done = db.session.execute(
        update(ComplaintCase).where(ComplaintCase.id == case.id, ComplaintCase.status.in_(LIVE))
        .values(status=outcome, closed_at=utcnow(), closed_by=staff.id)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise CaseError("Someone else closed this case first; nothing was changed.")
    db.session.refresh(case)
    disclosure = None
    if outcome == DISCLOSED:
        disclosure = _disclose(case, domain, staff)
    elif outcome == DEACTIVATED:
        domain.status, domain.updated_at = "suspended", utcnow()
        audit.record(AuditEvent("domain.suspend", actor=staff, account_id=case.account_id,
                                object=f"domain {domain.name} complaint {case.id}",
                                fields=["status"]))
    _event(case, outcome, staff, note.strip())
    _trail(f"complaint.{outcome}", case, staff)
    what = {RESOLVED: "The complaint about {name} was closed as resolved.",
            DISCLOSED: "Your registrant contact data for {name} was disclosed to the "
                       "complainant.",
            DEACTIVATED: "Your domain {name} was deactivated because of the complaint."}[outcome]
    subject = {RESOLVED: "Complaint about {name}: closed as resolved",
               DISCLOSED: "Complaint about {name}: your contact data was disclosed",
               DEACTIVATED: "Complaint about {name}: the domain was deactivated"}[outcome]
    _notify_customer(case, subject,
                     [what.format(name=case.domain_name), "", f"Note from support: {note.strip()}"])
    db.session.commit()
    return disclosure


def _disclose(case: ComplaintCase, domain: Domain, staff: User) -> Disclosure:
    contact = domain.contact("registrant")
    if contact is None:
        raise CaseError("The domain has no registrant contact to disclose.")
    values = {f: getattr(contact, f) or "" for f in CONTACT_FIELDS}
    fields = [f for f in CONTACT_FIELDS if values[f]]
    labels = {"name": "Name", "organization": "Organization", "email": "Email",
              "phone": "Phone", "street": "Street", "city": "City", "state": "State/Province",
              "postcode": "Postal code", "country": "Country"}
    body = [f"In answer to your complaint about {case.domain_name} ({case.basis_label}) of "
            f"{case.opened_at:%d %B %Y}, here is the registrant's contact data:", ""]
    body += [f"{labels[f]}: {values[f]}" for f in fields]
    body += ["", "This disclosure is recorded, and the registrant has been told of it. Use the "
             "data only for the purpose of your complaint."]
    queue(to=case.complainant_email or "", subject=f"Registrant data for {case.domain_name}",
          body="\n".join(body))
    record = Disclosure(account_id=case.account_id, case_id=case.id,
                        domain_name=case.domain_name, recipient=case.complainant_email,
                        legal_basis=case.legal_basis, fields=fields,
                        consented=case.answer == "consent", disclosed_at=utcnow(),
                        disclosed_by=staff.id)
    db.session.add(record)
    audit.record(AuditEvent("data.disclose", actor=staff, account_id=case.account_id,
                            object=f"domain {case.domain_name} complaint {case.id}",
                            fields=[f"registrant.{f}" for f in fields]))
    return record


def expire_due() -> str:
    """Job: unanswered cases past their deadline wait for staff, and staff are told."""
    now = utcnow()
    moved = 0
    due = db.session.execute(select(ComplaintCase).where(
        ComplaintCase.status == OPEN, ComplaintCase.due_at <= now)).scalars().all()
    for case in due:
        done = db.session.execute(
            update(ComplaintCase).where(ComplaintCase.id == case.id, ComplaintCase.status == OPEN)
            .values(status=AWAITING_STAFF).execution_options(synchronize_session=False))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            db.session.rollback()
            continue
        db.session.refresh(case)
        _event(case, "deadline", None)
        _trail("complaint.deadline", case, None)
        staff = db.session.get(User, case.opened_by) if case.opened_by else None
        if staff is not None and staff.email:
            queue(to=staff.email, subject=f"Complaint about {case.domain_name}: no answer in time",
                  body="\n".join([f"The customer did not answer the complaint about "
                                  f"{case.domain_name} by its deadline.",
                                  "The case now awaits your decision (resolve, disclose or "
                                  "deactivate):",
                                  external_url("privacy_complaints.detail", case_id=case.id)]))
        db.session.commit()
        moved += 1
    return f"{moved} complaint cases passed their deadline"


# --- reading ------------------------------------------------------------------------------


def cases_for(domain: Domain) -> list[ComplaintCase]:
    return list(db.session.execute(select(ComplaintCase).where(
        ComplaintCase.domain_id == domain.id).order_by(ComplaintCase.opened_at.desc())).scalars())


def events(case: ComplaintCase) -> list[CaseEvent]:
    return list(db.session.execute(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                   .order_by(CaseEvent.at, CaseEvent.id)).scalars())


def disclosures_for(domain: Domain) -> list[Disclosure]:
    return list(db.session.execute(select(Disclosure).where(
        Disclosure.account_id == domain.account_id, Disclosure.domain_name == domain.name)
        .order_by(Disclosure.disclosed_at.desc())).scalars())


def erase(account: Account) -> None:
    """Erasure (P09): the account's cases, their document files, and its disclosures."""
    ids = list(db.session.execute(select(ComplaintCase.id).where(
        ComplaintCase.account_id == account.id)).scalars())
    for case_id in ids:
        shutil.rmtree(Path(current_app.instance_path) / "complaints" / str(case_id),
                      ignore_errors=True)
    if ids:
        db.session.execute(delete(CaseDocument).where(CaseDocument.case_id.in_(ids)))
        db.session.execute(delete(CaseEvent).where(CaseEvent.case_id.in_(ids)))
    db.session.execute(delete(Disclosure).where(Disclosure.account_id == account.id))
    db.session.execute(delete(ComplaintCase).where(ComplaintCase.account_id == account.id))
