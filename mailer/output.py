"""Printing lists as a table, JSON or CSV.

Plain string formatting on purpose: a 10,000-row table must print in a few
milliseconds, and pipes (`| less`, `| grep`) must get plain text.

Names and subjects come from strangers' mail, so nothing printed here can
drive the terminal or a spreadsheet: table and CSV cells are cleaned
(`core.clean`: escape sequences, controls, bidi overrides), CSV cells that a
spreadsheet would run as a formula get a leading `'` (the address book
export's rule), and JSON escapes what it would otherwise print raw (C1
controls, bidi overrides), so a JSON consumer still gets the stored value.

A table on a terminal fits its width (the last wide column wraps, a reason or
a why); piped, every cell prints whole, so `| grep` finds what is stored.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from mailer.core.clean import FORMULA, clean_line, clean_text, defuse_formula

try:
    import orjson
except ImportError:  # a dependency; the standard library's json does the same, slower
    orjson = None  # type: ignore[assignment]

FORMATS = ("table", "json", "csv")
_JSON = json.JSONEncoder(ensure_ascii=False)  # one encoder: json.dumps(..., ensure_ascii=False)
# builds a new one per call, a third of the time of a 10,000-row listing


def _row_encoder() -> Callable[[dict[str, Any]], str]:
    """One JSON object per call: orjson's (a tenth of json's time: a 20,000-row listing
    spent 0.2 s here); json's for what orjson refuses, or without it."""
    if orjson is None:
        return _JSON.encode
    dumps = orjson.dumps

    def row(obj: dict[str, Any]) -> str:
        try:
            return dumps(obj).decode()
        except TypeError:  # lone surrogates (undecodable headers), huge ints: json takes them
            return _JSON.encode(obj)

    return row


_ROW = _row_encoder()


_ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _cell(value: Any) -> str:
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
    return text


def _column(values: list[Any]) -> list[str]:
    """One column's cells, whole; the common plain string skips `_cell` (10,000-row tables)."""
    out = []
    for v in values:
        if type(v) is str and v.isprintable() and "  " not in v:
            out.append(v[:10] if len(v) == 20 and _ISO_UTC.fullmatch(v) else v)
        else:
            out.append(_cell(v))
    return out


GAP = 2  # spaces between columns
CUT = 40  # a column cut to fit a terminal keeps this much
MIN_WRAP = 20  # the wrapping column never gets narrower


def terminal_width() -> int | None:
    """The terminal's width when stdout is one; None when piped (cells then print whole)."""
    try:
        if not sys.stdout.isatty():
            return None
    except (AttributeError, ValueError):  # replaced or closed stdout
        return None
    import shutil  # here: it loads the archive modules (bz2, lzma) every command would pay for

    return shutil.get_terminal_size().columns


def _fit(widths: list[int], heads: list[int], width: int) -> tuple[list[int], int | None]:
    """Column widths that fit `width`, and which column wraps (None: all fit as they are).

    The last wide column wraps into the room the others leave; only when that
    is too little are the other wide columns cut (at CUT characters).
    """
    gaps = GAP * (len(widths) - 1)
    if sum(widths) + gaps <= width:
        return widths, None
    wide = [i for i, w in enumerate(widths) if w > MIN_WRAP]
    if not wide:
        return widths, None  # many narrow columns: nothing to wrap, the terminal folds
    k = wide[-1]
    fitted = list(widths)
    room = width - gaps - (sum(fitted) - fitted[k])
    if room < MIN_WRAP:
        fitted = [
            min(w, max(CUT, h)) if i != k else w
            for i, (w, h) in enumerate(zip(widths, heads, strict=True))
        ]
        room = width - gaps - (sum(fitted) - fitted[k])
    fitted[k] = max(room, MIN_WRAP, heads[k])
    return fitted, k


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], width: int | None = None) -> str:
    """`rows` as aligned columns; with `width` (a terminal's), fitted to it: the last
    wide column wraps, and other wide columns are cut only if it cannot fit otherwise.
    Without, every cell is printed whole (piped output: grep must find it all)."""
    cols = [_column([r.get(c) for r in rows]) for c in columns]
    heads = [len(c) for c in columns]
    widths = [max([h, *map(len, col)]) for h, col in zip(heads, cols, strict=True)]
    wrap = None
    if width is not None:
        widths, wrap = _fit(widths, heads, width)
        cols = [
            col if i == wrap else [_cut(v, w) for v in col]
            for i, (col, w) in enumerate(zip(cols, widths, strict=True))
        ]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    for cells in zip(*cols, strict=True):
        if wrap is None or len(cells[wrap]) <= widths[wrap]:
            lines.append("  ".join(v.ljust(w) for v, w in zip(cells, widths, strict=True)).rstrip())
            continue
        parts = textwrap.wrap(cells[wrap], widths[wrap], break_on_hyphens=False) or [""]
        for n, part in enumerate(parts):
            line = [part if i == wrap else (v if n == 0 else "") for i, v in enumerate(cells)]
            lines.append("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())
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


def json_document(obj: Any) -> str:
    """One JSON value (a command's report), indented, escaped like the rows above."""
    text = json.dumps(obj, indent=2, ensure_ascii=False, default=str)
    return _JSON_UNSAFE.sub(_json_escape, text)


_CSV_RISKY = (*FORMULA, " ")  # a text cell starting so is cleaned and defused


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = ",".join(value)  # tags, aliases
    elif isinstance(value, list | dict):
        value = _JSON.encode(value)  # nested records (a command mail's lines): their JSON
    elif not isinstance(value, str):
        return value
    # Stripped too: importers that trim would make " =1+1" a formula again.
    return defuse_formula(clean_text(value).strip())


def render(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str, width: int | None = -1
) -> str:
    """`rows` as `fmt`; JSON and CSV carry every key, the table only `columns`.

    A table fits `width`; -1 (the default): the terminal's, if stdout is one."""
    if fmt == "json":
        return "\n".join(render_lines(rows, columns, fmt))
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
    return table(rows, columns, terminal_width() if width == -1 else width)


def render_lines(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str, width: int | None = -1
) -> Iterator[str]:
    """`render`, as lines to print one after another (JSON: one object a line).

    A listing is then never held whole: 20,000 contacts are 10 MB of JSON, which
    as one string was joined, copied and encoded again, a quarter of the memory
    the listing touched (each new page a fault, 0.04 s of its 0.55 s). A table
    and CSV come as one piece: their columns depend on every row.
    """
    if fmt != "json":
        yield render(rows, columns, fmt, width)
    elif not rows:
        yield "[]"
    else:
        yield "["
        last = len(rows) - 1
        for i, row in enumerate(rows):
            yield _json_row(row) + ("," if i < last else "")
        yield "]"
