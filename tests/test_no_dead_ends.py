"""No dead ends (issue 14): every message that tells a customer to do something links to where
they can do it.

The walk reads every flash message, error page, erasure blocker and email body in the code
(``panel/`` and ``plugins/``) and finds those that tell the reader to act. Each must carry its
link: an email a URL, an error page a ``link=``, a blocker its client-area endpoint. A flash
message is shown on the page its view goes to next, so it may instead be listed below with
that page, when that page is where the thing is done. A new message that tells the customer
to do something and leaves them nowhere fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import post_form

ROOT = Path(__file__).resolve().parent.parent
#: Telling the reader to act: a sentence that opens with a verb, or these phrases anywhere.
DIRECTIVE = re.compile(
    r"(?:^|[.:;!]\s+)(?:please\s+|to confirm,\s+)?(?:sign in|try|go|reload|download|open|"
    r"contact|ask|tell|change|read|pay|cancel|check|click|visit|keep)\b"
    r"|try again|(?:contact|ask|tell|write to) support|write to\b|must be (?:paid|cancelled)", re.I | re.M)

#: Flash messages shown on the very page where the customer does what they say:
#: (file, start of the message) -> the endpoint the view sends them to with it.
SHOWN_WHERE_DONE = {
    ("panel/auth/views.py", "Sign in again"): "auth.login",
    ("panel/reseller/views.py", "Your password is set. Sign in"): "auth.login",
    ("plugins/privacy/retention/views/activity.py", "This form expired: try again"):
        "privacy_activity.index",
    ("plugins/privacy/center/views/data.py", "Your export is ready. Download it below"): ".index",
    ("plugins/privacy/center/views/data.py", "Your export could not be prepared. Please try"):
        ".index",
    ("plugins/privacy/center/views/policy.py", "Version {} is now in effect: please read"):
        "_accept_page",
    # staff, on the page where they open an access session or check the draft
    ("plugins/privacy/access/views/staff.py", "This access session has ended: open a new one"):
        ".index",
    ("plugins/privacy/email/views/campaigns.py", "Draft saved: check it"): "_endpoint('detail')",
    ("panel/password_reset/views.py", "Your password is changed and every session was signed "
     "out. Sign in"): "auth.login",
    ("panel/password_reset/views.py", "The form expired; try again"): "password_reset_admin.team",
}



def _text(node: ast.AST, constants: dict[str, str] | None = None) -> str:
    """The literal words of a message expression; {} where a value goes in. A module-level
    constant (``message=UNAVAILABLE``) is read through ``constants``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and constants:
        return constants.get(node.id, "")
    if isinstance(node, ast.JoinedStr):
        return "".join("{}" if isinstance(v, ast.FormattedValue) else _text(v) for v in node.values)
    if isinstance(node, ast.BinOp):
        return _text(node.left) + _text(node.right)
    if isinstance(node, ast.IfExp):
        return _text(node.body) + " | " + _text(node.orelse)
    if isinstance(node, (ast.List, ast.Tuple)):
        return "\n".join(_text(e) for e in node.elts)
    if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "join" and node.args:
        return _text(node.args[0])
    if isinstance(node, ast.Starred):
        return _text(node.value)
    return ""


def _carries_url(node: ast.AST) -> bool:
    """An email body with a link in it: external_url(...) or a variable holding one."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and getattr(sub.func, "id", "") == "external_url":
            return True
        if isinstance(sub, ast.Name) and ("link" in sub.id or "url" in sub.id):
            return True
    return False


def _messages() -> list[tuple[str, str, str, ast.Call, ast.AST | None]]:
    """(file, kind, words, call, enclosing function) for every directive message."""
    found = []
    for path in sorted([*ROOT.joinpath("panel").rglob("*.py"),
                        *ROOT.joinpath("plugins").rglob("*.py")]):
        rel = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text())
        constants = {t.id: _text(n.value) for n in tree.body if isinstance(n, ast.Assign)
                     for t in n.targets if isinstance(t, ast.Name)}
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name == "render_template" and node.args and _text(node.args[0]) == "error.html":
                kind = "error page"
                words = " ".join(_text(k.value, constants) for k in node.keywords
                                 if k.arg == "message")
            elif name == "page":  # panel/app.py's error handlers
                kind, words = "error page", " ".join(_text(a) for a in node.args[1:3])
            elif name in ("flash", "Blocker"):
                kind, words = name, _text(node.args[0]) if node.args else ""
            elif name == "queue":
                kind = "email"
                words = " ".join(_text(k.value) for k in node.keywords if k.arg == "body")
            else:
                continue
            if not DIRECTIVE.search(words):
                continue
            func = node
            while func is not None and not isinstance(func, ast.FunctionDef):
                func = parents.get(func)
            found.append((rel, kind, words, node, func))
    return found


def _retry_code(call: ast.Call) -> bool:
    """``page(503, ...)``: panel/app.py's page() adds a "Try again" link for these codes."""
    from panel.app import RETRY

    first = call.args[0] if call.args else None
    return isinstance(first, ast.Constant) and first.value in RETRY


def _unlinked() -> list[str]:
    bad = []
    for rel, kind, words, call, func in _messages():
        if "support_address(" in ast.unparse(call):  # names where to write: the support address
            continue
        keywords = {k.arg for k in call.keywords}
        if kind == "email" and _carries_url(call):
            continue
        if kind == "error page" and ("link" in keywords or _retry_code(call)):
            continue
        if kind == "Blocker" and (len(call.args) >= 2 or "endpoint" in keywords):
            continue
        if kind == "flash":
            where = [e for (f, start), e in SHOWN_WHERE_DONE.items()
                     if f == rel and words.startswith(start)]
            if where and func is not None and where[0] in ast.unparse(func):
                continue
        bad.append(f"{rel}:{call.lineno}: {kind}: {words[:100]!r}")
    return bad


def test_every_message_that_tells_a_customer_to_act_links_to_where_they_can():
    messages = _messages()
    kinds = {kind for _, kind, _, _, _ in messages}
    assert kinds >= {"flash", "error page", "email", "Blocker"}, kinds  # the walk sees them all
    assert _unlinked() == []
    listed = {(f, part) for f, part in SHOWN_WHERE_DONE}
    stale = {(f, part) for f, part in listed
             if not any(rel == f and part in words for rel, _, words, _, _ in messages)}
    assert stale == set(), "listed messages that no longer exist: drop them from the lists"


def test_every_standard_error_page_that_says_try_again_links_to_it():
    from panel.app import MESSAGES, RETRY

    telling = {code for code, (_, message) in MESSAGES.items() if DIRECTIVE.search(message)}
    assert telling and telling <= set(RETRY)


def test_the_walk_catches_a_message_that_leaves_the_customer_nowhere(tmp_path, monkeypatch):
    """The walk itself: a flash telling the customer to pay, with no link, is found."""
    code = 'from flask import flash\n\ndef view():\n    flash("Your invoice must be paid first.")\n'
    fake = tmp_path / "panel" / "fake.py"
    fake.parent.mkdir()
    fake.write_text(code)
    (tmp_path / "plugins").mkdir()
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert _unlinked() == ["panel/fake.py:4: flash: 'Your invoice must be paid first.'"]


def test_an_expired_form_page_links_back_to_the_form(app, client, login_as):
    login_as("subscriber")
    response = client.post("/client/profile", data={"first_name": "x"},
                           headers={"Referer": "http://localhost/client/profile"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Form expired" in page
    assert '<a href="/client/profile">Back to the form</a>' in page
    # a Referer from another site is never a link target: the home page instead
    other = client.post("/client/profile", headers={"Referer": "https://evil.test/x"})
    assert 'href="https://evil.test' not in other.get_data(as_text=True)
    assert '<a href="/">Back to the form</a>' in other.get_data(as_text=True)


def test_too_many_attempts_page_links_to_try_again(app, client, factories):
    user = factories.subscriber()
    for _ in range(30):
        response = post_form(client, "/login", {"email": user.email, "password": "wrong"},
                             headers={"Referer": "http://localhost/login"})
        if response.status_code == 429:
            break
    else:
        pytest.fail("the sign-in form is not rate-limited")
    assert '<a href="/login">Try again</a>' in response.get_data(as_text=True)
