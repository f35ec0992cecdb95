"""The reseller's dashboard under /reseller/: its own customers, nobody else's."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from panel.accounts.views_common import customer_page, customer_rows
from panel.auth.access import role_required
from panel.auth.models import RESELLER

bp = Blueprint("reseller", __name__, url_prefix="/reseller")


@bp.before_request
@role_required(RESELLER)
def _resellers_only() -> None:
    return None


@bp.route("/")
def dashboard() -> Any:
    return render_template("reseller/dashboard.html", rows=customer_rows())


@bp.route("/customers/<account_id>", methods=["GET", "POST"])
def customer(account_id: str) -> Any:
    return customer_page("reseller/customer.html", account_id, "reseller.customer")
