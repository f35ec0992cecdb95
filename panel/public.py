"""Pages anyone may see."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, url_for
from flask_login import current_user

from panel.auth.access import home_url

bp = Blueprint("public", __name__)


@bp.route("/")
def index() -> Any:
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/healthz")
def healthz() -> Any:
    return {"status": "ok"}
