"""The second step of a dangerous action (issue 15): deactivating a plugin, marking an
account as a child's, closing, erasing, breaking glass, refusing a request, suspending.

The first POST (the danger button on the page) changes nothing: it answers with a page that
says what will happen and posts the same fields again with ``confirm=yes``. No script is
needed, a stray click or a replayed single POST does nothing, and each view keeps its own
checks (CSRF, scope, access session) before it asks.
"""

from __future__ import annotations

from flask import render_template, request

FIELD, VALUE = "confirm", "yes"


def confirmed() -> bool:
    return request.form.get(FIELD) == VALUE


def ask(title: str, consequence: str, button: str, cancel_url: str) -> tuple[str, int]:
    """The confirmation page for the current POST: ``consequence`` says what will happen."""
    fields = [(k, v) for k, v in request.form.items(multi=True) if k not in ("csrf_token", FIELD)]
    return render_template("confirm.html", title=title, consequence=consequence, button=button,
                           cancel_url=cancel_url, fields=fields, action=request.path), 200
