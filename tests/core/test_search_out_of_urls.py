"""Search terms (emails, phone numbers, domain names) never travel in a URL, where proxy and
server access logs and the browser's history would keep them: every search form posts.

The walk requests every GET page as each role, once plain and once with search-style query
parameters naming a real customer: the page must not change (no search reads the URL), and
no form on it may submit text by GET. A search by POST still finds the customer.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask

from tests.conftest import login, post_form

TEXT_TYPES = {"", "text", "search", "email", "tel", "url", "number"}
SAME_REQUEST_ID = {"X-Request-Id": "search-walk"}  # error pages show it
FLASH = re.compile(r'<div class="flash" role="status">.*?</div>', re.S)
CSRF_VALUE = re.compile(r'(name="csrf_token"[^>]*value=")[^"]*|(value=")[^"]*("[^>]*name="csrf_token")')


class Forms(HTMLParser):
    """Each <form>'s method and the names of the text fields inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((a.get("method", "get").lower(), []))  # HTML's default is GET
        elif self.forms and (tag == "textarea" or (
                tag == "input" and a.get("type", "").lower() in TEXT_TYPES)):
            self.forms[-1][1].append(a.get("name", "?"))


#: GET forms that may carry text, and why. The audit trail's filter takes a staff member's name
#: or role and a client id, never a customer's email, phone or domain, and a GET filter is what
#: lets its pages and its CSV export keep the filter.
GET_FORMS_ALLOWED = {"/admin/audit/": ["actor", "account"]}
#: Not pages: each answer differs from the last whatever the query (the CSV export appends its
#: own trail entry, which the next export lists).
CHANGES_EVERY_TIME = {"/admin/audit/export.csv"}


def get_forms_with_text(html: str) -> list[list[str]]:
    parser = Forms()
    parser.feed(html)
    return [fields for method, fields in parser.forms if method == "get" and fields]


def _pages(app: Flask) -> list[str]:
    # /metrics is not a page (text for Prometheus, 404 to people) and its counts move with
    # every request; tests/core/test_metrics.py shows it ignores the query.
    return sorted(str(rule.rule) for rule in app.url_map.iter_rules()
                  if "GET" in rule.methods and not rule.arguments
                  and rule.endpoint not in ("static", "monitoring.scrape"))


def _normalised(response: Any) -> tuple[int, str, str]:
    """What a search could change: a redirect's target page (a sign-in redirect rightly
    carries the whole URL in ``next``), or the page without its CSRF token and without the
    messages left by earlier requests (the first render shows them)."""
    if 300 <= response.status_code < 400:
        return response.status_code, response.headers["Location"].split("?")[0], ""
    body = CSRF_VALUE.sub(lambda m: (m.group(1) or m.group(2)) + (m.group(3) or ""),
                          response.get_data(as_text=True))
    body = FLASH.sub("", body)
    return response.status_code, response.headers.get("Location", ""), body


def test_no_page_reads_a_search_term_from_the_url_or_has_a_get_search_form(
        app: Flask, factories: Any, make_app: Any) -> None:
    target = factories.subscriber(email="findme@example.com", phone="+447700900123")
    factories.domain(target.account, "findme.test")
    term = {"q": target.email, "query": target.email, "search": target.email,
            "term": target.email, "s": target.email, "email": target.email,
            "phone": "+447700900123", "domain": "findme.test", "name": "findme.test",
            "filter": target.email}
    people = {"anonymous": None, "subscriber": factories.subscriber(),
              "reseller": factories.reseller(), "staff": factories.staff(),
              "admin": factories.staff("admin")}
    pages = _pages(app)
    assert "/admin/" in pages
    problems, seen = [], 0
    for role, user in people.items():
        client = make_app().test_client()
        if user is not None:
            assert login(client, user).status_code == 302, role
        for url in pages:
            plain = client.get(url, headers=SAME_REQUEST_ID)
            searched = client.get(url, query_string=term, headers=SAME_REQUEST_ID)
            seen += plain.status_code == 200
            if url not in CHANGES_EVERY_TIME and _normalised(plain) != _normalised(searched):
                problems.append(f"{role} GET {url}: the page changes with a ?q=-style term")
            if plain.mimetype == "text/html":
                for fields in get_forms_with_text(plain.get_data(as_text=True)):
                    if fields == GET_FORMS_ALLOWED.get(url):
                        continue
                    problems.append(f"{role} GET {url}: a form sends {fields} by GET")
    assert not problems, "\n".join(problems)
    assert seen > 25  # the walk really rendered pages (27 in the core alone)


def test_the_guard_finds_a_get_search_form() -> None:
    assert get_forms_with_text('<form><input name="q"></form>') == [["q"]]
    assert get_forms_with_text('<form method="GET"><textarea name="t"></textarea></form>') == [["t"]]
    assert get_forms_with_text('<form method="post"><input name="q"></form>') == []
    assert get_forms_with_text('<form><input type="hidden" name="v"><button>Go</button></form>') == []


@pytest.mark.parametrize("term", ["findme@example.com", " FINDME@example.COM ", "+447700900123",
                                  "findme.test", "NUMBER"])
def test_staff_search_by_post_finds_the_customer_and_keeps_the_url_clean(
        client, factories, login_as, term):
    target = factories.subscriber(email="Findme@Example.com", phone="+447700900123")
    factories.subscriber(email="other@example.com")
    factories.domain(target.account, "findme.test")
    login_as("staff")
    response = post_form(client, "/admin/", {"q": term.replace("NUMBER",
                                                                str(target.account.number))})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"/admin/customers/{target.account_id}" in page
    assert page.count("/admin/customers/") == 1
    assert response.request.url.rstrip("/").endswith("/admin")  # the term went in the body
    # without the form's CSRF token the search is refused
    assert client.post("/admin/", data={"q": "findme@example.com"}).status_code == 400


@pytest.mark.needs_privacy
def test_complaints_desk_domain_search_posts_and_leads_to_the_domain(client, factories, login_as):
    target = factories.subscriber()
    domain = factories.domain(target.account, "swan-shop.test")
    login_as("staff")
    response = post_form(client, "/admin/complaints/", {"domain": " Swan-Shop.test "})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/domains/{domain.id}")
    missing = post_form(client, "/admin/complaints/", {"domain": "nowhere.test"})
    assert missing.status_code == 200 and "No domain named &#39;nowhere.test&#39;" in \
        missing.get_data(as_text=True)
