"""What every privacy feature asks (P08) and registers (P06, P09), in one place that imports no
feature: whether a purpose is allowed for an account, and what each feature holds."""

from __future__ import annotations

from datetime import timedelta

from panel.accounts.erasure import erase
from panel.db_types import utcnow
from panel.extensions import db
from plugins.privacy.access.models import SupportCredential
from plugins.privacy.center.models import READY, DataExport
from plugins.privacy.email.models import EmailLinkKey
from plugins.privacy.email.services import unsubscribe
from plugins.privacy.processing import services as processing
from plugins.privacy.processing.models import ProcessingLimit
from plugins.privacy.retention.models import SigninEvent
from plugins.privacy.retention.services import signins
from plugins.privacy.whois.models import DomainRelay
from tests.privacy.center.test_p06_my_data import EVERY_CATEGORY

LIMITS = {  # restricted, objections -> may marketing / analytics / billing go ahead?
    "none": (False, [], (True, True, True)),
    "restricted": (True, [], (False, False, True)),
    "objects to marketing": (False, ["marketing"], (False, True, True)),
    "objects to both": (False, ["marketing", "analytics"], (False, False, True)),
}


def test_p08_one_account_and_many_accounts_get_the_same_answer(app, factories):
    """purpose_allowed (one account, at delivery) and limited (every account, for campaigns
    and partner files) must never disagree, or a campaign would reach a restricted account."""
    accounts = {}
    for label, (restricted, objections, _) in LIMITS.items():
        account = factories.subscriber().account
        if label != "none":
            db.session.add(ProcessingLimit(account_id=account.id, restricted=restricted,
                                           objections=objections))
        accounts[label] = account.id
    db.session.commit()
    for purpose, column in (("marketing", 0), ("analytics", 1), ("billing", 2)):
        stopped = processing.limited(purpose)
        for label, account_id in accounts.items():
            expected = LIMITS[label][2][column]
            assert processing.purpose_allowed(account_id, purpose) is expected, (label, purpose)
            assert (account_id not in stopped) is expected, (label, purpose)


def test_p08_a_limit_adds_to_what_is_already_in_force(app, factories):
    account = factories.subscriber().account
    processing.limit(account.id, objection="analytics")
    processing.limit(account.id, objection="marketing")
    processing.limit(account.id, objection="analytics")
    db.session.commit()
    row = db.session.get(ProcessingLimit, account.id)
    assert row.objections == ["analytics", "marketing"] and not row.restricted
    processing.limit(account.id, restrict=True)
    db.session.commit()
    assert db.session.get(ProcessingLimit, account.id).restricted
    assert not processing.purpose_allowed(account.id, "marketing")


def test_p06_every_feature_registered_its_categories_with_a_card_and_rows(app):
    registered = processing.categories()
    assert [c.key for c in registered] == list(EVERY_CATEGORY)
    for cat in registered:
        assert cat.rows is not None and cat.page is not None, cat.key
        assert set(cat.describe()) == {"title", "what", "why", "source", "shared_with", "kept_for"}
    assert processing.describe("unknown_thing").title == "Unknown thing"


def _one_row_each(user, domain) -> dict[str, tuple[type, object]]:
    """One row of a table of each feature that erases, made as that feature makes it, with
    the WHERE clause that finds the account's rows."""
    account = user.account
    db.session.add(SupportCredential(account_id=account.id, kind="ftp", label="l", host="h",
                                     username="u", secret="s",
                                     expires_at=utcnow() + timedelta(days=1)))
    db.session.add(DataExport(account_id=account.id, format="json", status=READY))
    db.session.add(DomainRelay(domain_id=domain.id, enabled=True))
    signins.record(user, "password")
    unsubscribe.revoke_all(account)  # the account's email link key, as "stop every link" makes it
    db.session.commit()
    return {"access": (SupportCredential, SupportCredential.account_id == account.id),
            "center": (DataExport, DataExport.account_id == account.id),
            "whois": (DomainRelay, DomainRelay.domain_id == domain.id),
            "retention": (SigninEvent, SigninEvent.account_id == account.id),
            "email": (EmailLinkKey, EmailLinkKey.account_id == account.id)}


def test_p09_erasing_an_account_runs_every_features_own_step(app, factories):
    user = factories.subscriber()
    rows = _one_row_each(user, factories.domain(user.account, "erase-me.test"))
    assert {feature: processing.count(*found) for feature, found in rows.items()} == dict.fromkeys(
        rows, 1)
    assert len(processing.erase_steps()) == len(rows)  # one step per feature that holds data
    erase(user.account, None)
    db.session.commit()
    assert {feature: processing.count(*found) for feature, found in rows.items()} == dict.fromkeys(
        rows, 0)


def test_p06_rows_past_the_first_batch_come_once_each_in_order_with_sealed_values_opened(
        app, factories):
    """The export reads the first batch in one query and the rest after the last row read
    (the order and the id are the key): nothing is skipped or repeated at the seam, rows with
    the same time included, and sealed values are opened on both sides of it."""
    user = factories.subscriber()
    start = utcnow() - timedelta(days=1)
    for i in range(7):  # pairs share a time: the id orders them, across the seam too
        db.session.add(SigninEvent(user_id=user.id, account_id=user.account_id,
                                   at=start + timedelta(minutes=i // 2), ip=f"192.0.2.{i}",
                                   method="password"))
    db.session.commit()
    everything = list(signins.export_rows(user.account))
    assert sorted(r["ip"] for r in everything) == [f"192.0.2.{i}" for i in range(7)]
    assert [r["at"] for r in everything] == sorted(r["at"] for r in everything)
    for batch in (1, 2, 3, 6, 7, 8):
        assert list(signins.export_rows(user.account, batch=batch)) == everything, batch
