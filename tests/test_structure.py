"""The shape of the code (issue 12): what `lint-imports` cannot say by itself.

The contracts in pyproject.toml keep every import in its layer; these tests make sure a new
module cannot slip past them by being in no layer at all, that no two modules import each
other in a circle (directly or through others, at any depth, deferred imports included), and
that the privacy plugin's top level stays its one integration surface plus its features.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PRIVACY = ROOT / "plugins" / "privacy"
FEATURES = {"access", "center", "email", "whois", "retention", "reseller", "processing"}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("panel", "plugins", cache_dir=None)


def _contract(contract_id: str) -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [found] = [c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == contract_id]
    return found


def _circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_no_module_imports_another_in_a_circle(graph):
    assert _circles(graph) == []


def test_the_circle_finder_finds_circles():
    """The check above would be worthless if it could not see one."""
    fake = grimp.ImportGraph()
    for importer, imported in (("a.x", "a.y"), ("a.y", "a.z"), ("a.z", "a.x"), ("a.z", "a.w")):
        fake.add_import(importer=importer, imported=imported)
    assert _circles(fake) == [["a.x", "a.y", "a.z"]]


def test_every_core_module_is_in_a_layer(graph):
    """A new module of the panel must be placed in the layers contract, or nothing checks it.
    Packages that only group their modules (an __init__ importing nothing) need no place."""
    layers = [name for layer in _contract("core-layers")["layers"]
              for name in re.split(r"\s*[|:]\s*", layer.strip())]
    placed = set(layers)

    def covered(module: str) -> bool:
        return any(module == p or module.startswith(p + ".") for p in placed)

    unplaced = [m for m in sorted(graph.modules) if m.startswith("panel") and not covered(m)
                and not (graph.find_children(m) and not graph.find_modules_directly_imported_by(m))]
    assert unplaced == []
    assert len(layers) == len(placed), "a module is named in two layers"


def test_the_privacy_plugin_is_its_integration_surface_and_its_features():
    top = {p.name for p in PRIVACY.iterdir() if p.name != "__pycache__"}
    assert top == {"__init__.py", "plugin.py", "migrations", *FEATURES}
    for feature in FEATURES - {"processing"}:
        templates = PRIVACY / feature / "templates" / "privacy"
        assert {p.name for p in templates.iterdir()} == {feature}, feature


def test_the_privacy_feature_contract_names_every_feature():
    contract = _contract("privacy-feature-shape")
    assert {c.rsplit(".", 1)[1] for c in contract["containers"]} == FEATURES
    assert {m.rsplit(".", 1)[1] for m in _contract("privacy-features")["modules"]} == (
        FEATURES - {"processing"})
