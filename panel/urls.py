"""Links that leave the panel (emails, exports): PANEL_BASE_URL plus the route's path.

Works inside and outside a request (cron jobs build links too).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app


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
