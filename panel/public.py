"""Pages anyone may see, and the load balancer's two probes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, url_for
from flask_login import current_user

from panel.auth.access import home_url
from panel.ready import ready

bp = Blueprint("public", __name__)


@bp.route("/")
def index() -> Any:
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    return redirect(url_for("auth.login"))


#: The probes: answered before the readiness gate, without the database or a session.
PROBES = frozenset({"public.healthz", "public.readyz"})


def _probe(ok: bool) -> Response:
    # No detail for outsiders: what failed is in the log (panel.ready).
    return Response("ok\n" if ok else "unavailable\n", 200 if ok else 503,
                    mimetype="text/plain", headers={"Cache-Control": "no-store"})


@bp.route("/healthz")
def healthz() -> Response:
    """The process is alive and answering; nothing else is asked."""
    return _probe(True)


@bp.route("/readyz")
def readyz() -> Response:
    """This server can serve: database, schema, key ring and (when configured) Redis."""
    return _probe(ready())
