"""Printing lists as a table, JSON or CSV.

Plain string formatting on purpose: a 10,000-row table must print in a few
milliseconds, and pipes (`| less`, `| grep`) must get plain text.

Names and subjects come from strangers' mail, so nothing printed here can
drive the terminal or a spreadsheet: table and CSV cells are cleaned
(`core.clean`: escape sequences, controls, bidi overrides), CSV cells that a
spreadsheet would run as a formula get a leading `'` (the address book
export's rule), and JSON escapes what it would otherwise print raw (C1
controls, bidi overrides), so a JSON consumer still gets the stored value.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from mailer.core.addressbook.csvfile import _FORMULA
from mailer.core.addressbook.csvfile import _defuse as defuse_formula
from mailer.core.clean import clean_line, clean_text

FORMATS = ("table", "json", "csv")
_JSON = json.JSONEncoder(ensure_ascii=False)  # one encoder: json.dumps(..., ensure_ascii=False)
# builds a new one per call, a third of the time of a 10,000-row listing


def _row_encoder() -> Callable[[dict[str, Any]], str]:
    """One JSON object per call, through one C encoder made once (JSONEncoder.encode
    makes a new one per row: a third of the encoding time of a 10,000-row listing)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # not CPython: the plain way
        return _JSON.encode
    encode = make(
        None, _JSON.default, json.encoder.encode_basestring, None, ": ", ", ", False, False, True
    )

    def row(obj: dict[str, Any]) -> str:
        return "".join(encode(obj, 0))

    return row


_ROW = _row_encoder()


_ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _cell(value: Any, width: int = 40) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        value = ",".join(str(v) for v in value)
    text = str(value)
    if len(text) == 20 and _ISO_UTC.fullmatch(text):
        return text[:10]  # dates: the day is what a person reads in a table
    if not text.isprintable() or "  " in text:  # line breaks, tabs, escapes, runs of spaces
        text = " ".join(clean_line(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _column(values: list[Any], width: int) -> list[str]:
    """One column's cells; the common plain string skips `_cell` (10,000-row tables)."""
    out = []
    for v in values:
        if type(v) is str and len(v) <= width and v.isprintable() and "  " not in v:
            out.append(v[:10] if len(v) == 20 and _ISO_UTC.fullmatch(v) else v)
        else:
            out.append(_cell(v, width))
    return out


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    # The last column is not cut: it is where long text (a reason) goes, and it wraps harmlessly.
    limits = [40] * (len(columns) - 1) + [10_000]
    cols = [_column([r.get(c) for r in rows], w) for c, w in zip(columns, limits, strict=True)]
    widths = [max([len(c), *map(len, col)]) for c, col in zip(columns, cols, strict=True)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(cells, widths, strict=True)).rstrip()
        for cells in zip(*cols, strict=True)
    ]
    return "\n".join(lines)


# What json's encoder prints raw (it escapes only C0 controls) that a terminal would obey.
# Lone surrogates (undecodable header bytes) too: no output encoding takes them raw.
_JSON_UNSAFE = re.compile(
    "[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]"
)


def _json_escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04x}"


def _json_row(obj: dict[str, Any]) -> str:
    text = _ROW(obj)
    if text.isascii() and "\x7f" not in text:  # most rows: nothing to escape, found in C
        return text
    return _JSON_UNSAFE.sub(_json_escape, text)


_CSV_RISKY = (*_FORMULA, " ")  # a text cell starting so is cleaned and defused


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = ",".join(value)  # tags, aliases
    elif isinstance(value, list | dict):
        value = _JSON.encode(value)  # nested records (a command mail's lines): their JSON
    elif not isinstance(value, str):
        return value
    # Stripped too: importers that trim would make " =1+1" a formula again.
    return defuse_formula(clean_text(value).strip())


def render(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str) -> str:
    """`rows` as `fmt`; JSON and CSV carry every key, the table only `columns`."""
    if fmt == "json":
        # One object per line: readable, and json's C encoder (indent= falls back to Python).
        if not rows:
            return "[]"
        return "[\n" + ",\n".join(map(_json_row, rows)) + "\n]"
    if fmt == "csv":
        keys = list(rows[0]) if rows else list(columns)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=keys, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        risky = _CSV_RISKY
        for r in rows:
            # Most cells are numbers, nulls or plain text: kept as they are without a call.
            writer.writerow(
                {
                    k: v
                    if v is None
                    or (t := type(v)) is int
                    or (t is str and v.isprintable() and not v.startswith(risky) and v[-1:] != " ")
                    else _csv_cell(v)
                    for k, v in r.items()
                }
            )
        return buf.getvalue().rstrip("\n")
    return table(rows, columns)
