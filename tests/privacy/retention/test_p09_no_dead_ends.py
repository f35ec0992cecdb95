"""No dead ends (issue 14): what stops a subscriber closing their account links to where they
deal with it, and once the service is cancelled the account closes and is erased on time."""

from __future__ import annotations

import re
from datetime import timedelta

from panel.accounts.models import Account
from panel.billing import cancellation
from panel.billing.models import Service
from panel.db_types import today
from panel.extensions import db
from plugins.privacy.retention.services import closure
from plugins.privacy.retention.services import schedule as retention
from tests.conftest import login, post_form
from tests.factories import DEFAULT_PASSWORD

CLOSE = "/client/privacy/activity/close"
BLOCKER = re.compile(r"<li>([^<]*)\.\s*(?:<a href=\"([^\"]+)\">([^<]+)</a>)?</li>")


def _blockers(client) -> list[tuple[str, str, str]]:
    page = client.get(CLOSE).get_data(as_text=True)
    return BLOCKER.findall(page.split("cannot be closed yet", 1)[1]) if "cannot be closed yet" \
        in page else []


def test_p09_cancel_the_service_close_the_account_and_it_is_erased_after_the_grace_period(
        app, client, factories, clock):
    user = factories.subscriber()
    service = factories.service(user.account)
    assert login(client, user).status_code == 302

    [(reason, link, action)] = _blockers(client)
    assert reason == "1 active service(s) must be cancelled first"
    assert (link, action) == ("/client/services", "Cancel services")
    refused = post_form(client, CLOSE, {"password": DEFAULT_PASSWORD, "understood": "y"})
    assert refused.status_code == 400 and 'href="/client/services"' in refused.get_data(as_text=True)

    services = client.get(link).get_data(as_text=True)  # the link leads to the way out
    cancel_url = f"/client/services/{service.id}/cancel"
    assert f'href="{cancel_url}"' in services
    assert post_form(client, cancel_url, {"when": "now", "understood": "y"}).status_code == 302
    assert _blockers(client) == []

    closed = post_form(client, CLOSE, {"password": DEFAULT_PASSWORD, "understood": "y"})
    assert closed.status_code == 302
    db.session.expire_all()
    account = db.session.get(Account, user.account_id)
    assert account.status == "closed"

    clock(days=29)
    retention.run()
    assert not closure.is_erased(account)
    clock(days=2)  # past RETENTION_CLOSED_ACCOUNT_DAYS (30): erased
    assert retention.run().counts["closed_accounts"] == 1
    db.session.expire_all()
    erased = db.session.get(Account, user.account_id)
    assert closure.is_erased(erased) and erased.last_name is None
    assert db.session.get(Service, service.id).status == "cancelled"  # billing records stay


def test_p09_every_blocker_links_to_the_page_where_the_customer_deals_with_it(
        app, client, factories):
    user = factories.subscriber()
    invoice = factories.invoice(user.account, status="unpaid")
    factories.service(user.account)
    pending = factories.service(user.account)
    pending.next_due_on = today() + timedelta(days=12)
    cancellation.request(pending, user, cancellation.END_OF_PERIOD)
    db.session.commit()
    assert login(client, user).status_code == 302

    found = _blockers(client)
    assert [r for r, _, _ in found] == [
        "1 unpaid invoice(s) must be paid or cancelled first",
        "1 active service(s) must be cancelled first",
        f"1 service(s) asked to be cancelled run until {pending.cancel_on:%d %B %Y}: the account "
        "can be closed after that, or once they are cancelled now"]
    for reason, link, action in found:
        assert link and action, f"no link for: {reason}"
        page = client.get(link)
        assert page.status_code == 200, (reason, link)
    invoices = client.get(found[0][1]).get_data(as_text=True)
    assert invoice.number in invoices
    services = client.get(found[2][1]).get_data(as_text=True)
    assert f'href="/client/services/{pending.id}/cancel"' in services  # "cancel it now instead"
