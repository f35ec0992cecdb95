"""Email benchmarks (issue 6).

1. Queueing a campaign to N subscribers with mixed preferences (consent events, defaults,
   restrictions) against a plain INSERT of the same number of outbox rows. Every outbox row
   carries a sealed recipient and body, so the baseline seals them too: that is the least an
   outbox row costs. A second, reported-only figure compares with inserting pre-sealed text.
2. One-click unsubscribe POSTs under gunicorn (2 workers) against a bare Flask endpoint under
   the same server in the same run, loaded by wrk (Debian's /usr/bin/wrk), ports 11000-11999.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from bench.common import (
    Figure,
    call,
    fmt_time,
    paired,
    paired_figure,
    proc_stats,
    scratch_database,
    scratch_panel,
    spawn,
)

PORTS = range(11000, 12000)


def _subscribers(n: int) -> None:
    """n house subscribers in bulk, with a mix of grants, withdrawals, no choice, restrictions."""
    from sqlalchemy import insert

    from panel.accounts.models import Account
    from panel.auth.models import User
    from panel.crypto.keyring import current_holder
    from panel.db_types import utcnow
    from panel.extensions import db
    from plugins.privacy.email.models import ConsentEvent
    from plugins.privacy.email.services.preferences import BY_KEY, NOTICE_VERSION
    from plugins.privacy.processing.models import ProcessingLimit

    ring, now = current_holder().get(), utcnow()
    email_aad, ip_aad = User.email.aad, ConsentEvent.ip.aad  # type: ignore[attr-defined]
    digest = BY_KEY["newsletter"].notice_hash
    for start in range(0, n, 5000):
        accounts, users, events, limits = [], [], [], []
        for i in range(start, min(start + 5000, n)):
            aid, uid = uuid.uuid4(), uuid.uuid4()
            accounts.append({"id": aid, "number": 100000 + i, "status": "active", "created_at": now})
            address = f"sub{i}@bench.test"
            users.append({"id": uid, "role": "subscriber", "account_id": aid,
                          "email": ring.seal(address, email_aad(uid)),
                          "email_bidx": ring.blind_index("user", "email", address),
                          "password_hash": "x", "session_token": secrets.token_urlsafe(8),
                          "active": True, "created_at": now})
            kind = i % 10
            if kind < 7:  # 70% chose: 6 in 7 said yes, 1 in 7 later said no
                eid = uuid.uuid4()
                events.append({"id": eid, "account_id": aid, "category": "newsletter",
                               "granted": kind != 6, "method": "import", "mode": "opt-in",
                               "notice_version": NOTICE_VERSION, "notice_hash": digest,
                               "ip": ring.seal("192.0.2.1", ip_aad(eid)), "at": now})
            if i % 50 == 0:
                limits.append({"account_id": aid, "restricted": True, "objections": []})
        db.session.execute(insert(Account.__table__), accounts)
        db.session.execute(insert(User.__table__), users)
        db.session.execute(insert(ConsentEvent.__table__), events)
        if limits:
            db.session.execute(insert(ProcessingLimit.__table__), limits)
    db.session.commit()


def _queueing(quick: bool) -> list[Figure]:
    from sqlalchemy import delete, insert

    from panel.auth.models import User
    from panel.crypto.keyring import current_holder
    from panel.db_types import utcnow
    from panel.extensions import db
    from panel.mail.models import OutboxMessage
    from plugins.privacy.email.models import Campaign, CampaignMessage
    from plugins.privacy.email.services import campaigns

    n = 10_000 if quick else 100_000
    with scratch_panel(PLUGINS="privacy"):
        _subscribers(n)
        staff = User(role="admin", email="bench-admin@bench.test", password_hash="x")
        db.session.add(staff)
        db.session.commit()
        body = "Hello!\n\n" + "Our spring newsletter, with news about hosting. " * 20
        queued: list[int] = []

        def ours() -> None:
            c = campaigns.create(staff, category="newsletter", subject="Spring news", body=body)
            campaigns.send(c, staff)
            queued.append(c.queued)

        def reset() -> None:
            db.session.execute(delete(CampaignMessage))
            db.session.execute(delete(OutboxMessage))
            db.session.execute(delete(Campaign))
            db.session.commit()

        def plain(pre_sealed: bool) -> None:
            ring, now = current_holder().get(), utcnow()
            to_aad, body_aad = OutboxMessage.to_addr.aad, OutboxMessage.body.aad  # type: ignore[attr-defined]
            count = queued[-1]
            sealed_to = ring.seal("x@bench.test", to_aad("x")) if pre_sealed else ""
            sealed_body = ring.seal(body, body_aad("x")) if pre_sealed else ""
            for start in range(0, count, 5000):
                rows = []
                for i in range(start, min(start + 5000, count)):
                    mid = uuid.uuid4()
                    rows.append({"id": mid, "category": "newsletter", "account_id": None,
                                 "to_addr": sealed_to or ring.seal(f"sub{i}@bench.test", to_aad(mid)),
                                 "subject": "Spring news",
                                 "body": sealed_body or ring.seal(body, body_aad(mid)),
                                 "headers": {}, "status": "queued", "attempts": 0,
                                 "next_attempt_at": now, "created_at": now})
                db.session.execute(insert(OutboxMessage.__table__), rows)
            db.session.commit()

        ours()  # learn how many are queued, warm caches
        result = paired(ours, lambda: plain(False), lambda: plain(True), before=reset)
        t_ours, t_sealed, t_raw = (result.median(i) for i in range(3))
    detail = (f"{queued[-1]:,} of {n:,} queued in {fmt_time(t_ours)}; "
              f"plain sealed INSERT {fmt_time(t_sealed)}")
    return [paired_figure(f"campaign queueing to {n:,} subscribers vs plain INSERT", result,
                          at_most=3, detail=detail),
            paired_figure("same vs INSERT of pre-sealed text (no per-row crypto)", result,
                          i=0, j=2, detail=f"raw INSERT {fmt_time(t_raw)}")]


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 11000-11999")


def _wait(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text(errors='replace')[-2000:]}")
        if _answers(port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer on {port}")


def _answers(port: int, workers: int = 2) -> bool:
    """Every worker has booted: the master listens at once, but each worker imports and builds
    the app first (seconds on a busy machine), and wrk would time the boot."""
    for _ in range(workers * 4):  # the requests spread over the workers
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                if not s.recv(12).startswith(b"HTTP/"):
                    return False
        except OSError:
            return False
    return True


def _gunicorn(target: str, port: int, env: dict[str, str], cwd: str,
              log: Path) -> subprocess.Popen[bytes]:
    """gunicorn with its log (the panel's one JSON line per request) in a file, as a deployment
    writes it: a pipe nobody reads fills after a few hundred requests and stalls the workers."""
    cmd = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
           "--log-level", "warning", target]
    with log.open("ab") as sink:
        proc = spawn(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=sink)
    _wait(port, proc, log)
    return proc


def _wrk(url: str, script: Path, seconds: int) -> tuple[float, int]:
    """Requests a second, and how many were answered."""
    out = subprocess.run(["/usr/bin/wrk", "-t2", "-c16", f"-d{seconds}s", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"wrk saw {non2xx.group(1)} failed responses:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return rate, int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]


def _workers_cpu(master: int) -> float | None:
    """CPU seconds the master's workers have used so far (Linux /proc), or None."""
    ticks = [int(f[11]) + int(f[12]) for _, f in proc_stats() if int(f[1]) == master]
    return sum(ticks) / os.sysconf("SC_CLK_TCK") if ticks else None


def _load(url: str, script: Path, seconds: int, master: int,
          cpu: list[float]) -> Callable[[], float]:
    """One side of the figure: its rate, and its workers' CPU per request kept in ``cpu``, which
    says where a low ratio comes from (the app's own work, or the server's per-request cost)."""
    def side() -> float:
        before = _workers_cpu(master)
        rate, answered = _wrk(url, script, seconds)
        after = _workers_cpu(master)
        if before is not None and after is not None and answered:
            cpu.append((after - before) / answered)
        return rate
    return side


def _one_click(quick: bool) -> list[Figure]:
    if not Path("/usr/bin/wrk").exists():
        return [Figure("one-click POST throughput", ">= 0.5x", "wrk not installed", None)]
    from panel.config import new_master_key
    from panel.extensions import db
    from plugins.privacy.email.services import unsubscribe

    stack = contextlib.ExitStack()  # the database outlives the scratch panel: gunicorn uses it
    seconds = 3 if quick else 10
    tmp = tempfile.mkdtemp(prefix="panel-bench-wrk-")
    procs: list[subprocess.Popen[bytes]] = []
    panel_cpu: list[float] = []
    bare_cpu: list[float] = []
    try:
        secret, master = secrets.token_urlsafe(32), new_master_key()
        database = stack.enter_context(scratch_database())
        with scratch_panel(SECRET_KEY=secret, MASTER_KEY=master, DATABASE_URL=database,
                           INSTANCE_PATH=tmp) as app:
            _subscribers(1000)
            from panel.accounts.models import Account

            ids = db.session.execute(db.select(Account.id)).scalars().all()
            paths = [f"/unsubscribe/{unsubscribe.make(a, 'newsletter')}" for a in ids]
            assert app
        script = Path(tmp) / "post.lua"
        script.write_text(textwrap.dedent("""
            local paths = {%s}
            local i = 0
            request = function()
              i = (i %% #paths) + 1
              return wrk.format("POST", paths[i],
                {["Content-Type"] = "application/x-www-form-urlencoded"},
                "List-Unsubscribe=One-Click")
            end
        """) % ", ".join(f'"{p}"' for p in paths))
        (Path(tmp) / "bare.py").write_text(textwrap.dedent("""
            from flask import Flask, request
            app = Flask(__name__)

            @app.post("/unsubscribe/<path:token>")
            def one_click(token):
                return "unsubscribed" if request.form.get("List-Unsubscribe") == "One-Click" else ("no", 400)
        """))
        env = {**os.environ, "PANEL_SECRET_KEY": secret, "PANEL_MASTER_KEY": master,
               "PANEL_DATABASE_URL": database, "PANEL_INSTANCE_PATH": tmp,
               "PANEL_PLUGINS": "privacy", "PYTHONPATH": os.pathsep.join([tmp, os.getcwd()])}
        panel_port = _free_port()
        procs.append(_gunicorn("panel.wsgi:app", panel_port, env, os.getcwd(),
                               Path(tmp) / "panel.log"))
        bare_port = _free_port()
        procs.append(_gunicorn("bare:app", bare_port, env, tmp, Path(tmp) / "bare.log"))
        # warm up: the first POST of each link writes an event; what is timed is the repeated
        # POST, which writes nothing (about 1,000 req/s here: 2 s posts every link)
        _wrk(f"http://127.0.0.1:{panel_port}", script, 2)
        _wrk(f"http://127.0.0.1:{bare_port}", script, 1)
        result = paired(_load(f"http://127.0.0.1:{panel_port}", script, seconds, procs[0].pid,
                              panel_cpu),
                        _load(f"http://127.0.0.1:{bare_port}", script, seconds, procs[1].pid,
                              bare_cpu),
                        measure=call)
    finally:
        for proc in procs:
            proc.stop()  # type: ignore[attr-defined]
        shutil.rmtree(tmp, ignore_errors=True)
        stack.close()
    ours, bare = result.median(0), result.median(1)
    cpu = (f"; worker CPU a request {statistics.median(panel_cpu) * 1e3:.2f} vs "
           f"{statistics.median(bare_cpu) * 1e3:.2f} ms" if panel_cpu and bare_cpu else "")
    return [paired_figure("one-click POST req/s vs bare Flask (gunicorn -w 2, wrk)", result,
                          at_least=0.5, detail=f"{ours:,.0f} vs {bare:,.0f} req/s, "
                                               f"{seconds} s of wrk a side{cpu}")]


def run(quick: bool) -> list[Figure]:
    return _queueing(quick) + _one_click(quick)
