"""Exports of a subscriber's data (P06): JSON, ZIP of CSVs, HTML; password, expiry, cron."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
import zipfile
from datetime import timedelta
from pathlib import Path

import pyotp
from sqlalchemy import insert

from panel.db_types import utcnow
from panel.extensions import db
from panel.mail.models import OutboxMessage
from plugins.privacy.access.models import AuditEntry
from plugins.privacy.center.models import DataExport
from plugins.privacy.processing.services import categories
from plugins.privacy.retention.models import SigninEvent
from tests.conftest import login, post_form
from tests.factories import DEFAULT_PASSWORD
from tests.privacy.center.test_p06_my_data import EVERY_CATEGORY

DATA = "/client/privacy/data"


def _customer(app, factories, **contact):
    user = factories.subscriber(**contact)
    account = user.account
    factories.domain(account, f"d{uuid.uuid4().hex[:8]}.test")
    factories.service(account)
    invoices = [factories.invoice(account) for _ in range(3)]
    factories.payment_method(account)
    me = app.test_client()
    assert login(me, user).status_code == 302
    return user, me, invoices


def _export(me, fmt):
    response = post_form(me, f"{DATA}/export", {"format": fmt}, token_from=DATA)
    assert response.status_code == 302
    return DataExport.query.filter_by(format=fmt).order_by(DataExport.created_at.desc()).first()


def _download(me, export, password=DEFAULT_PASSWORD, **extra):
    return post_form(me, f"{DATA}/export/{export.id}", {"password": password, **extra})


def test_p06_json_export_matches_what_the_panel_shows(app, factories):
    user, me, invoices = _customer(app, factories, first_name="Grace", last_name="Hopper")
    export = _export(me, "json")
    assert export.status == "ready"
    response = _download(me, export)
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    doc = json.loads(response.get_data())
    assert doc["schema_version"] == "1.0"
    cats = doc["categories"]
    assert list(cats) == list(EVERY_CATEGORY)
    profile = cats["profile"]["rows"][0]
    assert (profile["first_name"], profile["last_name"], profile["email"]) == (
        "Grace", "Hopper", user.email)
    page = me.get(DATA).get_data(as_text=True)
    for name in [d["name"] for d in cats["domains"]["rows"]]:
        assert name in page
    assert {i["number"] for i in cats["invoices"]["rows"]} == {i.number for i in invoices}
    assert all(i.number in page for i in invoices)
    assert {c["role"] for c in cats["domain_contacts"]["rows"]} == {
        "registrant", "admin", "tech", "billing"}
    assert cats["payment_methods"]["rows"][0]["last4"] == "4242"
    assert "tok_test" not in response.get_data(as_text=True)  # the gateway token stays out
    assert cats["sign_ins"]["rows"][0]["method"] == "password"
    assert "registrar" in cats["domains"]["description"]["shared_with"]
    assert any(e["action"] == "export.request" for e in cats["privacy_trail"]["rows"])


def test_p06_export_is_on_the_trail(app, factories):
    user, me, _ = _customer(app, factories)
    export = _export(me, "json")
    _download(me, export)
    actions = [(e.action, e.result) for e in AuditEntry.query.filter_by(account_id=user.account_id)
               .order_by(AuditEntry.seq)]
    assert ("export.request", "ok") in actions and ("export.ready", "ok") in actions
    assert ("export.download", "ok") in actions
    request = AuditEntry.query.filter_by(action="export.request").one()
    assert request.actor_id == user.id and str(export.id) in request.object


def test_p06_zip_has_one_csv_per_category(app, factories):
    user, me, invoices = _customer(app, factories)
    export = _export(me, "zip")
    response = _download(me, export)
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    csvs = {n for n in archive.namelist() if n.endswith(".csv")}
    assert csvs == {f"{key}.csv" for key in EVERY_CATEGORY}
    rows = list(csv.DictReader(io.StringIO(archive.read("invoices.csv").decode())))
    assert {r["number"] for r in rows} == {i.number for i in invoices}
    contacts = list(csv.DictReader(io.StringIO(archive.read("domain_contacts.csv").decode())))
    assert len(contacts) == 4 and contacts[0]["phone"] == "+442079460000"  # not mangled
    consent = archive.read("consent_history.csv").decode()
    assert consent.startswith("at,category")  # empty categories still say what they would hold
    assert "schema_version" in archive.read("README.txt").decode()


def test_p06_csv_cells_never_run_as_spreadsheet_formulas(app, factories):
    user, me, _ = _customer(app, factories, company="=HYPERLINK(\"http://evil.test\")")
    archive = zipfile.ZipFile(io.BytesIO(_download(me, _export(me, "zip")).get_data()))
    profile = next(csv.DictReader(io.StringIO(archive.read("profile.csv").decode())))
    assert profile["company"].startswith("'=")


def test_p06_html_summary_is_readable_and_escaped(app, factories):
    user, me, invoices = _customer(app, factories, first_name="<script>alert(1)</script>")
    response = _download(me, _export(me, "html"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert invoices[0].number in html and "Shared with" in html
    for c in categories():
        assert c.title in html
    page = me.get(DATA).get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


def test_p06_html_tables_come_in_pieces_of_many_rows_every_value_escaped():
    """The HTML document is written a few hundred rows at a time (a piece per row made it 3x
    a plain SELECT), and nothing in a value can open a tag or leave an attribute."""
    from plugins.privacy.center.services.export import HTML_ROWS, _html_table

    hostile = ["<b>", '"onmouseover="x', "'single'", "a & b", "</td></tr><script>"]
    rows = [{"n": i, "text": hostile[i % len(hostile)], "none": None}
            for i in range(HTML_ROWS * 3 + 7)]
    pieces = list(_html_table(rows))
    assert len(pieces) == 4, len(pieces)
    html = "".join(pieces)
    assert html.count("<tr><td>") == len(rows) and html.endswith("</tbody>\n</table>\n")
    assert "<b>" not in html and "<script>" not in html and '"onmouseover' not in html
    assert "'single'" not in html and "&lt;/td&gt;&lt;/tr&gt;&lt;script&gt;" in html
    assert "<tr><td>0</td><td>&lt;b&gt;</td><td></td></tr>" in html
    assert list(_html_table([])) == []


def test_p06_wrong_password_refuses_the_download(app, factories):
    user, me, _ = _customer(app, factories)
    export = _export(me, "json")
    response = _download(me, export, password="not my password")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "That password is not right." in body and "attachment" not in str(response.headers)
    refused = AuditEntry.query.filter_by(action="export.download").one()
    assert refused.result == "refused"


def test_p06_wrong_totp_code_refuses_the_download(app, factories):
    user = factories.subscriber()
    user.totp_secret = pyotp.random_base32()
    db.session.commit()
    me = app.test_client()
    assert login(me, user).status_code == 302
    export = _export(me, "json")
    page = me.get(f"{DATA}/export/{export.id}").get_data(as_text=True)
    assert "authenticator" in page
    assert _download(me, export).status_code == 400  # no code at all
    wrong = _download(me, export, code="000000" if pyotp.TOTP(user.totp_secret).now() != "000000"
                      else "111111")
    assert wrong.status_code == 400 and "That code is not right" in wrong.get_data(as_text=True)
    user.totp_last_step = None  # a fresh 30-second window, as for a real person
    db.session.commit()
    right = _download(me, export, code=pyotp.TOTP(user.totp_secret).now())
    assert right.status_code == 200 and json.loads(right.get_data())["schema_version"]


def test_p06_another_customers_export_is_404(app, factories):
    owner, mine, _ = _customer(app, factories)
    export = _export(mine, "json")
    other = factories.subscriber()
    them = app.test_client()
    login(them, other)
    assert them.get(f"{DATA}/export/{export.id}").status_code == 404
    response = post_form(them, f"{DATA}/export/{export.id}", {"password": "correct horse battery"},
                         token_from=DATA)
    assert response.status_code == 404
    assert them.get(f"{DATA}/export/{uuid.uuid4()}").status_code == 404
    assert them.get(f"{DATA}/export/not-an-id").status_code == 404


def test_p06_expired_export_is_deleted_by_cron_and_the_link_says_so(app, factories):
    user, me, _ = _customer(app, factories)
    export = _export(me, "zip")
    path = Path(app.instance_path) / export.file_path
    assert path.is_file() and path.parent.name == "exports"
    export.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    early = me.get(f"{DATA}/export/{export.id}")  # before cron ran: already refused
    assert early.status_code == 410
    output = app.test_cli_runner().invoke(args=["cron"]).output
    assert "deleted 1 expired data exports" in output
    assert not path.exists()
    db.session.refresh(export)
    assert export.status == "expired" and export.file_path is None
    gone = me.get(f"{DATA}/export/{export.id}")
    assert gone.status_code == 410 and "expired" in gone.get_data(as_text=True)
    assert _download(me, export).status_code == 410
    assert AuditEntry.query.filter_by(action="export.expire").count() == 1


def test_p06_large_export_is_produced_by_cron_and_emailed(app, factories):
    user, me, _ = _customer(app, factories)
    start = utcnow() - timedelta(days=30)
    db.session.execute(insert(SigninEvent), [
        {"id": uuid.uuid4(), "user_id": user.id, "account_id": user.account_id,
         "at": start + timedelta(seconds=i), "method": "password", "user_agent": "bulk"}
        for i in range(5001)])
    db.session.commit()
    export = _export(me, "json")
    assert export.status == "queued" and export.file_path is None
    assert "email you a link" in me.get(DATA).get_data(as_text=True)
    again = post_form(me, f"{DATA}/export", {"format": "json"}, token_from=DATA)
    assert again.status_code == 400 and "already being prepared" in again.get_data(as_text=True)
    output = app.test_cli_runner().invoke(args=["cron"]).output
    assert "produced 1 data exports" in output
    db.session.refresh(export)
    assert export.status == "ready" and export.rows > 5001
    mail = OutboxMessage.query.filter_by(account_id=user.account_id,
                                         subject="Your data export is ready").one()
    assert mail.to_addr == user.email
    link = re.search(r"http://localhost(/client/privacy/data/export/\S+)", mail.body).group(1)
    assert link == f"{DATA}/export/{export.id}"
    doc = json.loads(_download(me, export).get_data())
    assert len(doc["categories"]["sign_ins"]["rows"]) == 5002  # the bulk ones and this sign-in


def test_p06_bad_format_keeps_the_page_with_a_message(app, factories):
    user, me, _ = _customer(app, factories)
    response = post_form(me, f"{DATA}/export", {"format": "xml"}, token_from=DATA)
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert DataExport.query.count() == 0
    no_token = me.post(f"{DATA}/export", data={"format": "json"})
    assert no_token.status_code == 400 and DataExport.query.count() == 0


def test_p06_plugins_add_categories_through_the_export_hook(app, factories):
    from panel.hookspecs import hookimpl

    class Extra:
        @hookimpl
        def panel_account_export(self, account):
            return {"newsletter_clicks": iter([{"campaign": "Spring", "clicked": True}])}

    app.extensions["panel.plugins"].pm.register(Extra(), name="extra")
    user, me, _ = _customer(app, factories)
    doc = json.loads(_download(me, _export(me, "json")).get_data())
    assert doc["categories"]["newsletter_clicks"]["rows"] == [{"campaign": "Spring", "clicked": True}]


def test_p06_erasing_the_account_deletes_its_sign_ins_and_export_files(app, factories):
    from panel.accounts.erasure import erase

    user = factories.subscriber()
    me = app.test_client()
    login(me, user)
    export = _export(me, "json")
    path = Path(app.instance_path) / export.file_path
    assert path.is_file() and SigninEvent.query.filter_by(account_id=user.account_id).count() == 1
    erase(user.account, None)
    db.session.commit()
    assert not path.exists() and DataExport.query.count() == 0
    assert SigninEvent.query.filter_by(account_id=user.account_id).count() == 0


def test_p02_export_files_are_encrypted_on_disk_and_tampering_is_caught(app, factories):
    from pathlib import Path

    user, me, _ = _customer(app, factories, first_name="Philippa", last_name="Zwanenburg")
    export = _export(me, "json")
    path = Path(app.instance_path) / export.file_path
    raw = path.read_bytes()
    for plain in (b"Philippa", b"Zwanenburg", b"schema_version", user.email.encode()):
        assert plain not in raw
    assert not list(path.parent.glob("*.part"))  # nothing half-written or plain left behind
    assert "Philippa" in _download(me, export).get_data(as_text=True)  # decrypted on the way out
    path.write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    broken = _download(me, export)
    assert broken.status_code == 500
    assert "failed its integrity check" in broken.get_data(as_text=True)


def test_p06_an_export_whose_producer_died_is_produced_again_by_cron(app, factories):
    from datetime import timedelta

    from panel.db_types import utcnow

    user, me, _ = _customer(app, factories)
    export = _export(me, "json")
    export.status, export.started_at, export.file_path = "running", utcnow() - timedelta(hours=1), None
    db.session.commit()
    output = app.test_cli_runner().invoke(args=["cron"]).output
    assert "produced 1 data exports" in output
    db.session.expire_all()
    assert db.session.get(DataExport, export.id).status == "ready"


def test_p06_html_values_holding_the_piece_separators_stay_in_their_cell_escaped():
    """A piece is escaped at once with two control characters between its cells and rows; a
    value holding one of them (hostile data) must neither split its cell nor escape escaping."""
    from plugins.privacy.center.services.export import _html_table

    rows = [{"n": 1, "text": "a\x00<b>"}, {"n": 2, "text": "\x01</td><td>x"}, {"n": 3, "text": "ok"}]
    html = "".join(_html_table(rows))
    assert html.count("<tr><td>") == 3 and html.count("</td><td>") == 3
    assert "<tr><td>1</td><td>a\x00&lt;b&gt;</td></tr>" in html
    assert "<tr><td>2</td><td>\x01&lt;/td&gt;&lt;td&gt;x</td></tr>" in html and "<b>" not in html


def _sealed_history(user, count):
    """``count`` sign-ins of ``user``, each from its own sealed IP, one second apart."""
    from panel.crypto.keyring import current_holder

    ring, start, rows = current_holder().get(), utcnow() - timedelta(days=1), []
    for i in range(count):
        rid = uuid.uuid4()
        rows.append({"id": rid, "user_id": user.id, "account_id": user.account_id,
                     "at": start + timedelta(seconds=i), "method": "password", "user_agent": "ua",
                     "ip": ring.seal(f"10.0.{i // 256}.{i % 256}", SigninEvent.ip.aad(rid))})
    db.session.execute(insert(SigninEvent.__table__), rows)
    db.session.commit()
    return rows


def _write_json(app, user, tmp_path):
    from plugins.privacy.center.services import export

    account = db.session.get(type(user.account), user.account_id)
    with app.test_request_context():
        export.write(account, "json", tmp_path / "out.json", bytes(32), "test")
    plain = b"".join(export.decrypt_chunks(tmp_path / "out.json", bytes(32), "test"))
    return json.loads(plain)["categories"]["sign_ins"]["rows"]


def test_p06_a_long_history_exports_each_sealed_value_with_its_own_row(app, factories, tmp_path):
    """Past the first batch the rows come through a cursor, their sealed values opened a batch
    at a time: every IP still belongs to its own sign-in."""
    user = factories.subscriber()
    _sealed_history(user, 2300)
    rows = _write_json(app, user, tmp_path)
    assert len(rows) == 2300
    assert [r["ip"] for r in rows] == [f"10.0.{i // 256}.{i % 256}" for i in range(2300)]


def test_p02_an_ip_copied_to_another_sign_in_fails_the_export_without_showing_it(
        app, factories, tmp_path):
    import pytest

    from panel.crypto import SealedValueError

    user = factories.subscriber()
    rows = _sealed_history(user, 1500)
    table = SigninEvent.__table__
    db.session.execute(table.update().where(table.c.id == rows[1200]["id"])  # past the first batch
                       .values(ip=rows[7]["ip"]))
    db.session.commit()
    with pytest.raises(SealedValueError) as caught:
        _write_json(app, user, tmp_path)
    assert (caught.value.table, caught.value.row_id) == ("privacy_signin_event", rows[1200]["id"])
    assert "10.0.0.7" not in str(caught.value)
    assert not (tmp_path / "out.json").exists() and not list(tmp_path.glob("*.part"))
