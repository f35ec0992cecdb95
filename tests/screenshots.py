"""`make screenshots` (`python -m tests.screenshots`): every page, as each role, at 1280 and
375 px, into screenshots/<role>/<page>-<width>.png.

Builds a throw-away instance the way `make run` does (secrets, migrations, `panel demo`), serves
it on a free port from a thread, signs in through the real form as each demo person, and walks
the menu (tests/browser/walk.py), so new pages are photographed without changing this file.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from werkzeug.serving import make_server

PUBLIC = ["/login", "/forgot-password", "/signup", "/privacy", "/cookies"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _shoot(page: Page, out: Path, name: str, widths: tuple[int, ...]) -> int:
    from tests.browser.walk import HEIGHT

    for width in widths:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        target = out / f"{name}-{width}.png"
        page.screenshot(path=str(target), full_page=True)
        print(f"  {target}", flush=True)
    return len(widths)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="screenshots", help="folder to write (default: screenshots)")
    parser.add_argument("--role", action="append", help="only these roles (repeatable)")
    parser.add_argument("--width", action="append", type=int, help="only these widths (repeatable)")
    args = parser.parse_args(argv)

    instance = Path(tempfile.mkdtemp(prefix="panel-shots-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    os.environ.update(PANEL_INSTANCE_PATH=str(instance), PANEL_BASE_URL=base)
    os.environ.pop("PANEL_DATABASE_URL", None)  # the instance's own SQLite file
    os.environ.pop("PANEL_SMTP_URL", None)  # mail goes to the instance's Maildir

    from panel import demo, migrate
    from panel.app import create_app
    from panel.crypto.keyring import initialise
    from panel.extensions import db
    from panel.instance_setup import setup
    from tests.browser.walk import ROLES, WIDTHS, enter, name_of, stops
    from tests.browser_fixtures import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, settle

    started = time.monotonic()
    setup(instance)
    app = create_app()
    for noisy in ("werkzeug", "panel.request"):  # progress, not a request log
        logging.getLogger(noisy).setLevel(logging.WARNING)
    roles = args.role or list(ROLES)
    widths = tuple(args.width or WIDTHS)
    out_root = Path(args.out)
    count = 0
    with app.app_context():
        print(f"instance {instance}: migrating and seeding the demo", flush=True)
        migrate.upgrade(app)
        initialise(db.engine, app.extensions["panel.keyring"].master)
        demo.seed()
        settle()
        server = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True, name="screenshots")
        thread.start()
        print(f"serving on {base}", flush=True)
        try:
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                 headless=True)
                for role in ["anonymous", *roles]:
                    if role == "anonymous" and args.role and "anonymous" not in args.role:
                        continue
                    out = out_root / role
                    if out.exists():
                        shutil.rmtree(out)
                    out.mkdir(parents=True)
                    print(f"{role}:", flush=True)
                    context = browser.new_context(base_url=base,
                                                  viewport={"width": widths[0], "height": 800})
                    context.set_default_timeout(TIMEOUT_MS * 3)
                    page = context.new_page()
                    if role == "anonymous":
                        for path in PUBLIC:
                            response = page.goto(path)
                            if response is not None and response.ok:
                                count += _shoot(page, out, name_of(path), widths)
                        context.close()
                        continue
                    for extra in enter(page, role, demo.DEFAULT_PASSWORD):
                        page.goto(extra.path)
                        count += _shoot(page, out, extra.name, widths)
                    page.set_viewport_size({"width": widths[0], "height": 800})
                    for stop in stops(page):
                        count += _shoot(page, out, stop.name, widths)
                        page.set_viewport_size({"width": widths[0], "height": 800})
                    context.close()
                browser.close()
        finally:
            server.shutdown()
            thread.join(timeout=5)
            db.session.remove()
            db.engine.dispose()
            shutil.rmtree(instance, ignore_errors=True)
    print(f"{count} screenshots in {out_root}/ ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
