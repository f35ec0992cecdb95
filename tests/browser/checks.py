"""What every page must pass, at each width: the checks of the one browser walk
(tests/browser/test_walk.py), also used on the screens a walk cannot reach (a form sent with
an error, tests/browser/test_screens.py).

All in-page checks run in one round trip per width: axe-core (any impact), sideways scroll,
words broken inside themselves, fields without their label, text contrast. axe is put into
every document of the context by an init script (``prepare``), so it is parsed once per page
load, not sent over again for each width.
"""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page, Response

PHONE = 375
#: Every check, in the order a report lists them; each names its failures by page and width.
CHECKS = ("status", "axe", "sideways", "broken words", "labels", "contrast", "off-site")
VIEWPORT = "width=device-width, initial-scale=1"

# axe-core on the whole document; only the violations, with at most five elements each.
_AXE = """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(v =>
  `${v.id} (${v.impact}) ${v.help}: ` + v.nodes.slice(0, 5).map(n => n.target.join(" ")).join("; ")
  + (v.nodes.length > 5 ? ` (+${v.nodes.length - 5} more)` : ""))"""

# How much wider than the window the page is, and the innermost elements that stick out.
_SIDEWAYS = """() => {
  const doc = document.documentElement, limit = doc.clientWidth + 1;
  if (doc.scrollWidth <= doc.clientWidth && doc.clientWidth <= window.innerWidth) return [];
  const over = [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > limit);
  const innermost = over.filter(e => !over.some(o => o !== e && e.contains(o)));
  return [`${doc.scrollWidth - doc.clientWidth} px too wide (window ${window.innerWidth} px), widest: `
          + innermost.slice(0, 3).map(e => e.tagName + " " + (e.textContent || "").trim().slice(0, 40))
              .join("; ")];
}"""

# Each word (a run of letters split at spaces and after hyphens and slashes) of every table cell,
# caption, heading and menu link must lie on one line. A word whose Range has client rects on
# two lines was broken inside itself ("Res ult", "Statu s"). Long machine tokens may break:
# anything inside code or .token, and whitespace-separated words with "@" or ":" (addresses,
# URLs, times), a slash or dot next to a digit (versions, paths, IP addresses), or of 20
# characters or more.
_BROKEN = """() => {
  const places = document.querySelectorAll(
    "main td, main th, main caption, main h1, main h2, main h3, nav[aria-label=Main] a");
  const broken = [];
  for (const place of places) {
    if (!place.getClientRects().length) continue;
    const walk = document.createTreeWalker(place, NodeFilter.SHOW_TEXT);
    while (walk.nextNode()) {
      const node = walk.currentNode;
      if (node.parentElement.closest("code, .token, pre")) continue;
      if (!node.parentElement.checkVisibility()) continue;  // e.g. inside a closed <details>
      for (const m of node.textContent.matchAll(/[^\\s\\-\\u2010-\\u2014\\/]+[\\-\\u2010-\\u2014\\/]?/g)) {
        const word = m[0], text = node.textContent;
        let start = m.index, end = m.index + word.length;
        while (start > 0 && !/\\s/.test(text[start - 1])) start--;
        while (end < text.length && !/\\s/.test(text[end])) end++;
        const whole = text.slice(start, end);
        if (word.length < 2 || whole.length >= 20 || /[@:]|[\\/.]\\d|\\d[\\/.]/.test(whole)) continue;
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + word.length);
        const tops = [...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top));
        if (tops.length > 1 && Math.max(...tops) - Math.min(...tops) > 2)
          broken.push(`${place.tagName} "${word}" in "${place.textContent.trim().slice(0, 60)}"`);
      }
    }
  }
  return broken;
}"""

# Every visible input and select has exactly one <label> with text: <label for=its id> or a
# <label> around it (the field's own ``labels``, as a screen reader finds them).
_LABELS = """() => [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
  .filter(f => f.getClientRects().length && getComputedStyle(f).visibility !== "hidden")
  .filter(f => f.labels.length !== 1 || !f.labels[0].textContent.trim())
  .map(f => `${f.name || "?"} (id=${f.id || "none"}) has ${f.labels.length} labels`)"""

# WCAG 2.1 contrast of every visible piece of text against the background it is drawn on
# (axe leaves text it cannot place as "incomplete"; this one always decides).
_CONTRAST = """() => {
  const channel = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const lum = c => 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2]);
  const parse = s => { const m = s.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null; const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const backdrop = el => { for (let e = el; e; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor); if (c && c[3] > 0) return c; }
    return [255, 255, 255, 1]; };
  const bad = [], seen = new Set();
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const text = walk.currentNode.textContent.trim(), el = walk.currentNode.parentElement;
    if (!text || seen.has(el)) continue;
    seen.add(el);
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (!box.width || !box.height || box.right <= 0 || style.visibility === "hidden") continue;
    const fg = parse(style.color), bg = backdrop(el);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    const need = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;
    if (ratio < need) bad.push(`${el.tagName} "${text.slice(0, 40)}": ${ratio.toFixed(2)} < ${need}`);
  }
  return bad;
}"""

_ALL = (f"async () => ({{'axe': await ({_AXE})(), 'sideways': ({_SIDEWAYS})(), "
        f"'broken words': ({_BROKEN})(), 'labels': ({_LABELS})(), 'contrast': ({_CONTRAST})()}})")


def prepare(context: BrowserContext, requests: list[str]) -> None:
    """Put axe into every page the context loads, and append each request's URL to
    ``requests`` (``off_site`` drains it after each page)."""
    context.add_init_script(Axe().axe_script)
    context.on("request", lambda request: requests.append(request.url))


def empty() -> dict[str, list[str]]:
    return {check: [] for check in CHECKS}


def check_page(page: Page, response: Response | None, where: str, widths: tuple[int, ...],
               problems: dict[str, list[str]], status: int = 200) -> None:
    """Run every check on the page the browser is on, at each width, adding each failure to
    its check's list as "<where> at <width> px: <what>"; leaves the window at widths[0]."""
    if response is None or response.status != status:
        problems["status"].append(f"{where}: answered {response and response.status}, not {status}")
    else:
        csp = response.headers.get("content-security-policy", "")
        if "default-src 'self'" not in csp or "script-src 'self'" not in csp:
            problems["status"].append(f"{where}: Content-Security-Policy is {csp!r}")
    viewport = page.locator('meta[name="viewport"]')
    if viewport.count() != 1 or viewport.get_attribute("content") != VIEWPORT:
        problems["status"].append(f"{where}: no <meta name=viewport content={VIEWPORT!r}>")
    height = page.viewport_size["height"] if page.viewport_size else 800
    for width in widths:
        if page.viewport_size is None or page.viewport_size["width"] != width:
            page.set_viewport_size({"width": width, "height": height})
        found: dict[str, list[str]] = page.evaluate(_ALL)
        if width != PHONE:
            found["sideways"] = []
        for check, lines in found.items():
            problems[check] += [f"{where} at {width} px: {line}" for line in lines]
    if page.viewport_size is not None and page.viewport_size["width"] != widths[0]:
        page.set_viewport_size({"width": widths[0], "height": height})


def off_site(requests: list[str], base: str, where: str, problems: dict[str, list[str]]) -> None:
    """Every request the page made went to the panel itself; empties ``requests``."""
    problems["off-site"] += [f"{where}: requested {url}" for url in requests
                             if not url.startswith(base + "/") and not url.startswith("data:")]
    requests.clear()


def report(problems: dict[str, list[str]], check: str) -> str:
    return f"{len(problems[check])} {check} failure(s):\n" + "\n".join(problems[check])

