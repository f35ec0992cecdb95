"""Trail entries in plain words: the one place that turns an entry into a sentence.

Every screen that shows the trail (the customer's staff access, change and domain history,
the reseller's and staff's pages, the admin trail) calls ``describe``: people read "Sam
Support (staff) viewed your account details for ticket TICKET-4242", never "account.view" or
"access session 6081a400-…". The action code, the object, the ids and the hashes stay
available under "Details", because they are the evidence. An action missing from
``PHRASES`` still reads as a sentence (tests/privacy/access/test_words.py walks every action
the code can write, so a new one without words fails there first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from plugins.privacy.access.models import REASONS

#: action -> what the actor did, after "<who> ". Placeholders: {your} ("your" for the
#: customer the entry is about, "the customer's" for anyone else), {you}, {domain},
#: {fields} (" (name, email)" or ""), {kind} ("an erasure"), {the_kind} ("the erasure"),
#: {thing} (what the object names: a service, a plugin, a credential kind).
PHRASES: dict[str, str] = {
    # accounts and profiles
    "account.view": "viewed {your} account details",
    "account.create": "created {your} account",
    "account.create_refused": "tried to add a customer whose address is already in use",
    "account.invite": "sent {your} invitation email",
    "account.invitation_accept": "accepted the invitation and chose a password",
    "account.suspend": "suspended {your} account",
    "account.reinstate": "reinstated {your} account",
    "account.update": "changed {your} details{fields}",
    "account.signup": "signed up",
    "account.close": "closed {your} account",
    "account.reopen": "reopened {your} account",
    "account.erase": "erased the personal data of {your} account",
    "account.email_change_request": "asked to change {your} sign-in email address",
    "account.email_change": "changed {your} sign-in email address",
    "account.email_change_cancel": "cancelled the change of {your} sign-in email address",
    "domain_contact.update": "changed the contacts of {domain}{fields}",
    "user.suspend": "suspended a sign-in",
    "user.reinstate": "reinstated a sign-in",
    # signing in
    "mfa.enrol": "turned on two-step sign-in",
    "mfa.disable": "turned off two-step sign-in",
    "mfa.recovery_codes": "made new recovery codes",
    "mfa.reset": "reset {your} two-step sign-in",
    "password.change": "changed {your} password",
    "password.reset": "chose a new password with a reset link",
    "password.reset_link": "sent a link to choose a new password",
    "passkey.add": "added a passkey",
    "passkey.remove": "removed a passkey",
    "session.end": "signed out one signed-in browser",
    "sessions.revoke": "signed out every other session",
    # services, mail, the install
    "service.cancel_request": "asked to cancel {thing}",
    "service.cancel": "cancelled {thing}",
    "service.cancel_withdraw": "withdrew the cancellation of {thing}",
    "mail.retry": "queued a message to be sent again",
    "mail.read": "read a message in the local mailbox",
    "reseller.brand_update": "changed the white label",
    "plugin.activate": "activated the {thing} plugin",
    "plugin.deactivate": "deactivated the {thing} plugin",
    "keys.rotate": "rotated the encryption keys",
    "keys.regroup": "moved sealed fields into one envelope per record",
    "keys.retire": "retired an old encryption key",
    "keys.rewrap": "wrapped the encryption keys with a new master key",
    # staff access (P16, P17)
    "access.request": "asked to open {your} account",
    "access.approve": "approved staff access to {your} account",
    "access.deny": "refused staff access to {your} account",
    "access.start": "opened {your} account",
    "access.end": "ended the access to {your} account",
    "access.expire": "closed the access to {your} account when its time ran out",
    "access.revoke": "revoked staff access to {your} account",
    "access.act_as": "signed in as {you}",
    "access.settings": "changed the staff access settings",
    "access.approval_link": "used an approval link from an email",
    "client.view": "viewed a page of {your} account",
    "credential.add": "gave support {thing} credential",
    "credential.delete": "deleted {thing} credential",
    "credential.reveal": "revealed {thing} credential",
    "credential.expire": "deleted {thing} credential when it expired",
    "staff_help.request": "offered to help {you} sign in",
    "staff_help.cancel": "cancelled support's sign-in help",
    "staff_help.apply": "carried out support's sign-in help",
    # data requests (P06, P08, P26)
    "request.file": "made {kind} request",
    "request.view": "viewed {the_kind} request",
    "request.verify": "confirmed the identity behind {the_kind} request",
    "request.fulfil": "completed {the_kind} request",
    "request.refuse": "refused {the_kind} request",
    "identity_document.add": "added an identity document to a request",
    "identity_document.view": "viewed the identity document of a request",
    "identity_document.delete": "deleted the identity document once it was checked",
    "removal.request": "asked the host to remove {your} data",
    "removal.complete": "removed {your} data as the provider asked",
    "removal.refuse": "refused the provider's request to remove {your} data",
    "erasure.ask": "asked a second staff member to approve an erasure",
    "erasure.approve": "approved an erasure",
    "erasure.reject": "rejected an erasure",
    "export.request": "asked for a copy of {your} data",
    "export.ready": "prepared a copy of {your} data",
    "export.download": "downloaded a copy of {your} data",
    "export.expire": "deleted an expired copy of {your} data",
    "export.fail": "could not prepare a copy of {your} data",
    "policy.publish": "published a new version of the privacy policy",
    "policy.accept": "accepted the privacy policy",
    # domains and WHOIS (P19, P20)
    "whois.privacy_on": "turned WHOIS privacy on for {domain}",
    "whois.privacy_off": "turned WHOIS privacy off for {domain}",
    "whois.relay_on": "turned contact-form messages on for {domain}",
    "whois.relay_off": "turned contact-form messages off for {domain}",
    "whois.relay_message": "passed on a message from the WHOIS contact form for {domain}",
    "whois.relay_reply": "answered a WHOIS contact-form message for {domain}",
    "whois.settings": "changed the identity of the WHOIS privacy service",
    "domain.view": "viewed {domain}",
    "domain.suspend": "deactivated {domain}",
    "complaint.open": "opened a complaint case about {domain}",
    "complaint.document_add": "added a document to the complaint about {domain}",
    "complaint.view": "viewed the complaint about {domain}",
    "complaint.document_view": "viewed a document of the complaint about {domain}",
    "complaint.answer": "answered the complaint about {domain}",
    "complaint.deadline": "noted that the complaint about {domain} was not answered in time",
    "complaint.resolved": "closed the complaint about {domain} as resolved",
    "complaint.disclosed": "closed the complaint about {domain} by disclosing the contact data",
    "complaint.deactivated": "closed the complaint about {domain} by deactivating the domain",
    "data.disclose": "disclosed the registrant data of {domain} to the complainant",
    # email (P12-P15, P27)
    "email_preferences.change": "changed {your} email preferences",
    "email_preferences.view": "viewed {your} email preferences and consent history",
    "email_links.revoke": "made the links in email sent so far stop working",
    "partner.share": "shared contact details with a partner",
    "campaign.send": "sent a newsletter",
    # retention (P09, P22)
    "retention.purge": "deleted data whose time to be kept had ended",
    "retention.hold": "put a legal hold on {your} account",
    "retention.release": "released the legal hold on {your} account",
    "audit.export": "exported audit trail entries as a spreadsheet (CSV)",
}

ROLES = {"staff": "staff", "admin": "administrator", "reseller": "reseller"}
RESULTS = {"refused": "It was refused.", "denied": "It was refused.",
           "failed": "It failed.", "dropped": "It was dropped."}
_DOMAIN = re.compile(r"\bdomain (\S+)")
_KIND = re.compile(r"^(\w+) (?:request|credential)\b")
_THING = re.compile(r"^(?:service|plugin) (.+)$")
_MACHINE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-|[0-9a-f]{32}|\b[a-z_]+\.[a-z_]+\b")
KINDS = {"erasure": "an erasure", "restriction": "a restriction", "objection": "an objection",
         "rectification": "a rectification", "access": "an access", "export": "an export"}
CREDENTIALS = {"ftp": "an FTP", "ssh": "an SSH", "rdp": "a remote desktop",
               "panel": "a control panel", "api": "an API key"}


@dataclass
class Line:
    """An entry as people read it; ``details`` is the evidence, (label, value, is_token)."""

    at: Any
    sentence: str
    details: list[tuple[str, str, bool]] = field(default_factory=list)
    result: str = "ok"


def _words(action: str) -> str:
    """An unknown action as words: "thing.did_this" -> "thing: did this"."""
    return re.sub(r"[._]+", " ", action).strip()


def _who(e: Any, viewer: Any, mine: bool, provider: str | None = None) -> str:
    role = e.actor_role
    if viewer is not None and e.actor_id is not None and e.actor_id == viewer.id:
        who = "You"
    elif role == "system" or (e.actor_id is None and role not in ROLES):
        who = "The panel"
    elif role not in ROLES:
        who = "You" if mine else "The customer"
    elif role == "reseller" and mine:
        who = f"{provider or e.actor_label} (your provider)"
    else:
        who = f"{e.actor_label} ({ROLES[role]})"
    if e.on_behalf_of is not None:
        who += ", acting as you," if mine else ", acting as the customer,"
    return who


def _fill(phrase: str, e: Any, mine: bool) -> str:
    obj = e.object or ""
    domain = _DOMAIN.search(obj)
    kind = _KIND.search(obj)
    thing = _THING.search(obj)
    fields = [f.replace("registrant.", "").replace("_", " ") for f in (e.fields or [])]
    kind_word = kind.group(1) if kind else ""
    the_kind = kind_word if kind_word in KINDS else "data"
    if "credential" in obj:
        thing_text = CREDENTIALS.get(kind_word, "a support") + " credential"
        phrase = phrase.replace("{thing} credential", "{thing}")
    else:
        thing_text = thing.group(1) if thing else "a service"
    return phrase.format(
        your="your" if mine else "the customer's", you="you" if mine else "the customer",
        domain=domain.group(1) if domain else "a domain",
        fields=f" ({', '.join(fields)})" if fields else "",
        kind=KINDS.get(kind_word, "a data"), the_kind=f"the {the_kind}", thing=thing_text)


def describe(e: Any, viewer: Any = None, provider: str | None = None) -> Line:
    """``e`` (an AuditEntry) as a sentence for ``viewer``: "you"/"your" when the viewer is
    the customer the entry is about, "the customer" for staff, resellers and admins.
    ``provider`` is the brand a reseller's customer knows their provider by (white label)."""
    mine = (viewer is not None and getattr(viewer, "role", None) == "subscriber"
            and e.account_id is not None and viewer.account_id == e.account_id)
    phrase = PHRASES.get(e.action)
    what = (_fill(phrase, e, mine) if phrase is not None
            else f"did something recorded as “{_words(e.action)}”")
    sentence = f"{_who(e, viewer, mine, provider)} {what}"
    if e.ticket:
        sentence += f" for ticket {e.ticket}"
    elif e.reason_code and e.reason_code in REASONS:
        sentence += f" ({REASONS[e.reason_code].lower()})"
    sentence += "."
    if e.result and e.result != "ok":
        sentence += " " + RESULTS.get(e.result, f"Outcome: {_words(e.result)}.")
    details: list[tuple[str, str, bool]] = [("Recorded as", e.action, True)]
    if e.object:
        details.append(("About", e.object, bool(_MACHINE.search(e.object))))
    if e.fields:
        details.append(("Fields", ", ".join(e.fields), True))
    if e.reason_code:
        details.append(("Reason code", e.reason_code, True))
    if e.session_id:
        details.append(("Access session", str(e.session_id), True))
    if e.request_id:
        details.append(("Request", e.request_id, True))
    details.append(("Result", e.result, False))
    if getattr(e, "seq", None):
        details.append(("Trail entry", str(e.seq), False))
    if getattr(e, "entry_hash", None):
        details.append(("Entry hash", e.entry_hash, True))
    return Line(e.at, sentence, details, e.result)


def action_choices() -> list[tuple[str, str]]:
    """Every known action with its words, for a filter: ("whois.privacy_on", "turned WHOIS
    privacy on for a domain")."""
    general = {"your": "the customer's", "you": "the customer", "domain": "a domain",
               "fields": "", "kind": "a", "the_kind": "a", "thing": "a service"}
    out = [(action, phrase.replace("{thing} credential", "a credential")
            .replace("the {thing} plugin", "a plugin").format(**general))
           for action, phrase in PHRASES.items()]
    return sorted(out, key=lambda pair: pair[1])
