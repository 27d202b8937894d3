"""Text from strangers' mail never drives the terminal or a spreadsheet.

First the cleaning itself (`mailer.core.clean`) and the printing
(`mailer.output`); then what `commands list`, `digest preview`, `contacts
list` and `status` print for records stored raw by an older mailer; then
(tests/system/test_clean.py) the whole way through a real Dovecot: a
stranger's mail scanned and a stranger's mail refused by `mailer commands
run`.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailer.core.clean import clean_line, clean_text
from mailer.output import render

OSC8 = "\x1b]8;;https://evil.example/pay\x1b\\Invoice\x1b]8;;\x1b\\"  # a link behind "Invoice"
CLEAR = "\x1b[2J\x1b[H"  # clear the screen, cursor home
TITLE = "\x1b]0;you have been hacked\x07"  # OSC 0: the window title, ended by BEL
RLO = "\u202e"  # right-to-left override: "gpj.exe" shows as "exe.jpg"
HOSTILE = f"{CLEAR}{OSC8} for gpj.{RLO}exe{TITLE} \x9b31m\u2066x\u2069\r\x07done"
SEEN = "Invoice for gpj.exe 31mx done"  # what is left as one line

# What a terminal obeys; tabs and line breaks are left to the checks that need them.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


# --- the cleaning -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "lines"),
    [
        (HOSTILE, SEEN, "Invoice for gpj.exe 31mx\ndone"),
        ("Zoë Müller, 東京, Ελένη, محمد", None, None),  # ordinary text stays as it is
        ("👩\u200d💻 \u0645\u200c\u0627 \u200fRLM", None, None),  # joiners and marks stay
        ("a\r\nb\rc\u2028d\te", "a b c d e", "a\nb\nc\nd\te"),
        ("bell\x07 nul\x00 del\x7f c1\x85x", "bell nul del c1 x", "bell nul del c1\nx"),
        ("lone \udcff surrogate", "lone \ufffd surrogate", "lone \ufffd surrogate"),
        ("ends in ESC\x1b", "ends in ESC", "ends in ESC"),
        ("\x1b(0charset\x1bcreset\x1b7", "charsetreset", "charsetreset"),
        ("\ufeffbom \u202a\u202b\u202c\u202d\u2067\u2068 \u206a", "bom  ", "bom  "),
    ],
)
def test_clean(text: str, line: str | None, lines: str | None) -> None:
    assert clean_line(text) == (text if line is None else line)
    assert clean_text(text) == (text if lines is None else lines)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_cleaned_text_has_nothing_a_terminal_obeys(text: str) -> None:
    line, lines = clean_line(text), clean_text(text)
    assert not UNSAFE.search(line) and "\n" not in line and "\t" not in line
    assert not UNSAFE.search(lines) and "\r" not in lines
    assert clean_line(line) == line and clean_text(lines) == lines  # once is enough
    line.encode("utf-8")  # no lone surrogates: every output can print it
    if text.isprintable():
        assert line == lines == text


# --- printing ---------------------------------------------------------------------------

ROWS = [
    {
        "sender": f"Eve {OSC8} <eve@evil.example>",
        "subject": HOSTILE,
        "tags": ["=1+1", "ok"],
        "n": -3,
        "none": None,
        "lines": [{"line": "x", "ok": True}],
    }
]


def test_table_csv_and_json_print_nothing_a_terminal_obeys() -> None:
    table = render(ROWS, ["sender", "subject", "n"], "table")
    assert not UNSAFE.search(table) and SEEN in table and "Eve Invoice <eve@evil.example>" in table
    text = render(ROWS, ["sender"], "csv")
    assert not UNSAFE.search(text.replace("\n", ""))
    (row,) = csv.DictReader(io.StringIO(text))
    assert row["subject"] == "Invoice for gpj.exe 31mx\ndone"
    assert row["tags"] == "'=1+1,ok" and row["n"] == "-3"  # a number stays a number
    assert json.loads(row["lines"]) == [{"line": "x", "ok": True}]
    # JSON escapes what it would print raw (C1, bidi): the value read back is the stored one.
    out = render(ROWS, ["sender"], "json")
    assert not UNSAFE.search(out) and "\\u202e" in out
    assert json.loads(out) == ROWS


def test_json_rows_keep_lone_surrogates_and_big_numbers_readable() -> None:
    """orjson refuses both; such a row is written by json instead, escaped alike."""
    rows = [{"name": "B\udcfcro", "n": 2**70}, {"name": "M\u00fcller", "n": 1, "w": 0.5716}]
    out = render(rows, ["name"], "json")
    assert "\\udcfc" in out  # escaped: no output encoding takes a lone surrogate raw
    assert "\udcfc" not in out and "M\u00fcller" in out
    assert json.loads(out) == rows
    assert out.splitlines()[2] == '{"name":"M\u00fcller","n":1,"w":0.5716}'


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r", " ", "\r\n", "\x1b[0m"])
def test_csv_cells_a_spreadsheet_would_run_are_neutralised(start: str) -> None:
    rows = [{"name": f'{start}HYPERLINK("https://evil.example","x")', "tags": [f"{start}a"]}]
    (row,) = csv.DictReader(io.StringIO(render(rows, ["name"], "csv")))
    for cell in row.values():
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


# --- the CLI over records and contacts stored raw ---------------------------------------


# --- the whole way through Dovecot --------------------------------------------------------
