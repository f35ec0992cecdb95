"""Exports of everything held about a subscriber (P06: access and portability).

Three formats: JSON (with ``schema_version``, for machines), a ZIP with one CSV per category
(for spreadsheets) and a readable HTML summary. Each is written row by row to a file under
``instance_path/exports/`` from generators over batched queries, so memory stays flat however
long the sign-in history is. Small accounts are exported at once; larger ones are queued and
produced by `panel cron`, which emails a link. Downloads re-check the password (the view does),
and files are deleted EXPIRY_DAYS after they are ready.

Every plugin gives its categories through ``panel_account_export``: this one answers with what
its features registered in plugins.privacy.processing, the core's tables included.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from html import escape as html_escape
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from flask import current_app
from markupsafe import Markup
from sqlalchemy import select, update

from panel import audit
from panel.accounts.models import Account
from panel.audit import AuditEvent
from panel.auth.models import User
from panel.crypto.files import CHUNK, EncryptingWriter, decrypt_chunks
from panel.db_types import utcnow
from panel.extensions import db
from panel.hooks import hook
from panel.mail.outbox import queue
from panel.urls import external_url
from plugins.privacy.center.models import (
    EXPIRED,
    FAILED,
    FORMATS,
    QUEUED,
    READY,
    RUNNING,
    DataExport,
)
from plugins.privacy.processing.services import Rows, Stream, categories, describe

SCHEMA_VERSION = "1.0"
INLINE_ROWS = 5000  # more rows than this: produced by `panel cron`, link emailed
EXPIRY_DAYS = 7
EXTENSIONS = {"json": "json", "zip": "zip", "html": "html"}
MIMETYPES = {"json": "application/json", "zip": "application/zip", "html": "text/html"}


class ExportError(ValueError):
    """An export cannot be requested or downloaded; the message is for the subscriber."""


def registered(account: Account) -> dict[str, Rows]:
    """The rows of every category the features registered (the core's tables are described
    by the center, see records.py): this plugin's answer to ``panel_account_export``."""
    return {c.key: c.rows(account) for c in categories() if c.rows is not None}


def gather(account: Account) -> dict[str, Rows]:
    """Every plugin's categories (``panel_account_export``), in the documented order; what
    another plugin adds under a new name comes last."""
    found: dict[str, Rows] = {}
    for contribution in hook().panel_account_export(account=account):
        found.update(contribution or {})
    ordered = {c.key: found.pop(c.key) for c in categories() if c.key in found}
    return {**ordered, **found}


# --- writing ----------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if type(value) is datetime:  # the commonest: every row has a time
        return value.isoformat()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _text(value: Any) -> str:
    """A value as text for the readable summary and the CSV files."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if type(value) is datetime:  # the commonest after text: every row has a time
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(_plain(value))


_RISKY = frozenset("=@\t\r+-")


def _cell(value: Any) -> str:
    """CSV cell text. A cell a spreadsheet would run as a formula gets a leading apostrophe;
    phone numbers and signed numbers stay as they are."""
    return _defused(_text(value))


def _defused(text: str) -> str:
    """``text`` as `_cell` writes it (the CSV writer calls this only for text that starts
    with one of ``_RISKY``)."""
    if text[:1] in _RISKY and (text[0] in "=@\t\r" or (
            text[:1] in ("+", "-") and len(text) > 1 and not (text[1].isdigit() or text[1] == " "))):
        return "'" + text
    return text


# Columns all of one of these types become text in one pass, as `_text` makes each value.
_COLUMN_TEXT: dict[type, Callable[[Any], str]] = {
    datetime: datetime.isoformat, date: date.isoformat, int: str}


def _pieces(rows: Rows, tally: Counter, header: Callable[[tuple[str, ...]], tuple[str, ...]],
            size: int) -> Iterator[tuple[tuple[str, ...], list[Sequence[Any]], int]]:
    """A category's rows a piece at a time as ``(keys, columns, count)``: ``keys`` is what
    ``header`` makes of the first row's keys, each column the values of one key (None where a
    row has none). A `Stream` gives its batches as columns already (no dict per row); other
    rows are taken ``size`` at a time. Counted in ``tally`` as they pass."""
    keys: tuple[str, ...] | None = None
    if isinstance(rows, Stream):
        at: dict[str, int] = {}
        for columns in rows.pieces():
            if not columns:  # no fields: no rows, as iterating it gives
                continue
            count = len(columns[0])
            if keys is None:
                keys = header(rows.names)
                at = {name: i for i, name in enumerate(rows.names)}
            tally.rows += count
            yield keys, [columns[at[k]] if k in at else [None] * count for k in keys], count
        return
    lines: list[dict[str, Any]] = []
    for row in rows:
        if keys is None:
            keys = header(tuple(row))
        lines.append(row)
        if len(lines) >= size:
            tally.rows += len(lines)
            yield keys, _columns(lines, keys), len(lines)
            lines = []
    if lines:
        assert keys is not None
        tally.rows += len(lines)
        yield keys, _columns(lines, keys), len(lines)


def _columns(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[Sequence[Any]]:
    """Rows' values in ``keys`` order, a column per key (a missing value None)."""
    if len(keys) < 2:  # itemgetter of one key gives no tuple
        lines = [tuple(map(row.get, keys)) for row in rows]
    else:
        try:
            lines = list(map(itemgetter(*keys), rows))
        except KeyError:  # a row without some column
            lines = [tuple(map(row.get, keys)) for row in rows]
    return list(zip(*lines, strict=True))


def _cells(columns: list[Sequence[Any]], count: int, *, csv_safe: bool = False
           ) -> list[tuple[str, ...]]:
    """A piece of ``count`` rows, given as columns, as the texts of their cells: `_text` of
    each value, and with ``csv_safe`` as `_cell` writes it. Converted a column at a time: a
    column of text stays as it is, one of times, dates or whole numbers is converted in one
    pass (the same text; none of these can start like a formula)."""
    if not columns:
        return [()] * count
    texts: list[Any] = []
    for column in columns:
        kinds = set(map(type, column))
        kind = kinds.pop() if len(kinds) == 1 else None
        convert = _COLUMN_TEXT.get(kind)  # type: ignore[arg-type]
        if convert is not None:
            texts.append(list(map(convert, column)))
            continue
        if kind is not str:
            column = [v if type(v) is str else _text(v) for v in column]
        if csv_safe:
            column = [_defused(t) if t[:1] in _RISKY else t for t in column]
        texts.append(column)
    return list(zip(*texts, strict=True))


class Counter:
    """Counts rows as they pass, for the export's record."""

    def __init__(self) -> None:
        self.rows = 0

    def each(self, rows: Rows) -> Iterator[dict[str, Any]]:
        for row in rows:
            self.rows += 1
            yield row


JSON_ROWS = 500  # rows per write of the JSON file


def _row_encoder() -> Callable[[dict[str, Any]], str]:
    """``json.JSONEncoder(ensure_ascii=False, default=_plain).encode`` for one row, the same
    text: the stdlib's C encoder made once, not once per row as ``encode`` makes it."""
    if c_make_encoder is None:  # a Python without the _json accelerator
        return json.JSONEncoder(ensure_ascii=False, default=_plain).encode
    encoder = c_make_encoder({}, _plain, encode_basestring, None, ": ", ", ", False, False, True)
    return lambda row: "".join(encoder(row, 0))


def write_json(out: IO[str], account: Account, categories: dict[str, Rows], tally: Counter) -> None:
    head = {"schema_version": SCHEMA_VERSION, "format": "hosting-panel-export",
            "generated_at": utcnow().isoformat(), "account_number": account.number}
    out.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "categories": {')
    encode = _row_encoder()
    for i, (key, rows) in enumerate(categories.items()):
        head = json.dumps({"description": describe(key).describe()}, ensure_ascii=False)
        out.write(("," if i else "") + f"\n{json.dumps(key)}: {head[:-1]}, \"rows\": [")
        pending: list[str] = []
        sep = ""
        for row in tally.each(rows):
            pending.append(encode(row))
            if len(pending) >= JSON_ROWS:  # one write per piece of rows, not per row
                out.write(sep + "\n  " + ",\n  ".join(pending))
                pending, sep = [], ","
        if pending:
            out.write(sep + "\n  " + ",\n  ".join(pending))
        out.write("]}")
    out.write("\n}}\n")


CSV_ROWS = 500  # rows per call of the CSV writer


def write_zip(out: IO[bytes], account: Account, categories: dict[str, Rows], tally: Counter) -> None:
    """Deflate level 1, a choice: CSV text still shrinks about twelvefold, a quarter larger than
    at the default level 6 for a third of its time (the file is downloaded once and deleted)."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        readme = [f"Your data at account {account.number}, exported {utcnow():%Y-%m-%d %H:%M} UTC.",
                  f"schema_version {SCHEMA_VERSION}. One CSV file per category:", ""]
        for key, rows in categories.items():
            cat = describe(key)
            readme += [f"{key}.csv: {cat.title}", f"  What: {cat.what}", f"  Why: {cat.why}",
                       f"  From: {cat.source}", f"  Shared with: {cat.shared_with}",
                       f"  Kept: {cat.kept_for}", ""]
            with zf.open(f"{key}.csv", "w", force_zip64=True) as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                writer = csv.writer(text)
                header: list[str] | None = None

                def csv_header(names: tuple[str, ...], cat: Any = cat) -> tuple[str, ...]:
                    return tuple(dict.fromkeys([*cat.columns, *names]))

                for keys, columns, count in _pieces(rows, tally, csv_header, CSV_ROWS):
                    if header is None:
                        header = list(keys)
                        writer.writerow(header)
                    writer.writerows(_cells(columns, count, csv_safe=True))
                if header is None and cat.columns:
                    writer.writerow(cat.columns)
                text.flush()
                text.detach()
        zf.writestr("README.txt", "\n".join(readme) + "\n")


#: Rows joined into one piece of the HTML table: the template loop and the writes then run per
#: piece, not per row, and a piece stays small (a few hundred kB at most).
HTML_ROWS = 500
_CELL, _ROW = "\x00", "\x01"  # between the cells and rows of a piece, until it is escaped


def _html_rows(lines: Sequence[Sequence[str]]) -> str:
    """Rows of cell texts as ``<tr>`` lines, every value escaped (``html.escape``, quotes too).
    The piece is escaped at once, its cells and rows kept apart by two control characters
    that ``html.escape`` leaves alone; a piece where a value holds one of them is escaped a
    cell at a time."""
    raw = _ROW.join([_CELL.join(cells) for cells in lines])
    if raw.count(_CELL) == sum(len(cells) - 1 for cells in lines) and \
            raw.count(_ROW) == len(lines) - 1:
        body = html_escape(raw).replace(_CELL, "</td><td>").replace(_ROW, "</td></tr>\n<tr><td>")
        return f"<tr><td>{body}</td></tr>\n"
    return "".join(["<tr><td>" + "</td><td>".join([html_escape(t) for t in cells])
                    + "</td></tr>\n" for cells in lines])


def _html_table(rows: Rows, tally: Counter | None = None) -> Iterator[Markup]:
    """A category's rows as an HTML table, every value escaped (`_html_rows`), yielded a piece
    of rows at a time (the table's start with the first, its end with the last). Built here
    rather than in the template: per-cell template logic tripled the time of large exports,
    and a Markup per cell doubled it."""
    piece: str | None = None
    for keys, columns, count in _pieces(rows, tally or Counter(), lambda names: names, HTML_ROWS):
        if piece is None:
            piece = "<table>\n<thead><tr>" + "".join(
                f'<th scope="col">{html_escape(k.replace("_", " "))}</th>' for k in keys) \
                + "</tr></thead>\n<tbody>\n"
        else:
            yield Markup(piece)  # noqa: S704 - all escaped
            piece = ""
        piece += _html_rows(_cells(columns, count))
    if piece is not None:
        yield Markup(piece + "</tbody>\n</table>\n")  # noqa: S704 - all escaped


def write_html(out: IO[str], account: Account, categories: dict[str, Rows], tally: Counter) -> None:
    """Rendered by a streaming, autoescaping template: rows are pulled as it writes."""
    sections = [{"key": key, "about": describe(key), "rows": _html_table(rows, tally)}
                for key, rows in categories.items()]
    template = current_app.jinja_env.get_template("privacy/center/export_document.html")
    for chunk in template.generate(account=account, sections=sections, generated_at=utcnow(),
                                   schema_version=SCHEMA_VERSION):
        out.write(chunk)


WRITERS: dict[str, tuple[str, Callable[..., None]]] = {
    "json": ("w", write_json), "zip": ("wb", write_zip), "html": ("w", write_html)}


STUCK_AFTER = timedelta(minutes=30)


def export_dir() -> Path:
    path = Path(current_app.instance_path) / "exports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def write(account: Account, fmt: str, path: Path, key: bytes, context: str) -> int:
    """Write the export to ``path``, encrypted as it is written (no plain copy ever touches the
    disk), via a temporary file renamed at the end so a crash never leaves a half file looking
    finished. Returns the number of rows written."""
    mode, writer = WRITERS[fmt]
    partial = path.with_suffix(path.suffix + ".part")
    tally = Counter()
    try:
        raw = EncryptingWriter(partial, key, context)
        if mode == "wb":
            with io.BufferedWriter(raw, CHUNK) as out:
                writer(out, account, gather(account), tally)
        else:
            with io.TextIOWrapper(io.BufferedWriter(raw, CHUNK), encoding="utf-8",
                                  newline="\n") as out:
                writer(out, account, gather(account), tally)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return tally.rows


def file_context(export: DataExport) -> str:
    return f"privacy_export|{export.id}"


def plain_chunks(export: DataExport, path: Path) -> Iterator[bytes]:
    """The export's bytes for download, decrypted as they are sent."""
    key = base64.b64decode(export.file_key or "")
    return decrypt_chunks(path, key, file_context(export))


# --- the export's life: request, produce, download, expire ------------------------------------


def size_estimate(account: Account) -> int:
    """Roughly how many rows an export holds: the big tables (each category that can grow
    large says how many rows it has) decide whether it is queued."""
    return sum(c.count(account) for c in categories() if c.count is not None)


def _event(action: str, export: DataExport, actor: User | None, result: str = "ok") -> AuditEvent:
    return AuditEvent(action, actor=actor, account_id=export.account_id, result=result,
                      object=f"data export {export.id} ({export.format})")


def request_export(account: Account, user: User, fmt: str) -> DataExport:
    """Produce the export now when it is small, or queue it for `panel cron`."""
    if fmt not in FORMATS:
        raise ExportError("Choose one of the formats offered.")
    waiting = db.session.execute(select(DataExport.id).where(
        DataExport.account_id == account.id, DataExport.format == fmt,
        DataExport.status.in_((QUEUED, RUNNING)))).first()
    if waiting is not None:
        raise ExportError("An export in this format is already being prepared; we will email "
                          "you when it is ready.")
    export = DataExport(account_id=account.id, format=fmt, status=QUEUED, created_at=utcnow())
    db.session.add(export)
    db.session.flush()
    audit.record(_event("export.request", export, user))
    db.session.commit()
    if size_estimate(account) <= current_app.config.get("PRIVACY_EXPORT_INLINE_ROWS", INLINE_ROWS):
        produce(export, notify=False)
    return export


def _claim(export: DataExport) -> bool:
    done = db.session.execute(update(DataExport).where(
        DataExport.id == export.id, DataExport.status == QUEUED)
        .values(status=RUNNING, started_at=utcnow())
        .execution_options(synchronize_session=False))
    db.session.commit()
    db.session.refresh(export)
    return done.rowcount == 1  # type: ignore[attr-defined]


def produce(export: DataExport, *, notify: bool) -> bool:
    """Write the file, mark it ready for EXPIRY_DAYS, and (from cron) email the link."""
    if not _claim(export):
        return False
    account = db.session.get(Account, export.account_id)
    assert account is not None
    name = f"{export.id}.{EXTENSIONS[export.format]}"
    path = export_dir() / name
    key = os.urandom(32)
    export.file_key = base64.b64encode(key).decode()  # sealed on the row, never in the file
    try:
        rows = write(account, export.format, path, key, file_context(export))
    except Exception as exc:  # noqa: BLE001 - any failure is recorded and shown, never lost
        db.session.rollback()
        export.status, export.error = FAILED, f"{type(exc).__name__}"[:300]
        audit.record(_event("export.fail", export, None, result="failed"))
        db.session.commit()
        current_app.logger.exception("export %s failed", export.id)
        return False
    now = utcnow()
    export.status, export.file_path, export.rows = READY, f"exports/{name}", rows
    export.size, export.ready_at = path.stat().st_size, now
    export.expires_at = now + timedelta(days=EXPIRY_DAYS)
    audit.record(_event("export.ready", export, None))
    user = account.user
    if notify and user is not None and user.email:
        link = external_url("privacy_data.download", export_id=export.id)
        queue(to=user.email, subject="Your data export is ready", account_id=account.id,
              body="\n".join([
                  f"The copy of your data you asked for ({export.format_label}) is ready.",
                  "", f"Download it here (you will be asked for your password): {link}", "",
                  f"The link works until {export.expires_at:%d %B %Y %H:%M} UTC; "
                  "then the file is deleted.",
                  "If you did not ask for this, change your password and tell support."]))
    db.session.commit()
    return True


def produce_queued() -> str:
    """Job: produce the exports too large to make during the request, after giving back to the
    queue any export whose producer died mid-way (and deleting its partial file)."""
    stuck = db.session.execute(select(DataExport).where(
        DataExport.status == RUNNING, DataExport.started_at <= utcnow() - STUCK_AFTER)).scalars()
    for export in stuck.all():
        (export_dir() / f"{export.id}.{EXTENSIONS[export.format]}.part").unlink(missing_ok=True)
        export.status = QUEUED
        db.session.commit()
    ids = db.session.execute(select(DataExport.id).where(DataExport.status == QUEUED)
                             .order_by(DataExport.created_at)).scalars().all()
    made = 0
    for export_id in ids:
        export = db.session.get(DataExport, export_id)
        if export is not None and produce(export, notify=True):
            made += 1
    return f"produced {made} data exports"


def file_for(export: DataExport) -> Path:
    """The file of a ready, unexpired export."""
    if export.is_expired():
        raise ExportError("This export has expired and its file was deleted. Prepare a new one "
                          "on the My data page.")
    if export.status != READY or not export.file_path:
        raise ExportError("This export is not ready yet." if export.status in (QUEUED, RUNNING)
                          else "This export failed. Prepare a new one on the My data page.")
    path = Path(current_app.instance_path) / export.file_path
    if not path.is_file():
        raise ExportError("This export's file is missing. Prepare a new one.")
    return path


def record_download(export: DataExport, user: User, *, ok: bool) -> None:
    audit.record(_event("export.download", export, user, result="ok" if ok else "refused"))
    db.session.commit()


def _delete_file(export: DataExport) -> None:
    if export.file_path:
        path = Path(current_app.instance_path) / export.file_path
        path.unlink(missing_ok=True)
        path.with_suffix(path.suffix + ".part").unlink(missing_ok=True)


def expire(export: DataExport) -> None:
    """The file goes; the record stays, marked expired (the retention schedule calls this)."""
    _delete_file(export)
    export.status, export.file_path, export.file_key = EXPIRED, None, None
    audit.record(_event("export.expire", export, None))


def mine(account: Account, limit: int = 20) -> list[DataExport]:
    return list(db.session.execute(
        select(DataExport).where(DataExport.account_id == account.id)
        .order_by(DataExport.created_at.desc()).limit(limit)).scalars())


def erase(account: Account) -> None:
    """Part of erasing the account (P09): export files go at once."""
    for export in db.session.execute(select(DataExport).where(
            DataExport.account_id == account.id)).scalars():
        _delete_file(export)
        db.session.delete(export)
