"""Every keyset-paged list, as every role, with cursors that are well formed but wrong.

A cursor is base64 JSON of the page's sort keys (panel/paging.py). One of the right width whose
keys have the wrong types (``["x", "y", "z"]`` on a list paged by due date, time and id) reached
the database driver, which raised: a 500 on the staff removal queue. The walk finds the paged
lists by asking each page for 50 rows a page (only a paged list then shows its pager), and sends
each one cursors of every width up to the widest list's and every key type, on every list's
argument names. Each answer is a page (the first, with a notice, for a cursor that does not fit
the list; a cursor of the list's own key types is a place in it), never an error.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest

from panel.paging import BAD_CURSOR, encode_cursor
from tests.test_safe_methods import World, visitors

pytestmark = pytest.mark.needs_privacy

ROOT = Path(__file__).resolve().parent.parent
#: Every list's argument prefix: "" for a page's only (or first) list, and each second list's
#: own, read from the code that pages it (``keyset(..., prefix="closed_")``).
PREFIXES = ("", *sorted({found for path in [*ROOT.glob("panel/**/*.py"), *ROOT.glob("plugins/**/*.py")]
                         for found in re.findall(r'prefix="(\w+_)"', path.read_text())}))
#: One value of each kind a cursor can hold (panel.paging encodes str, int, date, time and
#: uuid); a cursor of one kind only is wrong for any list with a key of another.
KINDS: list[object] = ["x", 7, date(2026, 1, 1), datetime(2026, 1, 1, tzinfo=UTC),
                       uuid.UUID(int=0)]
WIDEST = 3  # keys of the widest paged list (due date, received time, id)
PAGER = re.compile(r'<nav class="pager"')


def _hostile() -> list[dict[str, str]]:
    """Query strings: each cursor as ``after`` of every list at once, and once as ``before``."""
    queries = []
    for width in range(1, WIDEST + 1):
        for kind in KINDS:
            cursor = encode_cursor([kind] * width)
            queries.append({f"{p}after": cursor for p in PREFIXES})
    queries.append({f"{p}before": encode_cursor(["x"] * WIDEST) for p in PREFIXES})
    return queries


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the cursor is refused before SQL
def test_a_cursor_of_the_wrong_key_types_is_the_first_page_on_every_paged_list_for_every_role(
        app, factories):
    app.config["UNSUBSCRIBE_BAD_LIMIT_PER_IP"] = "10000 per minute"
    world = World(app, factories)
    rules = sorted((r for r in app.url_map.iter_rules() if "GET" in (r.methods or ())),
                   key=lambda r: r.rule)
    wide = urlencode({f"{p}per": "50" for p in PREFIXES})
    hostile = _hostile()
    paged: set[str] = set()
    failed: dict[str, str] = {}
    noticed = 0
    for role, client in visitors(app, world):
        for rule in rules:
            for url in world.urls(app, rule):
                joiner = "&" if "?" in url else "?"
                page = client.get(f"{url}{joiner}{wide}")
                if page.status_code != 200 or "html" not in (page.mimetype or "") \
                        or not PAGER.search(page.get_data(as_text=True)):
                    continue
                paged.add(rule.endpoint)
                for query in hostile:
                    response = client.get(f"{url}{joiner}{urlencode(query)}")
                    if response.status_code != 200:
                        failed.setdefault(f"{rule.endpoint} ({role})",
                                          f"{response.status_code} for {query}")
                    elif BAD_CURSOR in response.get_data(as_text=True).replace("&#39;", "'"):
                        noticed += 1
    assert not failed, "\n".join(f"{where}: {what}" for where, what in failed.items())
    assert len(paged) >= 12 and len(PREFIXES) >= 4, (sorted(paged), PREFIXES)  # found them
    assert noticed > len(paged) * len(hostile) / 2  # most cursors fit no list: the notice
