"""`make screenshots` (`python -m tests.screenshots`): every page, as each role, at 1280 and
375 px, into screenshots/<role>/<page>-<width>.png.

Builds a throw-away instance the way `make run` does (secrets, migrations, `panel demo`), serves
it on a free port from a thread, signs in through the real form as each demo person, and walks
the menu (tests/browser/walk.py), so new pages are photographed without changing this file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from panel import demo
from tests.browser.walk import HEIGHT, ROLES, WIDTHS, demo_site, visits
from tests.browser_fixtures import CHROMIUM, CHROMIUM_ARGS


def _shoot(page: Page, out: Path, name: str, widths: tuple[int, ...]) -> int:
    for width in widths:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        target = out / f"{name}-{width}.png"
        page.screenshot(path=str(target), full_page=True)
        print(f"  {target}", flush=True)
    page.set_viewport_size({"width": widths[0], "height": HEIGHT})
    return len(widths)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--out", default="screenshots", help="folder to write (default: screenshots)")
    parser.add_argument("--role", action="append", choices=["anonymous", *ROLES],
                        help="only these roles (repeatable)")
    parser.add_argument("--width", action="append", type=int, help="only these widths (repeatable)")
    args = parser.parse_args(argv)
    roles = args.role or ["anonymous", *ROLES]
    widths = tuple(args.width or WIDTHS)
    out_root = Path(args.out)
    os.environ.pop("PANEL_DATABASE_URL", None)  # the throw-away instance's own SQLite file
    started, count = time.monotonic(), 0
    with tempfile.TemporaryDirectory(prefix="panel-shots-") as folder:
        print("setting up a demo instance (migrations, `panel demo`)", flush=True)
        with demo_site(Path(folder) / "instance") as (_app, base), sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
            for out in {out_root / role for role in roles}:
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir(parents=True)
            for role, page, stop in visits(browser, base, roles, demo.DEFAULT_PASSWORD):
                count += _shoot(page, out_root / role, stop.name, widths)
            browser.close()
    print(f"{count} screenshots in {out_root}/ ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
