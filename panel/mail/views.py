"""Admin views of the outbox and the local Maildir."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin_mail", __name__, url_prefix="/admin/mail")


@bp.route("/")
def index() -> str:
    return "outbox"
