"""Links that leave the panel (emails, exports): PANEL_BASE_URL plus the route's path.

Works inside and outside a request (cron jobs build links too).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, request, url_for


def external_url(endpoint: str, **values: Any) -> str:
    base = current_app.config["BASE_URL"].rstrip("/")
    parts = urlsplit(base)
    path = current_app.url_map.bind(parts.netloc or "localhost", script_name=parts.path or "/") \
        .build(endpoint, values)
    return f"{parts.scheme}://{parts.netloc}{path}"


def local_target(target: str | None) -> str | None:
    """A ``next=`` target only if it stays on this site: a path, with no scheme, host,
    backslash (browsers read it as a slash) or control character."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def retry_target() -> str:
    """Where a visitor told to "try again" can do it: the page of this site they came from
    (the form they sent), else this address when it was only read, else the home page."""
    came_from = urlsplit(request.referrer or "")
    if came_from.netloc == request.host:
        found = local_target(came_from.path + (f"?{came_from.query}" if came_from.query else ""))
        if found:
            return found
    if request.method in ("GET", "HEAD"):
        found = local_target(request.full_path.removesuffix("?"))
        if found:
            return found
    return url_for("public.index")
