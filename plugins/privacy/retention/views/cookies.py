"""Cookie consent screens (P23): the banner's choices, and the settings page in the footer."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from panel.extensions import db
from panel.urls import local_target
from plugins.privacy.retention.forms import ConsentForm
from plugins.privacy.retention.services import cookie_consent

bp = Blueprint("privacy_cookies", __name__, url_prefix="/cookies", template_folder="../templates")
#: What every page shows of cookie consent (panel_page_parts): the banner and the footer link.
PAGE_PARTS = {"top": ["privacy/retention/cookies_banner.html"],
              "foot": ["privacy/retention/cookies_footer.html"]}


def _active() -> bool:
    return current_app.extensions["panel.plugins"].is_active("privacy")


@bp.app_context_processor
def _banner() -> dict[str, Any]:
    """What the cookie parts of every page need: the banner unless the visitor has chosen."""
    if not _active() or request.blueprint == "privacy_cookies":
        return {"cookie_banner": None}
    current = cookie_consent.state()
    return {"cookie_banner": {"show": not current.decided, "state": current}}


@bp.after_app_request
def _count_page_view(response: Any) -> Any:
    if not _active() or request.blueprint == "privacy_cookies":
        return response
    return cookie_consent.count_view(response)


def _came_from() -> str | None:
    """The banner's page (Referrer-Policy same-origin sends it for our own pages only); the
    banner carries no "next" field, so pages stay identical whatever their address."""
    parts = urlsplit(request.referrer or "")
    if parts.netloc != request.host or parts.path.startswith("/cookies"):
        return None
    return local_target(parts.path + (f"?{parts.query}" if parts.query else ""))


@bp.route("", methods=["GET", "POST"])
def settings() -> Any:
    current = cookie_consent.state()
    form = ConsentForm()
    if request.method in ("GET", "HEAD"):  # Flask answers HEAD with this view
        form.analytics.data, form.targeting.data = current.analytics_chosen, current.targeting_chosen
        form.next.data = local_target(request.args.get("next")) or ""
    elif request.method == "POST" and form.validate_on_submit():
        value, _ = cookie_consent.decide(form.choice.data, bool(form.analytics.data),
                                         bool(form.targeting.data))
        db.session.commit()
        response = redirect(local_target(form.next.data) or _came_from()
                            or url_for("privacy_cookies.settings"))
        cookie_consent.set_cookie(response, value)
        if current.signal and (form.analytics.data or form.choice.data == "accept_all"):
            flash(f"Your choice is saved. Your browser sends {current.signal_name}, so analytics "
                  "and targeting stay off while it does.")
        else:
            flash("Your cookie choice is saved. You can change it here at any time.")
        return response
    status = 400 if request.method == "POST" else 200
    history = (cookie_consent.evidence_for(current_user.id)
               if current_user.is_authenticated else [])
    return render_template("privacy/retention/cookies_settings.html", form=form, state=current,
                           history=history), status
