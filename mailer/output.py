"""Printing lists as a table, JSON or CSV.

Plain string formatting on purpose: a 10,000-row table must print in a few
milliseconds, and pipes (`| less`, `| grep`) must get plain text.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

FORMATS = ("table", "json", "csv")


def _cell(value: Any, width: int = 40) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        value = ",".join(str(v) for v in value)
    text = " ".join(str(value).split())
    if isinstance(value, str) and len(value) == 20 and value.endswith("Z") and "T" in value:
        text = value[:10]  # dates: the day is what a person reads in a table
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    # The last column is not cut: it is where long text (a reason) goes, and it wraps harmlessly.
    widths_max = [40] * (len(columns) - 1) + [10_000]
    cells = [[_cell(r.get(c), w) for c, w in zip(columns, widths_max, strict=True)] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)


def render(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str) -> str:
    """`rows` as `fmt`; JSON and CSV carry every key, the table only `columns`."""
    if fmt == "json":
        # One object per line: readable, and json's C encoder (indent= falls back to Python).
        if not rows:
            return "[]"
        return "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n]"
    if fmt == "csv":
        keys = list(rows[0]) if rows else list(columns)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=keys, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ",".join(v) if isinstance(v, list) else v for k, v in r.items()})
        return buf.getvalue().rstrip("\n")
    return table(rows, columns)
