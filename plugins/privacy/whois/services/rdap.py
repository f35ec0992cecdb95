"""RDAP answers (RFC 9083 JSON, RFC 7480 HTTP use, RFC 9537 redaction) for the panel's domains.

Built from the same ``whois_data.Record`` as the port-43 answer, so both publish the same
thing. Redacted contacts follow RFC 9537 and the ICANN RDAP profile: the name and address
parts are emptied (``emptyValue``), the phone removed (``removal``), the organisation and the
email replaced (``replacementValue``) by the privacy service's organisation and the relay's
contact URI. Each ``redacted`` member names the field and gives a JSONPath to it.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pycountry

from panel.urls import external_url
from plugins.privacy.whois.services.lookup import RDAP_STATUS, Contact, Record

MEDIA_TYPE = "application/rdap+json"
CONFORMANCE = ["rdap_level_0", "redacted"]
RDAP_ROLES = {"registrant": "registrant", "admin": "administrative", "tech": "technical",
              "billing": "billing"}
NAME_PREFIX = {"registrant": "Registrant", "admin": "Admin", "tech": "Tech", "billing": "Billing"}
REASON = {"description": "The registrant has WHOIS privacy switched on "
                         "(Registration Data Policy)"}
#: Stands for the query time in a kept answer. No domain name, handle or status holds braces,
#: and they come before the events, so the first one found is the events'.
NOW = "{rdap-now}"
TERMS = {"title": "Terms of Use",
         "description": ["This data is provided for information about domain registrations "
                         "only. With privacy on, contact the registrant through the web form "
                         "linked in this record."]}


def _date(value: datetime | date) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{value.isoformat()}T00:00:00Z"


def _entity_path(role: str) -> str:
    return f"$.entities[?(@.roles[0]=='{RDAP_ROLES[role]}')]"


def country_name(code: str) -> str:
    """The ADR's country name component (RFC 6350 6.3.1), which RDAP clients show; the ISO
    code stays in the ``cc`` parameter (RFC 8605). A value that is no ISO code is kept as is."""
    found = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    return found.name if found else code


def _vcard(c: Contact, private: bool, contact_url: str) -> list[Any]:
    v = c.values
    props: list[list[Any]] = [["version", {}, "text", "4.0"],
                              ["fn", {}, "text", "" if private else v["name"]]]
    if v.get("organization"):
        props.append(["org", {}, "text", v["organization"]])
    code = v.get("country", "")
    parts = ["", "", "" if private else v["street"], "" if private else v["city"],
             v.get("state", ""), "" if private else v["postcode"], country_name(code)]
    props.append(["adr", {"cc": code} if code else {}, "text", parts])
    if private:
        props.append(["contact-uri", {}, "uri", contact_url])
    else:
        if v.get("phone"):
            props.append(["tel", {"type": "voice"}, "uri", f"tel:{v['phone']}"])
        if v.get("email"):
            props.append(["email", {}, "text", v["email"]])
    return ["vcard", props]


def _redactions(c: Contact) -> list[dict[str, Any]]:
    """RFC 9537 section 4.2 members for one redacted contact."""
    base, who = _entity_path(c.role), NAME_PREFIX[c.role]

    def prop(name: str) -> str:
        return f"{base}.vcardArray[1][?(@[0]=='{name}')]"

    out = [
        {"name": {"type": f"{who} Name"}, "postPath": prop("fn") + "[3]",
         "pathLang": "jsonpath", "method": "emptyValue", "reason": REASON},
        {"name": {"type": f"{who} Organization"}, "prePath": prop("org") + "[3]",
         "replacementPath": prop("org") + "[3]", "pathLang": "jsonpath",
         "method": "replacementValue", "reason": REASON},
        {"name": {"type": f"{who} Street"}, "postPath": prop("adr") + "[3][:3]",
         "pathLang": "jsonpath", "method": "emptyValue", "reason": REASON},
        {"name": {"type": f"{who} City"}, "postPath": prop("adr") + "[3][3]",
         "pathLang": "jsonpath", "method": "emptyValue", "reason": REASON},
        {"name": {"type": f"{who} Postal Code"}, "postPath": prop("adr") + "[3][5]",
         "pathLang": "jsonpath", "method": "emptyValue", "reason": REASON},
        {"name": {"type": f"{who} Phone"}, "prePath": prop("tel"),
         "pathLang": "jsonpath", "method": "removal", "reason": REASON},
        {"name": {"type": f"{who} Email"}, "prePath": prop("email"),
         "replacementPath": prop("contact-uri"), "pathLang": "jsonpath",
         "method": "replacementValue", "reason": REASON},
    ]
    return out


def now() -> str:
    return _date(datetime.now(UTC))


def domain_text(r: Record) -> str:
    """``domain_object(r)`` as JSON text, with ``NOW`` for the query time: the rest stays the
    same while the record does, so an app can keep it (``whois_data.kept``)."""
    return json.dumps(domain_object(r, NOW), ensure_ascii=False)


def domain_object(r: Record, queried: str | None = None) -> dict[str, Any]:
    """The RDAP domain object for ``r`` (already redacted where privacy is on)."""
    self_url = external_url("privacy_rdap.domain", name=r.name)
    registrar = {"objectClassName": "entity", "roles": ["registrar"],
                 "vcardArray": ["vcard", [["version", {}, "text", "4.0"],
                                          ["fn", {}, "text", r.registrar]]]}
    entities: list[dict[str, Any]] = [registrar]
    redacted: list[dict[str, Any]] = []
    for c in r.contacts:
        entities.append({"objectClassName": "entity", "roles": [RDAP_ROLES[c.role]],
                         "vcardArray": _vcard(c, r.private, r.contact_url)})
        if r.private:
            redacted += _redactions(c)
    notices = [TERMS]
    if r.private:
        notices.append({
            "title": "Privacy service",
            "description": ["The registrant's personal data is withheld by this privacy "
                            "service; write to the registrant through the web form.",
                            *r.service.address_lines()],
            "links": [{"value": self_url, "rel": "alternate", "href": r.contact_url,
                       "type": "text/html"}]})
    obj: dict[str, Any] = {
        "rdapConformance": CONFORMANCE,
        "objectClassName": "domain",
        "handle": r.handle,
        "ldhName": r.name,
        "status": [RDAP_STATUS.get(r.status, r.status)],
        "events": [
            {"eventAction": "registration", "eventDate": _date(r.created)},
            {"eventAction": "expiration", "eventDate": _date(r.expires)},
            {"eventAction": "last changed", "eventDate": _date(r.updated)},
            {"eventAction": "last update of RDAP database", "eventDate": queried or now()},
        ],
        "nameservers": [{"objectClassName": "nameserver", "ldhName": ns} for ns in r.nameservers],
        "entities": entities,
        "notices": notices,
        "links": [{"value": self_url, "rel": "self", "href": self_url, "type": MEDIA_TYPE}],
    }
    if r.unicode_name != r.name:
        obj["unicodeName"] = r.unicode_name
    if redacted:
        obj["redacted"] = redacted
    return obj


def error(code: int, title: str, description: str) -> dict[str, Any]:
    """An RDAP error response body (RFC 9083 section 6)."""
    return {"rdapConformance": CONFORMANCE, "errorCode": code, "title": title,
            "description": [description], "notices": [TERMS]}


def help_object() -> dict[str, Any]:
    return {"rdapConformance": CONFORMANCE, "notices": [
        TERMS,
        {"title": "Help",
         "description": ["Query a domain registered here: GET /rdap/domain/<name>, with the "
                         "name in ASCII (punycode) or Unicode.",
                         "Answers are application/rdap+json; redacted fields are listed in "
                         "the 'redacted' member (RFC 9537).",
                         "The same data is served over WHOIS (port 43)."],
         "links": [{"value": external_url("privacy_rdap.help"), "rel": "self",
                    "href": external_url("privacy_rdap.help"), "type": MEDIA_TYPE}]}]}
