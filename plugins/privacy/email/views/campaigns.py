"""Campaigns: staff at /admin/privacy/campaigns (house customers), resellers at
/reseller/campaigns (their own customers, their own category); partner files for admins."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from panel.auth.access import role_required
from panel.auth.models import ADMIN, RESELLER, STAFF
from panel.extensions import db
from panel.tenancy import parse_id
from plugins.privacy.email.forms import CampaignForm, PartnerForm, SendForm
from plugins.privacy.email.models import Campaign
from plugins.privacy.email.services import campaigns, partners

staff_bp = Blueprint("privacy_campaigns", __name__, url_prefix="/admin/privacy/campaigns",
                     template_folder="../templates")
reseller_bp = Blueprint("privacy_reseller_campaigns", __name__, url_prefix="/reseller/campaigns",
                        template_folder="../templates")
partners_bp = Blueprint("privacy_partners", __name__, url_prefix="/admin/privacy/partners",
                        template_folder="../templates")


@staff_bp.before_request
@role_required(STAFF, ADMIN)
def _staff_only() -> None:
    return None


@reseller_bp.before_request
@role_required(RESELLER)
def _reseller_only() -> None:
    return None


@partners_bp.before_request
@role_required(ADMIN)
def _admins_only() -> None:
    return None


def _endpoint(name: str) -> str:
    return f"{request.blueprint}.{name}"


def _index() -> Any:
    form = CampaignForm()
    form.category.choices = [(c.key, c.label) for c in campaigns.categories(current_user)]
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                c = campaigns.create(current_user, category=form.category.data,
                                     subject=form.subject.data, body=form.body.data)
            except campaigns.CampaignError as exc:
                form.form_errors.append(str(exc))
            else:
                flash("Draft saved: check it, then send it.")
                return redirect(url_for(_endpoint("detail"), campaign_id=c.id))
        status = 400
    rows = db.session.execute(campaigns.scoped(current_user).limit(100)).scalars().all()
    return render_template("privacy/email/campaigns.html", form=form, campaigns=rows,
                           endpoint=_endpoint("detail")), status


def _campaign(campaign_id: str) -> Campaign:
    found = db.session.execute(campaigns.scoped(current_user)
                               .where(Campaign.id == parse_id(campaign_id))).scalar_one_or_none()
    if found is None:
        abort(404)
    return found


def _detail(campaign_id: str) -> Any:
    c = _campaign(campaign_id)
    form = SendForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                campaigns.send(c, current_user)
                flash(f"Queued for {c.queued} subscribers; {c.skipped} do not want this email.")
            except campaigns.CampaignError as exc:
                flash(str(exc))
        return redirect(url_for(_endpoint("detail"), campaign_id=c.id))
    return render_template("privacy/email/campaign.html", c=c, form=form,
                           report=campaigns.report(c) if c.status == "sent" else None)


for _bp in (staff_bp, reseller_bp):
    _bp.add_url_rule("/", "index", _index, methods=["GET", "POST"])
    _bp.add_url_rule("/<campaign_id>", "detail", _detail, methods=["GET", "POST"])


@partners_bp.route("/", methods=["GET", "POST"])
def share() -> Any:
    form = PartnerForm()
    if request.method == "POST":
        if form.validate_on_submit():
            text, count = partners.share(current_user, form.partner.data, form.purpose.data)
            return Response(text, mimetype="text/csv", headers={
                "Content-Disposition": "attachment; filename=partner-contacts.csv",
                "X-Shared-Count": str(count), "Cache-Control": "no-store"})
        return render_template("privacy/email/partners.html", form=form), 400
    return render_template("privacy/email/partners.html", form=form)
