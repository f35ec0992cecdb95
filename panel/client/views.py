"""The subscriber's self-service area under /client/."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func

from panel.accounts.forms import ContactForm
from panel.accounts.models import CONTACT_FIELDS, Account
from panel.accounts.services import profile_as_contact, update_account, update_domain_contact
from panel.auth.access import role_required
from panel.auth.models import SUBSCRIBER
from panel.billing import cancellation
from panel.billing.forms import CancelServiceForm, KeepServiceForm
from panel.billing.models import Invoice, PaymentMethod, Service
from panel.domains.forms import DomainContactForm
from panel.domains.models import CONTACT_FIELDS as DOMAIN_CONTACT_FIELDS
from panel.domains.models import CONTACT_ROLES, Domain
from panel.extensions import db
from panel.hooks import hook
from panel.paging import keyset
from panel.tenancy import get_or_404, own_account, scoped

bp = Blueprint("client", __name__, url_prefix="/client")


@bp.before_request
@role_required(SUBSCRIBER)
def _subscribers_only() -> None:
    return None


def _account() -> Account:
    return own_account(current_user)


@bp.route("/")
def dashboard() -> Any:
    account = _account()
    unpaid = db.session.execute(
        scoped(current_user, Invoice).with_only_columns(func.count())
        .where(Invoice.status == "unpaid")).scalar_one()
    return render_template("client/dashboard.html", account=account, unpaid=unpaid)


@bp.route("/profile", methods=["GET", "POST"])
def profile() -> Any:
    account = _account()
    form = ContactForm(data={f: getattr(account, f) or "" for f in CONTACT_FIELDS})
    if request.method == "POST":
        form = ContactForm()
        if form.validate():
            changed = update_account(account, form.data, current_user)
            flash(f"Saved: {', '.join(f.replace('_', ' ') for f in changed)}." if changed
                  else "Nothing changed.")
            return redirect(url_for(".profile"))
        return render_template("client/profile.html", account=account, form=form), 400
    return render_template("client/profile.html", account=account, form=form)


@bp.route("/domains")
def domains() -> Any:
    rows = db.session.execute(scoped(current_user, Domain).order_by(Domain.name)).scalars().all()
    return render_template("client/domains.html", domains=rows)


@bp.route("/domains/<domain_id>")
def domain(domain_id: str) -> Any:
    row = get_or_404(current_user, Domain, domain_id)
    sections = [s for found in hook().panel_domain_sections(domain=row, viewer=current_user)
                for s in found or ()]  # plugins' panels, e.g. WHOIS privacy and history
    return render_template("client/domain.html", domain=row, roles=CONTACT_ROLES,
                           sections=sections)


@bp.route("/domains/<domain_id>/contacts/<role>", methods=["GET", "POST"])
def domain_contact(domain_id: str, role: str) -> Any:
    row = get_or_404(current_user, Domain, domain_id)
    if role not in CONTACT_ROLES:
        abort(404)
    contact = row.contact(role)
    if request.method == "POST" and "copy_profile" in request.form:
        form = DomainContactForm(data=profile_as_contact(row.account))
        form.validate()  # shows what the profile lacks before anything is saved
        return render_template("client/domain_contact.html", domain=row, role=role, form=form,
                               copied=True)
    if request.method == "POST":
        form = DomainContactForm()
        if form.validate():
            changed = update_domain_contact(row, role, form.data, current_user)
            flash(f"{role.title()} contact saved." if changed else "Nothing changed.")
            return redirect(url_for(".domain", domain_id=row.id))
        return render_template("client/domain_contact.html", domain=row, role=role,
                               form=form), 400
    data = {f: getattr(contact, f) or "" for f in DOMAIN_CONTACT_FIELDS} if contact else {}
    return render_template("client/domain_contact.html", domain=row, role=role,
                           form=DomainContactForm(data=data))


@bp.route("/services")
def services() -> Any:
    rows = db.session.execute(scoped(current_user, Service).order_by(Service.started_on)).scalars()
    return render_template("client/services.html", services=rows.all(), keep_form=KeepServiceForm())


@bp.route("/services/<service_id>/cancel", methods=["GET", "POST"])
def cancel_service(service_id: str) -> Any:
    """Ask to cancel at the end of the paid period or now (the way out of "active services
    must be cancelled first")."""
    service = get_or_404(current_user, Service, service_id)
    form = CancelServiceForm()
    status = 200
    if form.validate_on_submit():
        try:
            cancellation.request(service, current_user, form.when.data)
        except cancellation.CancelError as exc:
            db.session.rollback()
            form.form_errors.append(str(exc))
            status = 400
        else:
            db.session.commit()
            flash(f"{service.product} is cancelled." if service.status == "cancelled" else
                  f"{service.product} will be cancelled on {service.cancel_on:%d %B %Y}; it "
                  "keeps running until then.")
            return redirect(url_for(".services"))
    elif form.is_submitted():
        status = 400
    return render_template("client/service_cancel.html", service=service, form=form,
                           period_end=cancellation.period_end(service)), status


@bp.route("/services/<service_id>/keep", methods=["POST"])
def keep_service(service_id: str) -> Any:
    service = get_or_404(current_user, Service, service_id)
    if not KeepServiceForm().validate_on_submit():
        abort(400)
    try:
        cancellation.keep(service, current_user)
    except cancellation.CancelError as exc:
        flash(str(exc))
        return redirect(url_for(".services"))
    db.session.commit()
    flash(f"{service.product} keeps running: the cancellation is withdrawn.")
    return redirect(url_for(".services"))


@bp.route("/invoices")
def invoices() -> Any:
    page = keyset(scoped(current_user, Invoice), [Invoice.issued_on, Invoice.id])
    methods = db.session.execute(scoped(current_user, PaymentMethod)).scalars().all()
    return render_template("client/invoices.html", page=page, methods=methods)


@bp.route("/invoices/<invoice_id>")
def invoice(invoice_id: str) -> Any:
    return render_template("client/invoice.html",
                           invoice=get_or_404(current_user, Invoice, invoice_id))
