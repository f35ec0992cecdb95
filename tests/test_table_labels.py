"""Every table cell on every page carries its column's name (issue 15).

On a phone each table row is shown as a card, each value beside its label, and the label comes
from the cell's ``data-label`` (panel.css: ``td::before { content: attr(data-label) }``). A cell
without one shows a bare value, as the reseller's customer list once did ("2 / 1 of 2 private /
0 / no / never"). The walk uses tests/test_safe_methods.py's world, in which every route
argument names a real object, and GETs every page as each role; a cell that spans the whole
row (``colspan``: "No requests yet.") needs no label.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.test_safe_methods import World, visitors

pytestmark = pytest.mark.needs_privacy


class Cells(HTMLParser):
    """The <td> elements of a page that lack a non-empty data-label."""

    def __init__(self) -> None:
        super().__init__()
        self.cells = 0
        self.unlabelled: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "td":
            return
        self.cells += 1
        found = dict(attrs)
        if "colspan" not in found and not (found.get("data-label") or "").strip():
            self.unlabelled.append(self.get_starttag_text() or "<td>")


def unlabelled(html: str) -> tuple[int, list[str]]:
    parser = Cells()
    parser.feed(html)
    return parser.cells, parser.unlabelled


def test_the_check_finds_a_cell_without_its_label():
    assert unlabelled('<table><tr><td data-label="Status">ok</td><td>2</td>'
                      '<td data-label=" ">x</td></tr><tr><td colspan="3">None.</td></tr></table>'
                      ) == (4, ["<td>", '<td data-label=" ">'])


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the walk is about templates
def test_every_table_cell_on_every_page_has_its_column_label_for_every_role(app, factories):
    app.config["UNSUBSCRIBE_BAD_LIMIT_PER_IP"] = "10000 per minute"
    world = World(app, factories)
    rules = sorted((r for r in app.url_map.iter_rules() if "GET" in (r.methods or ())),
                   key=lambda r: r.rule)
    bad: dict[str, list[str]] = {}
    cells = pages = 0
    for role, client in visitors(app, world):
        for rule in rules:
            for url in world.urls(app, rule):
                response = client.get(url)
                if response.status_code != 200 or "html" not in (response.mimetype or ""):
                    continue
                pages += 1
                found, missing = unlabelled(response.get_data(as_text=True))
                cells += found
                if missing:
                    bad.setdefault(f"{rule.endpoint} ({role})", missing[:3])
    assert not bad, "cells without data-label (add the column's name):\n" + "\n".join(
        f"  {where}: {cells}" for where, cells in bad.items())
    assert pages > 100 and cells > 100, (pages, cells)  # the walk saw real tables
