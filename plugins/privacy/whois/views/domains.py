"""WHOIS privacy on a domain, for the subscriber, its reseller and staff in an access session.

The toggle routes (a contract other pages link to):
  POST /client/domains/<domain_id>/privacy    privacy_whois_client.set_privacy
  POST /reseller/domains/<domain_id>/privacy  privacy_whois_reseller.set_privacy
  POST /admin/domains/<domain_id>/privacy     privacy_whois_staff.set_privacy
each with the form field ``enabled`` = "1" or "0" (and an optional local ``next``), CSRF
protected, answering with a redirect back and a flash.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from panel import audit
from panel.audit import AuditEvent
from panel.auth.access import role_required
from panel.auth.models import ADMIN, RESELLER, STAFF, SUBSCRIBER, User
from panel.bodies import FORM_ALLOWANCE, body_limit
from panel.db_types import utcnow
from panel.domains.models import Domain
from panel.extensions import db, limiter
from panel.hooks import hook
from panel.tenancy import get_or_404, parse_id
from panel.urls import local_target
from plugins.privacy.whois.forms import AnswerForm, ComplaintForm, RelayReplyForm, SwitchForm
from plugins.privacy.whois.models import ComplaintCase, RelayMessage
from plugins.privacy.whois.services import disclosure, relay
from plugins.privacy.whois.services import toggle as privacy_toggle
from plugins.privacy.whois.services.disclosure import CaseError, Upload
from plugins.privacy.whois.services.toggle import ToggleError

client_bp = Blueprint("privacy_whois_client", __name__, url_prefix="/client/domains",
                      template_folder="../templates")
reseller_bp = Blueprint("privacy_whois_reseller", __name__, url_prefix="/reseller/domains")
staff_bp = Blueprint("privacy_whois_staff", __name__, url_prefix="/admin/domains",
                     template_folder="../templates")


@client_bp.before_request
@role_required(SUBSCRIBER)
def _subscribers_only() -> None:
    return None


@reseller_bp.before_request
@role_required(RESELLER)
def _resellers_only() -> None:
    return None


@staff_bp.before_request
@role_required(STAFF, ADMIN)
def _staff_only() -> None:
    return None


def _switch(domain: Domain, fallback: str, apply: Any, what: str) -> Any:
    """Validate the on/off form, apply it, and go back with a flash."""
    form = SwitchForm()
    back = fallback
    if not form.validate_on_submit():
        flash(f"{what} was not changed: " + "; ".join(
            e for errors in form.errors.values() for e in errors))
        return redirect(back)
    back = local_target(form.next.data) or fallback
    on = form.enabled.data == "1"
    try:
        changed = apply(domain, on, current_user)
    except ToggleError as exc:
        flash(str(exc))
        return redirect(back)
    state = "on" if on else "off"
    flash(f"{what} for {domain.name} is now {state}." if changed
          else f"{what} for {domain.name} was already {state}.")
    return redirect(back)


# --- subscriber ---------------------------------------------------------------------------


@client_bp.post("/<domain_id>/privacy")
def set_privacy(domain_id: str) -> Any:
    domain = get_or_404(current_user, Domain, domain_id)
    return _switch(domain, url_for("client.domain", domain_id=domain.id),
                   privacy_toggle.set_privacy, "WHOIS privacy")


@client_bp.post("/<domain_id>/relay")
def set_relay(domain_id: str) -> Any:
    domain = get_or_404(current_user, Domain, domain_id)
    return _switch(domain, url_for("client.domain", domain_id=domain.id),
                   relay.set_enabled, "Messages from the WHOIS contact form")


def _own_case(domain: Domain, case_id: str) -> ComplaintCase:
    case = db.session.get(ComplaintCase, parse_id(case_id))
    if case is None or case.domain_id != domain.id:
        abort(404)
    return case


@client_bp.route("/<domain_id>/complaints/<case_id>", methods=["GET", "POST"])
def case(domain_id: str, case_id: str) -> Any:
    """The customer reads the complaint and answers it (P20)."""
    domain = get_or_404(current_user, Domain, domain_id)
    found = _own_case(domain, case_id)
    form = AnswerForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                disclosure.answer(found, current_user, form.answer.data, form.text.data or "",
                                  bool(form.indemnity.data))
            except CaseError as exc:
                form.answer.errors = [str(exc)]
                status = 400
            else:
                flash("Your answer was recorded; support will be in touch.")
                return redirect(url_for("client.domain", domain_id=domain.id))
        else:
            status = 400
    return render_template("privacy/whois/case.html", domain=domain, case=found, form=form,
                           events=disclosure.events(found),
                           labels=disclosure.EVENT_LABELS), status


@client_bp.route("/<domain_id>/messages/<message_id>/reply", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"],
               key_func=lambda: f"relay-reply:{getattr(current_user, 'id', '')}")
def relay_reply(domain_id: str, message_id: str) -> Any:
    domain = get_or_404(current_user, Domain, domain_id)
    message = db.session.get(RelayMessage, parse_id(message_id))
    if message is None or message.domain_id != domain.id:
        abort(404)
    form = RelayReplyForm()
    status = 200
    if form.validate_on_submit():
        try:
            relay.reply(message, domain, current_user, form.message.data.strip())
        except relay.RelayError as exc:
            form.message.errors = [str(exc)]
            status = 400
        else:
            flash("Your answer was sent. Your email address was not shown.")
            return redirect(url_for("client.domain", domain_id=domain.id))
    elif request.method == "POST":
        status = 400
    return render_template("privacy/whois/relay_reply.html", domain=domain, message=message,
                           form=form, expired=message.expires_at <= utcnow()), status


# --- reseller -----------------------------------------------------------------------------


@reseller_bp.post("/<domain_id>/privacy", endpoint="set_privacy")
def reseller_set_privacy(domain_id: str) -> Any:
    domain = get_or_404(current_user, Domain, domain_id)  # its own customers' domains only
    return _switch(domain, url_for("reseller.customer", account_id=domain.account_id),
                   privacy_toggle.set_privacy, "WHOIS privacy")


# --- staff, inside an access session ------------------------------------------------------


def _staff_domain(domain_id: str, purpose: str) -> tuple[Domain | None, Any]:
    """The domain, or the redirect to the access-session form when none is open (P16)."""
    domain = get_or_404(current_user, Domain, domain_id)
    gate = hook().panel_account_access(viewer=current_user, account=domain.account,
                                       purpose=purpose)
    return (None, gate) if gate is not None else (domain, None)


@staff_bp.get("/<domain_id>")
def domain_page(domain_id: str) -> Any:
    domain, gate = _staff_domain(domain_id, "view")
    if domain is None:
        return gate
    audit.record(AuditEvent("domain.view", actor=current_user, account_id=domain.account_id,
                            object=f"domain {domain.name} page"))
    db.session.commit()
    return render_template("privacy/whois/staff_domain.html", domain=domain,
                           cases=disclosure.cases_for(domain),
                           history=privacy_toggle.history(domain))


@staff_bp.post("/<domain_id>/privacy", endpoint="set_privacy")
def staff_set_privacy(domain_id: str) -> Any:
    domain, gate = _staff_domain(domain_id, "change")
    if domain is None:
        return gate
    return _switch(domain, url_for(".domain_page", domain_id=domain.id),
                   privacy_toggle.set_privacy, "WHOIS privacy")


#: A case's documents and the rest of its form.
UPLOADS_LIMIT = disclosure.MAX_DOCUMENTS * disclosure.DOCUMENT_MAX_BYTES + FORM_ALLOWANCE


def uploads(files: list[Any]) -> list[Upload]:
    """Uploaded files as plain values; empty file inputs are ignored."""
    found = []
    for f in files or []:
        if not f or not f.filename:
            continue
        data = f.read(disclosure.DOCUMENT_MAX_BYTES + 1)
        found.append(Upload(f.filename, (f.mimetype or "").lower(), data))
    return found


@staff_bp.route("/<domain_id>/complaints/new", methods=["GET", "POST"])
@body_limit(UPLOADS_LIMIT)
def new_complaint(domain_id: str) -> Any:
    domain, gate = _staff_domain(domain_id, "change")
    if domain is None:
        return gate
    form = ComplaintForm()
    status = 200
    if form.validate_on_submit():
        try:
            opened = disclosure.open_case(
                domain, current_user, complainant_name=form.complainant_name.data,
                complainant_email=form.complainant_email.data.strip(),
                legal_basis=form.legal_basis.data, details=form.details.data.strip(),
                uploads=uploads(request.files.getlist("documents")))
        except CaseError as exc:
            form.documents.errors = [str(exc)]
            status = 400
        else:
            flash(f"Case opened; the customer has until {opened.due_at:%d %B %Y} to answer.")
            return redirect(url_for("privacy_complaints.detail", case_id=opened.id))
    elif request.method == "POST":
        status = 400
    return render_template("privacy/whois/complaint_new.html", domain=domain, form=form), status


def domain_panel(domain: Domain, viewer: User) -> list[Markup]:
    """The subscriber's domain page: the privacy switch, the relay, complaints, history."""
    if viewer.role != SUBSCRIBER:
        return []
    cases = disclosure.cases_for(domain)
    return [Markup(render_template(  # noqa: S704 - a rendered, autoescaped template
        "privacy/whois/domain_panel.html", domain=domain, relay_on=relay.enabled(domain),
        switch=SwitchForm(formdata=None), cases=cases,
        disclosures=disclosure.disclosures_for(domain), messages=relay.messages(domain),
        history=privacy_toggle.history(domain),
        now=utcnow(), answer_form=AnswerForm(formdata=None)))]
