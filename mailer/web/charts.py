"""Charts as inline SVG text, drawn on the server: the dashboard works offline,
with no script and no CDN, and a test can count what was drawn.

Pure: histories and months in, markup out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from mailer.core import history


@dataclass(frozen=True, slots=True)
class Month:
    month: str  # "YYYY-MM"
    inbound: int
    outbound: int


def last_months(now: datetime, span: int = 24) -> list[str]:
    """The `span` months up to and including `now`'s, oldest first."""
    end = now.year * 12 + now.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(end - span + 1, end + 1)]


def monthly(histories: Iterable[str | None], months: Sequence[str]) -> list[Month]:
    """Mail in and out per month of `months`, summed over the histories given."""
    totals = {m: [0, 0] for m in months}
    for text in histories:
        for month, (inbound, outbound) in history.load(text).items():
            if month in totals:
                totals[month][0] += inbound
                totals[month][1] += outbound
    return [Month(m, *totals[m]) for m in months]


def bars(series: Sequence[Month], *, label: str, width: int = 720, height: int = 180) -> str:
    """One group of two bars (in, out) a month, with the month under every third."""
    top = max((max(m.inbound, m.outbound) for m in series), default=0) or 1
    axis = 18  # room for the month labels
    slot = (width - 24) / max(1, len(series))  # 24: the last label's right half
    bar = max(1.0, slot * 0.36)
    plot = height - axis
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}">'
    ]
    for i, m in enumerate(series):
        x = i * slot + slot * 0.1
        tip = f"{m.month}: {m.inbound} in, {m.outbound} out"
        parts.append(f'<g class="month" data-month="{m.month}"><title>{tip}</title>')
        for j, (kind, n) in enumerate((("in", m.inbound), ("out", m.outbound))):
            h = plot * n / top
            parts.append(
                f'<rect class="{kind}" x="{x + j * bar:.1f}" y="{plot - h:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}"/>'
            )
        if i % 3 == (len(series) - 1) % 3:  # the newest month is always labelled
            parts.append(
                f'<text x="{x + bar:.1f}" y="{height - 4}" text-anchor="middle">{m.month}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)
