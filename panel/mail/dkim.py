"""DKIM signing (dkimpy) when PANEL_DKIM_KEY is set.

The key is a PEM private key, given inline or as a path to a file. The signature covers the
usual headers plus List-Unsubscribe and List-Unsubscribe-Post, as RFC 8058 section 4 asks,
so a relay cannot add or change the one-click link without breaking the signature.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

import dkim
from flask import current_app

SIGNED_HEADERS = (b"From", b"To", b"Subject", b"Date", b"Message-ID", b"MIME-Version",
                  b"Content-Type", b"Content-Transfer-Encoding",
                  b"List-Unsubscribe", b"List-Unsubscribe-Post")


class DkimConfigError(ValueError):
    """PANEL_DKIM_KEY is set but unusable."""


def _key() -> bytes | None:
    raw = current_app.config.get("DKIM_KEY")
    if not raw:
        return None
    cache = current_app.extensions.setdefault("panel.dkim_key", {})
    if raw in cache:
        return cache[raw]
    text = str(raw)
    if "-----BEGIN" not in text:
        try:
            text = Path(text).read_text()
        except OSError as exc:
            raise DkimConfigError(f"PANEL_DKIM_KEY cannot be read: {exc.strerror}") from None
    cache[raw] = text.encode()
    return cache[raw]


def check_key() -> None:
    """Refuse a configured but unusable key once, before any message is touched: otherwise
    every message would use up its attempts on the same configuration error."""
    key = _key()
    if key is None or current_app.extensions.get("panel.dkim_checked") == key:
        return
    probe = b"From: probe@panel.invalid\r\nSubject: probe\r\n\r\nprobe\r\n"
    try:
        dkim.sign(probe, b"probe", b"panel.invalid", key, include_headers=[b"from"])
    except Exception as exc:  # dkimpy raises DKIMException, binascii.Error, ValueError...
        raise DkimConfigError(f"PANEL_DKIM_KEY could not sign: {exc}") from None
    current_app.extensions["panel.dkim_checked"] = key


def sign(message: EmailMessage) -> bytes:
    """The message as CRLF bytes (as SMTP carries it), DKIM-signed when a key is configured."""
    data = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))  # SMTP line ends
    key = _key()
    if key is None:
        return data
    domain = str(current_app.config.get("DKIM_DOMAIN") or
                 parseaddr(current_app.config["MAIL_FROM"])[1].rpartition("@")[2])
    selector = str(current_app.config.get("DKIM_SELECTOR") or "panel")
    present = {name.lower() for name in message}
    include = [h for h in SIGNED_HEADERS if h.decode().lower() in present]
    try:
        signature = dkim.sign(data, selector.encode(), domain.encode(), key,
                              include_headers=include, canonicalize=(b"relaxed", b"relaxed"))
    except dkim.DKIMException as exc:
        raise DkimConfigError(f"PANEL_DKIM_KEY could not sign: {exc}") from None
    return signature + data
