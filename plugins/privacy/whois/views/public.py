"""Public WHOIS pages: RDAP under /rdap/ and the contact relay form under /whois/contact/."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, current_app, g, render_template, request
from werkzeug.exceptions import HTTPException

from panel.domains.models import Domain
from panel.extensions import csrf, limiter
from plugins.privacy.whois.forms import RelayForm
from plugins.privacy.whois.services import lookup as whois_data
from plugins.privacy.whois.services import rdap, relay
from plugins.privacy.whois.services.lookup import BadName

rdap_bp = Blueprint("privacy_rdap", __name__, url_prefix="/rdap")
csrf.exempt(rdap_bp)  # read-only and public; browsers call it cross-origin
relay_bp = Blueprint("privacy_relay", __name__, url_prefix="/whois", template_folder="../templates")
OTHER_METHODS = ["POST", "PUT", "PATCH", "DELETE"]
#: RDAP is read-only (RFC 7480 section 4.1); OTHER_METHODS are routed only to refuse them.
ALLOWED = "GET, HEAD, OPTIONS"
MAX_URL_LENGTH = 4096
#: RDAP answers kept per worker (a private domain's is about 12 kB of JSON and 3.5 kB of rows;
#: WHOIS keeps more, in a process of its own).
RDAP_KEPT = 500


def _json(body: dict[str, Any], status: int = 200) -> Any:
    return _text(json.dumps(body, ensure_ascii=False), status)


def _text(body: str, status: int = 200) -> Any:
    return current_app.response_class(body, status=status, mimetype=rdap.MEDIA_TYPE)


def _kept() -> dict[str, tuple[Any, str]]:
    """This app's kept RDAP answers (``whois_data.kept``: checked against the rows each time)."""
    return current_app.extensions.setdefault("privacy.rdap.kept", {})  # type: ignore[no-any-return]


@rdap_bp.after_request
def _cors(response: Any) -> Any:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers.setdefault("Cache-Control", "no-cache")
    if response.status_code == 405 or request.method == "OPTIONS":
        # the catch-all route accepts OTHER_METHODS only to refuse them in RDAP JSON, so the
        # URL map's method list would name methods that never work (RFC 9110 15.5.6, 9.3.7)
        response.headers["Allow"] = ALLOWED
    return response


@rdap_bp.before_request
def _url_length() -> Any:
    """An over-long URL gets an RDAP error, not the server's HTML 414: the served configs let
    gunicorn pass request lines up to 8190 bytes, and the app refuses beyond its own limit."""
    limit = int(current_app.config.get("RDAP_MAX_URL_LENGTH", MAX_URL_LENGTH))
    if len(request.environ.get("RAW_URI") or request.full_path) <= limit:
        return None
    return _json(rdap.error(414, "URI too long", f"RDAP URLs here are at most {limit} "
                            "characters long; no domain name needs more."), 414)


@rdap_bp.errorhandler(HTTPException)
def _error(exc: HTTPException) -> Any:
    code = exc.code or 500
    title = "Too many requests" if code == 429 else exc.name
    text = ("Too many queries from your address: wait a minute and try again." if code == 429
            else exc.description or title)
    return _json(rdap.error(code, title, text), code)


def _rdap_limit() -> str:
    return str(current_app.config.get("RDAP_RATE_LIMIT", "120 per minute"))


@rdap_bp.get("/domain/<name>")
@limiter.limit(_rdap_limit)
def domain(name: str) -> Any:
    shown = name[:100]
    try:
        ascii_name = whois_data.normalise_name(name)
    except BadName:
        return _json(rdap.error(400, "Bad request", f"'{shown}' is not a valid domain name."), 400)
    found = whois_data.fetch(ascii_name)  # one read; the answer is rebuilt only if it changed
    if found is None:
        return _json(rdap.error(404, "Not found", f"The domain '{ascii_name}' is not registered "
                                "here."), 404)
    text = whois_data.kept(_kept(), found, rdap.domain_text, RDAP_KEPT)
    return _text(text.replace(rdap.NOW, rdap.now(), 1))


@rdap_bp.get("/help")
def help() -> Any:  # noqa: A001 - the RDAP path is /help
    return _json(rdap.help_object())


@rdap_bp.route("/", defaults={"rest": ""}, methods=["GET", *OTHER_METHODS])
@rdap_bp.route("/<path:rest>", methods=["GET", *OTHER_METHODS])
def other(rest: str) -> Any:
    if request.method in OTHER_METHODS:  # HEAD is answered like GET (RFC 9110 §9.3.2)
        return _json(rdap.error(405, "Method not allowed", "RDAP is read-only: use GET."), 405)
    if rest.split("/", 1)[0] in ("entity", "nameserver", "ip", "autnum", "domains", "entities",
                                 "nameservers"):
        return _json(rdap.error(501, "Not implemented",
                                "This server answers domain queries only."), 501)
    return _json(rdap.error(404, "Not found", "There is no RDAP object at this address; "
                            "see /rdap/help."), 404)


# --- the contact relay --------------------------------------------------------------------


def _relay_ip_limit() -> str:
    return str(current_app.config.get("WHOIS_RELAY_LIMIT_PER_IP", "5 per hour"))


def _relay_domain_limit() -> str:
    return str(current_app.config.get("WHOIS_RELAY_LIMIT_PER_DOMAIN", "20 per day"))


def _relay_domain() -> Domain | None:
    """The domain the URL names, however it is spelled; resolved once per request (g)."""
    if "relay_domain" not in g:
        try:
            g.relay_domain = whois_data.find(whois_data.normalise_name(_relay_name()))
        except BadName:
            g.relay_domain = None
    return g.relay_domain


def _relay_name() -> str:
    return str((request.view_args or {}).get("name", ""))


def _relay_domain_key() -> str:
    """The domain's id: every spelling of its name (case, trailing dot, full-width letters,
    ideographic full stops) shares one allowance. Unknown names keep their own, as before."""
    domain = _relay_domain()
    if domain is not None:
        return f"whois-relay:{domain.id}"
    try:
        return "whois-relay-name:" + whois_data.normalise_name(_relay_name())
    except BadName:
        return "whois-relay-name:" + _relay_name().lower()[:253]


@relay_bp.route("/contact/<name>", methods=["GET", "POST"])
@limiter.limit(_relay_ip_limit, methods=["POST"])  # key: the connecting address, no header
@limiter.limit(_relay_domain_limit, methods=["POST"], key_func=_relay_domain_key)
def contact(name: str) -> Any:
    """Anyone writes to the registrant; neither side learns the other's address (P19)."""
    domain = _relay_domain()
    if domain is None:
        abort(404)
    form = RelayForm()
    status, sent = 200, False
    if form.validate_on_submit():
        try:
            relay.send(domain, form.name.data, form.email.data.strip(), form.message.data.strip())
        except relay.RelayError as exc:
            form.message.errors = [*form.message.errors, str(exc)]
            status = 400
        else:
            sent, form = True, RelayForm(formdata=None)
    elif request.method == "POST":
        status = 400
    accepting = bool(domain.privacy_enabled) and relay.enabled(domain)
    return render_template("privacy/whois/contact.html", form=form, domain=domain,
                           unicode_name=whois_data.unicode_name(domain.name),
                           accepting=accepting, sent=sent, days=relay.keep_days()), status
