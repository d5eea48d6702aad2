"""Bar charts as inline SVG, drawn on the server.

Only elements and presentation attributes: no script and no `style` (the site's CSP
allows neither inline); colours come from classes in static/css/admin.css. Each chart
is an image labelled by its heading; the table beside it carries the figures.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from .report import Series

WIDTH = 640
HEIGHT = 220
LEFT = 44  # room for the axis labels
BOTTOM = 24
TOP = 10


def nice_ceiling(value: int) -> int:
    """The axis top: 1, 2 or 5 times a power of ten, at least `value` (and at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return max(1, step * factor)
        step *= 10


def bar_chart(series: Series, labelled_by: str) -> Markup:
    top = nice_ceiling(series.highest)
    plot_width = WIDTH - LEFT - 4
    plot_height = HEIGHT - TOP - BOTTOM
    count = max(1, len(series.values))
    slot = plot_width / count
    bar = max(1.0, slot * 0.8)
    base = TOP + plot_height
    parts = [
        f'<svg class="usage-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(labelled_by)}" xmlns="http://www.w3.org/2000/svg">',
        f'<line class="usage-axis" x1="{LEFT}" y1="{base}" x2="{WIDTH - 4}" y2="{base}"/>',
        f'<line class="usage-grid" x1="{LEFT}" y1="{TOP}" x2="{WIDTH - 4}" y2="{TOP}"/>',
        f'<text class="usage-label" x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">{top}</text>',
        f'<text class="usage-label" x="{LEFT - 6}" y="{base}" text-anchor="end">0</text>',
    ]
    for index, (day, value) in enumerate(series.values):
        height = plot_height * value / top
        x = LEFT + index * slot + (slot - bar) / 2
        parts.append(
            f'<rect class="usage-bar" x="{x:.1f}" y="{base - height:.1f}" '
            f'width="{bar:.1f}" height="{height:.1f}">'
            f"<title>{day.isoformat()}: {value}</title></rect>"
        )
    if series.values:
        first, last = series.values[0][0], series.values[-1][0]
        parts.append(
            f'<text class="usage-label" x="{LEFT}" y="{HEIGHT - 6}">{first.isoformat()}</text>'
        )
        parts.append(
            f'<text class="usage-label" x="{WIDTH - 4}" y="{HEIGHT - 6}" '
            f'text-anchor="end">{last.isoformat()}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - built from numbers, dates and an escaped id
