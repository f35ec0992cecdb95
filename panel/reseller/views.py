"""The reseller's area under /reseller/ (its own customers, nobody else's), the invitation a
customer accepts, and the white label's logo and colours."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, logout_user
from werkzeug.routing import BuildError

from panel import audit, confirm
from panel.accounts.forms import ContactForm
from panel.accounts.models import CLOSED, CONTACT_FIELDS, Account
from panel.accounts.services import update_account, update_domain_contact
from panel.audit import AuditEvent
from panel.auth.access import role_required
from panel.auth.models import RESELLER
from panel.billing import cancellation
from panel.domains.forms import DomainContactForm
from panel.domains.models import CONTACT_FIELDS as DOMAIN_CONTACT_FIELDS
from panel.domains.models import CONTACT_ROLES, Domain
from panel.extensions import db, limiter
from panel.hooks import hook
from panel.reseller import branding, customers
from panel.reseller.forms import BrandForm, InvitePasswordForm, NewCustomerForm
from panel.tenancy import get_or_404

bp = Blueprint("reseller", __name__, url_prefix="/reseller")
invite_bp = Blueprint("reseller_invite", __name__)
branding_bp = Blueprint("branding", __name__, url_prefix="/brand")


@bp.before_request
@role_required(RESELLER)
def _resellers_only() -> None:
    return None


@bp.route("/")
def dashboard() -> Any:
    page, columns = customers.rows(current_user)
    return render_template("reseller/dashboard.html", page=page, columns=columns,
                           cancellations=cancellation.pending_count(current_user))


@bp.route("/cancellations")
def cancellations() -> Any:
    """The reseller's own customers' cancellation requests (tenancy scopes the query)."""
    return render_template("cancellations.html", customer_endpoint="reseller.customer",
                           page=cancellation.requests(current_user))


LOGO_READ_LIMIT = branding.LOGO_MAX_BYTES + 1
DEFAULT_COLOUR = "#0b5cad"  # what the colour picker starts from when no colour is set


def _viewed(account: Account, what: str) -> None:
    audit.record(AuditEvent("account.view", actor=current_user, account_id=account.id,
                            object=what))
    db.session.commit()


def privacy_toggle_url(domain: Domain) -> str:
    """Where the WHOIS privacy switch posts (the domains feature's route)."""
    try:  # the privacy plugin's WHOIS feature owns the switch
        return url_for("privacy_whois_reseller.set_privacy", domain_id=domain.id)
    except BuildError:  # plugin off: the route does not exist, and the form says so by 404
        return f"/reseller/domains/{domain.id}/privacy"


@bp.route("/customers/<account_id>", methods=["GET", "POST"])
def customer(account_id: str) -> Any:
    account = get_or_404(current_user, Account, account_id)
    form = ContactForm(data={f: getattr(account, f) or "" for f in CONTACT_FIELDS})
    status = 200
    if request.method == "POST":
        form = ContactForm()  # contact fields only: an injected reseller_id is never read
        if account.status == CLOSED:  # erased or awaiting erasure: nothing may be written back
            flash("This customer's account is closed; its data can no longer be changed. "
                  "Nothing was saved.")
        elif form.validate():
            changed = update_account(account, form.data, current_user)
            flash(f"Saved: {', '.join(f.replace('_', ' ') for f in changed)}." if changed
                  else "Nothing changed.")
            return redirect(url_for("reseller.customer", account_id=account.id))
        status = 400
    sections = [s for group in hook().panel_reseller_customer_sections(
        reseller=current_user, account=account) for s in group or ()]
    _viewed(account, "customer page")
    return render_template("reseller/customer.html", account=account, form=form,
                           login=account.user, sections=sections,
                           toggle_url=privacy_toggle_url), status


@bp.route("/add-customer", methods=["GET", "POST"])
def new_customer() -> Any:
    form = NewCustomerForm()
    if form.validate_on_submit():
        try:
            customers.create(current_user, email=form.email.data, first_name=form.first_name.data,
                             last_name=form.last_name.data, phone=form.phone.data,
                             invite=form.invite.data)
        except customers.CustomerError as exc:
            db.session.rollback()
            form.email.errors = [str(exc)]
        else:
            # The same answer whether or not the address already had an account elsewhere:
            # a reseller must not learn who is whose customer (its owner is told instead).
            flash(f"Invitation sent to {form.email.data}." if form.invite.data
                  else f"Customer added: {form.email.data}.")
            return redirect(url_for("reseller.dashboard"))
    status = 400 if request.method == "POST" else 200
    return render_template("reseller/customer_new.html", form=form), status


@bp.route("/customers/<account_id>/invite", methods=["POST"])
def invite(account_id: str) -> Any:
    account = get_or_404(current_user, Account, account_id)
    if account.user is None or not account.user.active:
        flash("A suspended or erased customer cannot be invited.")
    else:
        try:
            invited = customers.send_invitation(current_user, account.user)
            db.session.commit()
            flash("Invitation sent." if invited else "This customer already has a password, so "
                  "they were sent a sign-in link instead of an invitation.")
        except customers.CustomerError as exc:
            flash(str(exc))
    return redirect(url_for("reseller.customer", account_id=account.id))


@bp.route("/customers/<account_id>/suspend", methods=["POST"])
def suspend(account_id: str) -> Any:
    account = get_or_404(current_user, Account, account_id)
    wanted = request.form.get("suspend") == "1"
    if wanted and not confirm.confirmed():
        return confirm.ask(
            f"Suspend client #{account.number}?",
            f"{account.name or 'The customer'} is signed out at once and cannot sign in until you "
            "reinstate them. Their sites, domains and data stay as they are.",
            "Suspend the customer", url_for("reseller.customer", account_id=account.id))
    try:
        customers.set_suspended(current_user, account, wanted)
        flash("Customer suspended: they cannot sign in." if wanted else "Customer reinstated.")
    except customers.CustomerError as exc:
        flash(str(exc))
    return redirect(url_for("reseller.customer", account_id=account.id))


@bp.route("/domains/<domain_id>")
def domain(domain_id: str) -> Any:
    row = get_or_404(current_user, Domain, domain_id)
    _viewed(row.account, f"domain {row.name} contacts")
    return render_template("reseller/domain.html", domain=row, roles=CONTACT_ROLES,
                           toggle_url=privacy_toggle_url(row))


@bp.route("/domains/<domain_id>/contacts/<role>", methods=["GET", "POST"])
def domain_contact(domain_id: str, role: str) -> Any:
    row = get_or_404(current_user, Domain, domain_id)
    if role not in CONTACT_ROLES:
        abort(404)
    if request.method == "POST":
        form = DomainContactForm()
        if form.validate():
            changed = update_domain_contact(row, role, form.data, current_user)
            flash(f"{role.title()} contact saved." if changed else "Nothing changed.")
            return redirect(url_for("reseller.domain", domain_id=row.id))
        return render_template("reseller/domain_contact.html", domain=row, role=role,
                               form=form), 400
    contact = row.contact(role)
    data = {f: getattr(contact, f) or "" for f in DOMAIN_CONTACT_FIELDS} if contact else {}
    _viewed(row.account, f"domain {row.name} {role} contact")
    return render_template("reseller/domain_contact.html", domain=row, role=role,
                           form=DomainContactForm(data=data))


@bp.route("/branding", methods=["GET", "POST"])
def brand_settings() -> Any:
    """White label: what the reseller's customers see in the panel and in its mail."""
    row = branding.settings(current_user.id)
    form = BrandForm() if request.method == "POST" else BrandForm(obj=row)
    if request.method == "GET" and not form.colour.data:
        form.colour.data = DEFAULT_COLOUR  # a colour input always has a value
    status = 200
    if request.method == "POST" and request.form.get("action") == "preview":
        # "Preview": the page again, showing the submitted name and colour; nothing is saved
        preview = None
        if form.validate():
            try:
                preview = {"name": " ".join((form.name.data or "").split()) or current_user.label,
                           "colour": branding.clean_colour(form.swatch.data or form.colour.data)}
            except branding.BrandError as exc:
                form.form_errors.append(str(exc))
        return render_template("reseller/branding.html", form=form, row=row, preview=preview,
                               brand=branding.brand_of(current_user.id)), 200 if preview else 400
    if request.method == "POST":
        upload = request.files.get("logo")
        data = upload.read(LOGO_READ_LIMIT) if upload and upload.filename else b""
        if form.validate():
            try:
                changed = branding.save(
                    current_user, name=form.name.data or "",
                    colour=form.swatch.data or form.colour.data,
                    support_email=form.support_email.data, privacy_url=form.privacy_url.data,
                    logo=data or None, remove_logo=form.remove_logo.data, slug=form.slug.data)
            except branding.BrandError as exc:
                db.session.rollback()
                form.form_errors.append(str(exc))
            else:
                flash(f"Saved: {', '.join(c.replace('_', ' ') for c in changed)}." if changed
                      else "Nothing changed.")
                return redirect(url_for("reseller.brand_settings"))
        status = 400
    return render_template("reseller/branding.html", form=form, row=row,
                           brand=branding.brand_of(current_user.id)), status


# --- the invitation a reseller's customer accepts ----------------------------------------


@invite_bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def accept(token: str) -> Any:
    """A signed, expiring token that stops working once a password is set (404 otherwise,
    like any address that leads nowhere) or when the reseller is suspended (410)."""
    try:
        user = customers.check_invitation(token)
    except customers.InvitationError as exc:
        title = "Not found" if exc.status == 404 else "Invitation withdrawn"
        return render_template("error.html", code=exc.status, title=title,
                               message=str(exc)), exc.status
    form = InvitePasswordForm()
    if form.validate_on_submit():
        customers.accept_invitation(user, form.new.data)
        logout_user()
        flash("Your password is set. Sign in with your email address and new password.")
        return redirect(url_for("auth.login"))
    return render_template("reseller/invite.html", form=form, email=user.email), (
        400 if form.is_submitted() else 200)


# --- serving ----------------------------------------------------------------------------------


@branding_bp.route("/logo.png")
def logo() -> Any:
    """The signed-in person's brand logo: PNG the panel wrote, never sniffed as anything else.
    Before sign-in (a branded sign-in page) the version names the logo: logos are public."""
    brand = branding.brand_for(current_user)
    row = (branding.settings(brand.reseller_id) if brand
           else branding.brand_by_logo(request.args.get("v", "")))
    if row is None or not row.logo:
        abort(404)
    etag = row.logo_sha256 or ""
    if etag and etag in request.if_none_match:
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    return Response(row.logo, mimetype="image/png", headers={
        "X-Content-Type-Options": "nosniff", "Content-Disposition": "inline; filename=logo.png",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=300", "ETag": f'"{etag}"'})


@branding_bp.route("/theme.css")
def theme() -> Any:
    """The brand colour as a style sheet (the CSP allows no inline styles); the colour was
    checked against #rrggbb when it was saved, and again here."""
    brand = branding.brand_for(current_user)
    # before sign-in (a branded sign-in page, the branding preview) the colour is the version
    colour = brand.colour if brand else "#" + request.args.get("v", "")[:6]
    if not colour or not branding.COLOUR.fullmatch(colour):
        abort(404)
    css = (f":root {{ --accent:{colour}; --brand:{colour}; }}\n"
           f".top {{ border-top:4px solid {colour}; }}\n.brand {{ color:{colour}; }}\n")
    return Response(css, mimetype="text/css", headers={
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300"})
@branding_bp.route("/preview.css")
def preview_css() -> Any:
    """The branding page's preview in a colour not saved yet (``v``: six hex digits); a style
    sheet, since the CSP allows no inline styles."""
    colour = "#" + request.args.get("v", "")[:6]
    if not branding.COLOUR.fullmatch(colour):
        abort(404)
    css = (f".brand-preview {{ border-top:4px solid {colour}; }}\n"
           f".brand-preview .preview-name {{ color:{colour}; }}\n"
           f".brand-preview .preview-button {{ background:{colour}; border-color:{colour}; }}\n"
           + branding.swatch_css())
    return Response(css, mimetype="text/css", headers={
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300"})


branding_bp.app_context_processor(branding.context)
