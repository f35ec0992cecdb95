"""The privacy pages of the subscriber panel, under /client/privacy/."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template
from flask_login import current_user

from panel.accounts.models import Account
from panel.auth.access import role_required
from panel.auth.models import SUBSCRIBER
from panel.extensions import db
from panel.tenancy import scoped
from plugins.privacy.services import change_history

bp = Blueprint("privacy_client", __name__, url_prefix="/client/privacy",
               template_folder="../templates")


@bp.before_request
@role_required(SUBSCRIBER)
def _subscribers_only() -> None:
    return None


@bp.route("/history")
def history() -> Any:
    account = db.session.execute(scoped(current_user, Account)).scalar_one_or_none()
    if account is None:
        abort(404)
    return render_template("privacy/history.html", events=change_history.history(account))
