"""The panel's log: one JSON object a line, and never a person's data in it.

Each request gets one line (``panel.request``) with its id, route rule, status, duration, the
signed-in role and the client's network (/24 or /48), never the URL: paths carry tokens and
query strings carry search terms. Every other line is scrubbed before it is written: email
addresses, phone numbers, opaque tokens, query strings and full IP addresses are replaced,
whatever code or library wrote the message. Names cannot be recognised in free text, so no
code of the panel logs one; the log test holds every page to that.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any

REQUEST_LOGGER = "panel.request"
#: What a request line carries besides the message (``extra=`` names).
REQUEST_FIELDS = ("request_id", "method", "rule", "status", "duration_ms", "role", "client")

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_SCRUB = re.compile("|".join((
    rf"(?P<uuid>\b{_UUID}\b)",  # row ids are not personal data, and help find the row
    r"(?P<email>[\w.+%-]+@[\w-]+(?:\.[\w-]+)*)",
    r"(?P<query>\?[^\s\"'<>]+)",
    r"(?P<ipv4>\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b)",
    r"(?P<ipv6>(?<![\w:])[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?![\w:]))",
    r"(?P<phone>\+\d[\d ().-]{5,}\d)",
    r"(?P<token>(?<![\w-])[\w-]{20,})",  # session ids, link tokens, hashes: see _opaque
    r"(?P<digits>\b\d{6,8}\b)",  # one-time codes
)))


@functools.lru_cache(maxsize=4096)  # the same clients ask again and again; parsing is the cost
def network(address: str | None) -> str:
    """An address cut to its /24 (IPv4) or /48 (IPv6): enough to see a flood, not a person."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "-"
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def _replace(match: re.Match[str]) -> str:
    kind, text = match.lastgroup, match.group(0)
    if kind == "uuid":
        return text
    if kind in ("ipv4", "ipv6"):
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            return text  # "12:30:45" is a time, not an address
        return text if ip.is_loopback or ip.is_unspecified else network(text)  # never a person
    if kind == "digits" and len(text) == 8 and text.startswith(("19", "20")):
        return text  # a date written 20261130
    if kind == "token" and not _opaque(text):
        return text
    return f"[{kind}]"


def _opaque(word: str) -> bool:
    """A long word that reads as random (a token, a hash), not as a name in code: it has a
    digit, or its case changes often, and it is not a snake_case identifier."""
    if "_" in word and word == word.lower() and any(c.isalpha() for c in word.replace("_", "")) \
            and not re.fullmatch(r"[0-9a-f_-]+", word):
        return False  # some_function_name_2
    humps = sum(1 for a, b in zip(word, word[1:], strict=False) if a.islower() and b.isupper())
    return any(c.isdigit() for c in word) or humps >= 4


def scrub(text: str) -> str:
    """``text`` with every email, phone, token, query string and full address replaced."""
    return _SCRUB.sub(_replace, text)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message; a request's fields when logged
    in one. Used by the app (``configure``) and by gunicorn (``GUNICORN_LOGCONFIG``)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "msg": scrub(record.getMessage()),
        }
        for name in REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if "request_id" not in entry:
            entry.update(_request_context())
        if record.exc_info:
            entry["error"] = scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["error"] = scrub(record.exc_text)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _request_context() -> dict[str, Any]:
    """The request a line was written in, so an error can be matched with its request line."""
    from flask import g, has_request_context, request

    if not has_request_context():
        return {}
    rule = request.url_rule.rule if request.url_rule is not None else None
    return {"request_id": g.get("request_id"), "rule": rule}


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a line is written (a test may have swapped it)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure() -> None:
    """JSON on stderr for the whole process, once. Left alone when a JSON handler is already
    there (gunicorn configured it from GUNICORN_LOGCONFIG)."""
    from flask.logging import default_handler

    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        root.addHandler(_Stderr())
    logging.getLogger("panel").removeHandler(default_handler)  # Flask's plain-text handler
    logging.getLogger(REQUEST_LOGGER).setLevel(logging.INFO)


def install(app: Any) -> None:
    """Time every request, count it (panel.metrics) and write its one log line. Put before
    every other hook: it starts first and, after_request hooks running in reverse, ends last,
    when the status is final."""
    from flask import g, request
    from flask_login import current_user

    from panel import metrics

    configure()
    log = logging.getLogger(REQUEST_LOGGER)

    def _start() -> None:
        g.started = time.perf_counter()

    def _log(response: Any) -> Any:
        # the request and g looked up once each (a context-local lookup costs about 1 us)
        req, ctx = request._get_current_object(), g._get_current_object()  # type: ignore[attr-defined]
        seconds = time.perf_counter() - ctx.get("started", time.perf_counter())
        rule = req.url_rule.rule if req.url_rule is not None else "<unmatched>"
        method, status = req.method, response.status_code
        metrics.observe_request(rule, method, status, seconds)
        user = ctx.get("_login_user") or current_user
        role = getattr(user, "role", None) if getattr(user, "is_authenticated", False) else None
        log.info("request", extra={
            "request_id": ctx.get("request_id"), "method": method[:10], "rule": rule,
            "status": status, "duration_ms": round(seconds * 1000, 1),
            "role": role or "anonymous", "client": network(req.remote_addr)})
        return response

    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request_funcs.setdefault(None, []).insert(0, _log)


#: gunicorn's `logconfig_dict`: its own lines (start, worker exits) as JSON too, and no access
#: log, whose URLs would carry tokens and search terms: the app writes one line per request.
GUNICORN_LOGCONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "panel.applog.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json",
                            "stream": "ext://sys.stderr"}},
    "root": {"level": "WARNING", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        REQUEST_LOGGER: {"level": "INFO"},
    },
}
