"""Issue 14 (sessions that really end): what the server-side session lookup costs.

A signed-in subscriber opens their overview page (``GET /client/``) with the server-side
session check (the ``user_session`` row named by the cookie's token must exist, belong to the
user and be live), against the same page with today's signed-cookie session alone (the user
loader checks only the login id's ``session_token``, as before issue 14). Same app, same
database, same browser cookie jar shape; the two loaders are swapped per batch, interleaved,
and the order alternates. Target: at most 1.15x.

Run with ``python -m bench --only sessions [--quick]``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from bench.audit import PASSWORD
from bench.common import (
    LABELS,
    Figure,
    IsolatedClient,
    current_backend,
    fmt_time,
    paired,
    paired_figure,
    post_form,
    scratch_panel,
)
from panel.accounts.services import create_subscriber
from panel.auth.access import load_session_user, load_user
from panel.auth.passwords import hash_password
from panel.extensions import db, login_manager

URL = "/client/"


@contextlib.contextmanager
def cookie_only() -> Iterator[None]:
    """Today's loader: the signed cookie's login id alone decides."""
    login_manager.user_loader(load_user)
    try:
        yield
    finally:
        login_manager.user_loader(load_session_user)


def request_lookup(quick: bool) -> Figure:
    views = 50 if quick else 250
    rounds = 5 if quick else 9
    with scratch_panel() as app:
        create_subscriber(email="ada@example.com", password=None,
                          password_hash=hash_password(PASSWORD), actor=None,
                          first_name="Ada", last_name="Lovelace", phone="+442079460123",
                          address1="1 High Street", city="London", postcode="SW1A 1AA",
                          country="GB")
        db.session.commit()
        db.session.close()
        app.test_client_class = IsolatedClient
        client = app.test_client()
        response = post_form(client, "/login", {"email": "ada@example.com", "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)

        def browse() -> None:
            for _ in range(views):
                page = client.get(URL)
                assert page.status_code == 200, page.status_code

        def today() -> None:
            with cookie_only():
                browse()

        browse()  # warm-up: templates compiled, statements cached
        today()
        result = paired(browse, today, repeats=rounds)
        db.session.close()
    on, off = (result.median(i) / views for i in (0, 1))
    return paired_figure("signed-in page, server-side session lookup vs signed cookie only",
                         result, at_most=1.15,
                         detail=f"{fmt_time(on)} vs {fmt_time(off)} per request; "
                                f"{views} GETs of {URL} a side, {LABELS[current_backend()]}")


def run(quick: bool) -> list[Figure]:
    return [request_lookup(quick)]
