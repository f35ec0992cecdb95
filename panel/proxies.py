"""The client's address: X-Forwarded-For is believed only when a configured proxy sent it.

Anyone can send the header, so taking it at its word lets a client choose the address the
rate limits, the session binding and the trail see. Werkzeug's ProxyFix does the rewriting,
but only for a connection from PANEL_TRUSTED_PROXIES, and only as many hops as are trusted.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: A chain of trusted proxies longer than this is not followed further.
MAX_HOPS = 8


class TrustedProxyFix:
    """WSGI middleware: ProxyFix for requests whose peer is a trusted proxy, nothing otherwise."""

    def __init__(self, app: Any, proxies: Iterable[Network]) -> None:
        self.app = app
        self.proxies = tuple(proxies)
        # x_for=n believes the n-th address from the right: one ProxyFix per chain length.
        self.fixes = [ProxyFix(app, x_for=n, x_proto=1) for n in range(1, MAX_HOPS + 1)]

    def trusted(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address((address or "").strip())
        except ValueError:
            return False
        return any(ip in net for net in self.proxies)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not self.trusted(environ.get("REMOTE_ADDR")):
            return self.app(environ, start_response)
        hops = [h.strip() for h in environ.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        # Walk left from our proxy's entry while the address is another trusted proxy.
        n = 1
        while n < len(hops) and n < MAX_HOPS and self.trusted(hops[-n]):
            n += 1
        return self.fixes[n - 1](environ, start_response)
