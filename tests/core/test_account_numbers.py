"""Client ids ("client id 1044") stay unique when accounts are created at the same moment, as
two app servers do when two people sign up at once (found by tests/test_multiserver.py: a
reseller's "Add a customer" answered 500 on a duplicate client id)."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from panel.accounts.models import Account
from panel.accounts.services import create_subscriber
from panel.extensions import db

AT_ONCE = 8


def test_accounts_created_at_once_each_get_their_own_client_id(app: Flask) -> None:
    before = db.session.execute(select(func.count()).select_from(Account)).scalar_one()
    db.session.remove()
    start, failures, lock = threading.Barrier(AT_ONCE), [], threading.Lock()

    def create(n: int) -> None:
        with app.app_context():
            try:
                start.wait()
                create_subscriber(email=f"same-moment{n}@example.com", password="a long password",
                                  first_name="Ada", last_name=f"Lovelace{n}", phone=None,
                                  actor=None)
            except Exception as exc:  # noqa: BLE001 - reported below with the others
                with lock:
                    failures.append(f"{type(exc).__name__}: {str(exc)[:200]}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(AT_ONCE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    numbers: list[Any] = list(db.session.execute(select(Account.number)).scalars())
    assert len(numbers) == before + AT_ONCE == len(set(numbers))
