"""Bar charts as inline SVG, drawn on the server: no JavaScript, no external library."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 640, 180, 28


def bars(points: Sequence[tuple[str, int]], title: str, unit: str = "") -> Markup:
    """One bar per (label, value); each bar carries a <title> read by screen readers and
    shown on hover. An empty series draws an axis and says so."""
    top = max((v for _, v in points), default=0) or 1
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    step = inner_w / max(len(points), 1)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>",
             f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
             'class="axis"/>',
             f'<text x="{PAD}" y="{PAD - 8}" class="tick">{top:,}{escape(unit)}</text>']
    if not points:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" '
                     'class="tick">No data yet</text>')
    for i, (label, value) in enumerate(points):
        h = inner_h * value / top
        x = PAD + i * step + step * 0.1
        parts.append(f'<rect x="{x:.1f}" y="{HEIGHT - PAD - h:.1f}" width="{step * 0.8:.1f}" '
                     f'height="{h:.1f}" class="bar"><title>{escape(label)}: {value:,}'
                     f"{escape(unit)}</title></rect>")
    if points:
        parts.append(f'<text x="{PAD}" y="{HEIGHT - 8}" class="tick">{escape(points[0][0])}</text>')
        parts.append(f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" text-anchor="end" '
                     f'class="tick">{escape(points[-1][0])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
