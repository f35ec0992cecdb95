"""Two resellers, each with a customer who has a domain, and a house customer: fixtures for the
white label (tests/core/reseller) and the reseller's privacy features (tests/privacy/reseller)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from panel.accounts.models import Account
from panel.extensions import db
from tests.conftest import login

SESSION = {"reason": "support", "ticket": "T-1", "note": "n", "minutes": "30"}


class Resellers:
    def __init__(self, factories: Any) -> None:
        self.r1 = factories.reseller(name="Reseller One Ltd")
        self.r2 = factories.reseller(name="Reseller Two Ltd")
        self.c1 = factories.subscriber(first_name="Carla", last_name="Oneclient", reseller=self.r1)
        self.c2 = factories.subscriber(first_name="Dieter", last_name="Twoclient", reseller=self.r2)
        self.house = factories.subscriber(first_name="Hanna", last_name="Housecust")
        self.a1 = db.session.get(Account, self.c1.account_id)
        self.a2 = db.session.get(Account, self.c2.account_id)
        self.d1 = factories.domain(self.a1, "carla-one.test")
        self.d2 = factories.domain(self.a2, "dieter-two.test", privacy=False)

    def account(self, user: Any) -> Account:
        db.session.expire_all()
        account = db.session.get(Account, user.account_id)
        assert account is not None
        return account


@pytest.fixture
def resellers(factories: Any) -> Resellers:
    return Resellers(factories)


@pytest.fixture
def as_r1(client: FlaskClient, resellers: Resellers) -> FlaskClient:
    assert login(client, resellers.r1).status_code == 302
    return client
