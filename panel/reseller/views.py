"""The reseller's dashboard under /reseller/: its own customers, nobody else's."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_login import current_user

from panel.auth.access import role_required
from panel.auth.models import RESELLER

bp = Blueprint("reseller", __name__, url_prefix="/reseller")


@bp.before_request
@role_required(RESELLER)
def _resellers_only() -> None:
    return None


@bp.route("/")
def dashboard() -> Any:
    from panel.reseller.customers import rows

    found, columns = rows(current_user)
    return render_template("reseller/dashboard.html", rows=found, columns=columns)


@bp.route("/customers/<account_id>", methods=["GET", "POST"])
def customer(account_id: str) -> Any:
    from panel.reseller.pages import customer_detail

    return customer_detail(account_id)


from panel.reseller import pages  # noqa: E402,F401 - its routes join this blueprint
