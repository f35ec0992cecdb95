"""The invitation link a reseller's new customer uses to choose a password (no sign-in)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import logout_user

from panel.extensions import limiter
from panel.reseller import customers
from panel.reseller.forms import InvitePasswordForm

bp = Blueprint("reseller_invite", __name__)


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def accept(token: str) -> Any:
    """A signed, expiring token that stops working once a password is set (404 otherwise,
    like any address that leads nowhere)."""
    user = customers.user_for_invitation(token)
    if user is None:
        return render_template("error.html", code=404, title="Not found",
                               message="This invitation link is not valid: it may have been "
                                       "used already or have expired. Ask your provider for "
                                       "a new one."), 404
    form = InvitePasswordForm()
    if form.validate_on_submit():
        customers.accept_invitation(user, form.new.data)
        logout_user()
        flash("Your password is set. Sign in with your email address and new password.")
        return redirect(url_for("auth.login"))
    return render_template("reseller/invite.html", form=form, email=user.email), (
        400 if form.is_submitted() else 200)
