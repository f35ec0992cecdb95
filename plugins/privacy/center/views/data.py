"""The subscriber's My data page and exports (P06), under /client/privacy/data."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from panel.accounts.models import Account
from panel.accounts.services import support_address
from panel.auth import totp
from panel.auth.access import role_required
from panel.auth.models import SUBSCRIBER
from panel.auth.passwords import verify as check_password
from panel.crypto.files import SealedFileError
from panel.db_types import utcnow
from panel.extensions import db, limiter
from panel.tenancy import own_account
from plugins.privacy.access.services.act_as import acting_staff
from plugins.privacy.center.forms import DownloadForm, ExportRequestForm
from plugins.privacy.center.models import EXPIRED, DataExport
from plugins.privacy.center.services import export, my_data

bp = Blueprint("privacy_data", __name__, url_prefix="/client/privacy/data",
               template_folder="../templates")

WRONG_PASSWORD = "That password is not right."
WRONG_CODE = "That code is not right, or was already used."


@bp.before_request
@role_required(SUBSCRIBER)
def _subscribers_only() -> None:
    return None  # staff acting as the customer are recorded by services.act_as


def _account() -> Account:
    return own_account(current_user)


def _user_id() -> str:
    return str(getattr(current_user, "id", ""))


def _own_export(account: Account, export_id: str) -> DataExport:
    """Another customer's export answers 404, like an id that does not exist."""
    try:
        ident = uuid.UUID(export_id)
    except ValueError:
        abort(404)
    found = db.session.get(DataExport, ident)
    if found is None or found.account_id != account.id:
        abort(404)
    return found


def _page(account: Account, form: ExportRequestForm, status: int = 200) -> Any:
    return render_template("privacy/center/data_index.html", account=account, form=form,
                           exports=export.mine(account), now=utcnow(),
                           cards=my_data.cards(account)), status


@bp.route("")
def index() -> Any:
    """Everything held about the subscriber, by category, with why, from where, shared with
    whom and kept for how long."""
    return _page(_account(), ExportRequestForm())


@bp.route("/export", methods=["POST"])
def request_export() -> Any:
    account = _account()
    form = ExportRequestForm()
    if acting_staff() is not None:
        flash("Only the customer can ask for a copy of their data.")
        return redirect(url_for(".index"))
    if not form.validate_on_submit():
        return _page(account, form, 400)
    try:
        made = export.request_export(account, current_user, form.format.data)
    except export.ExportError as exc:
        form.format.errors = [str(exc)]
        return _page(account, form, 400)
    if made.status == "ready":
        flash("Your export is ready. Download it below; you will be asked for your password.")
    elif made.status == "failed":
        flash("Your export could not be prepared. Please try again, or write to "
              f"{support_address(account)}.")
    else:
        flash("Your export is large, so it is being prepared in the background. We will email "
              "you a link when it is ready.")
    return redirect(url_for(".index"))


@bp.route("/export/<export_id>", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"], key_func=lambda: f"export-dl:{_user_id()}",
               deduct_when=lambda response: response.status_code != 200)
def download(export_id: str) -> Any:
    """Asks for the password (and a code with two-factor sign-in on) before sending the file."""
    account = _account()
    item = _own_export(account, export_id)
    form = DownloadForm()
    try:
        path = export.file_for(item)
    except export.ExportError as exc:
        status = 410 if item.is_expired() or item.status == EXPIRED else 409
        return render_template("privacy/center/export_download.html", item=item, form=None,
                               problem=str(exc)), status
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    needs_code = bool(user.totp_secret)
    if form.validate_on_submit() and acting_staff() is None:
        if not check_password(user.password_hash, form.password.data):
            form.password.errors = [WRONG_PASSWORD]
        elif needs_code and not (form.code.data and totp.check(user, form.code.data)):
            db.session.rollback()
            form.code.errors = [WRONG_CODE if form.code.data else "Enter a code."]
        else:
            export.record_download(item, user, ok=True)  # commits the code as used
            chunks = export.plain_chunks(item, path)
            try:
                first = next(chunks)  # an altered file fails here, as a page, not mid-stream
            except SealedFileError:
                return render_template("privacy/center/export_download.html", item=item, form=None,
                                       problem="This file failed its integrity check and cannot "
                                               "be given out. Prepare a new one."), 500
            name = f"my-data-{account.number}-{item.created_at:%Y%m%d}.{export.EXTENSIONS[item.format]}"
            return Response(itertools.chain([first], chunks), mimetype=export.MIMETYPES[item.format],
                            headers={"Content-Disposition": f'attachment; filename="{name}"',
                                     "Cache-Control": "no-store"})
        export.record_download(item, user, ok=False)
    status = 400 if request.method == "POST" else 200
    return render_template("privacy/center/export_download.html", item=item, form=form, problem=None,
                           needs_code=needs_code), status

