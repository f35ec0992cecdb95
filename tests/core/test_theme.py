"""An operator's own theme (issue 12): a file under instance/templates/ with a page's relative
path replaces that page, a core page or a plugin's, and the panel keeps working around it."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from panel.auth.views import WRONG
from tests.conftest import login, post_form

LOGIN_OVERRIDE = """{% extends "base.html" %}
{% from "macros.html" import field %}
{% block title %}Sign in to Acme{% endblock %}
{% block content %}
<h1>Welcome back to Acme Hosting</h1>
<form method="post" novalidate>{{ form.hidden_tag() }}{{ field(form.email, "username") }}
{{ field(form.password, "current-password") }}<button type="submit">Sign in</button></form>
{% endblock %}
"""


def _override(app: Flask, name: str, text: str) -> None:
    path = Path(app.instance_path) / "templates" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_an_operator_replaces_a_core_page_from_the_instance_folder(make_app, factories):
    before = make_app().test_client().get("/login").get_data(as_text=True)
    assert "<h1>Sign in</h1>" in before and "Acme" not in before
    app = make_app()
    _override(app, "auth/login.html", LOGIN_OVERRIDE)
    client = make_app().test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "Welcome back to Acme Hosting" in page and "<h1>Sign in</h1>" not in page
    assert 'href="/static/panel.css"' in page  # the theme's layout still frames it
    user = factories.subscriber()
    answer = post_form(client, "/login", {"email": user.email, "password": "not the password"})
    wrong = answer.get_data(as_text=True)  # the replaced page still drives the real sign-in
    assert answer.status_code == 200 and WRONG in wrong and "Welcome back to Acme" in wrong
    assert login(client, user).status_code == 302


@pytest.mark.needs_privacy
def test_an_operator_replaces_a_plugin_page_from_the_instance_folder(make_app):
    assert "Our promise, in our words" not in make_app().test_client().get(
        "/privacy").get_data(as_text=True)
    app = make_app()
    _override(app, "privacy/center/policy_index.html",
              '{% extends "base.html" %}{% block content %}<h1>Our promise, in our words</h1>'
              "{% endblock %}")
    response = make_app().test_client().get("/privacy")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Our promise, in our words" in page
    signup = make_app().test_client().get("/signup")  # the plugin's other pages are its own
    assert signup.status_code == 200 and "Our promise" not in signup.get_data(as_text=True)
