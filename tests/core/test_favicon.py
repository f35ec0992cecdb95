"""/favicon.ico answers with an icon (a 404 there is a console error on every first visit)."""

from __future__ import annotations

import re

from tests.conftest import login


def test_favicon_is_an_image_browsers_may_cache_for_everyone(app, client, factories):
    for who in ("visitor", "signed in"):
        if who == "signed in":
            login(client, factories.subscriber())
        response = client.get("/favicon.ico")
        assert response.status_code == 200, who
        assert response.mimetype.startswith("image/"), response.mimetype
        assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
        assert "public" in response.headers["Cache-Control"], who
        assert "max-age=604800" in response.headers["Cache-Control"], who
        assert "no-store" not in response.headers["Cache-Control"], who


def test_every_page_links_the_icon(client):
    page = client.get("/login").get_data(as_text=True)
    link = re.search(r'<link rel="icon" href="([^"]+)"', page)
    assert link, "no <link rel=icon> in templates/base.html"
    assert client.get(link.group(1)).status_code == 200
