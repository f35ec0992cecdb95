"""The Privacy hub (/client/privacy/): every privacy choice and what is under way, at a glance.

Each feature registers its own part (``processing.services.register_glance``), so this page
imports no feature: WHOIS privacy per domain, marketing consent, the last staff access and any
waiting approval, open requests with their due dates, the latest export. Each part links to
the feature's full page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_login import current_user

from panel.auth.access import role_required
from panel.auth.models import SUBSCRIBER
from panel.tenancy import own_account
from plugins.privacy.processing.services import glances

bp = Blueprint("privacy_hub", __name__, url_prefix="/client/privacy",
               template_folder="../templates")


@bp.before_request
@role_required(SUBSCRIBER)
def _subscribers_only() -> None:
    return None  # staff acting as the customer see the customer's hub, on the trail as theirs


@bp.route("/")
def index() -> Any:
    account = own_account(current_user)
    parts = [(g, g.summary(account)) for g in glances()]
    return render_template("privacy/center/hub.html", parts=parts)
