"""Text from strangers' mail never drives the terminal or a spreadsheet.

First the cleaning itself (`mailer.core.clean`) and the printing
(`mailer.output`); then what `commands list`, `digest preview`,
`contacts list` and `status` print for records stored raw by an older
mailer; then the whole way through a real Dovecot: a stranger's mail scanned
and a stranger's mail refused by `mailer commands run`.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from dovecot import ImapUser
from hypothesis import given, settings
from hypothesis import strategies as st
from scanhelp import mailer, raw, utc, write_config

from mailer.core.clean import clean_line, clean_text
from mailer.model import CommandRecord, Contact
from mailer.output import render
from mailer.store import COMMANDS, Store

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


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r", " ", "\r\n", "\x1b[0m"])
def test_csv_cells_a_spreadsheet_would_run_are_neutralised(start: str) -> None:
    rows = [{"name": f'{start}HYPERLINK("https://evil.example","x")', "tags": [f"{start}a"]}]
    (row,) = csv.DictReader(io.StringIO(render(rows, ["name"], "csv")))
    for cell in row.values():
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


# --- the CLI over records and contacts stored raw ---------------------------------------

ENV = {"MAILER_NOW": "2026-03-04T09:00:00Z"}
ADDRESS = "me+mailer-k3x9q2@example.org"
FORMULAS = {
    "=": '=HYPERLINK("https://evil.example","Bo")',
    "+": "+1+cmd|' /C calc'!A0",
    "-": "-2+3",
    "@": "@SUM(A1:A9)",
    "\t": "\t=1+1",
    "\r": "\r=1+1",
}


def _check(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 0, out.stderr
    assert not UNSAFE.search(out.stdout.replace("\t", " ")), out.stdout
    return out.stdout


def _raw_store(path: Path) -> None:
    """A store as mailer wrote it before text from mail was cleaned."""
    refused = CommandRecord(
        "k1", "<1@evil>", "eve@evil.example", "x", "2026-03-04T08:00:00Z",
        "2026-03-04T08:30:00Z", "refused", "sender not allowed: eve@evil.example",
    ).to_doc()  # fmt: skip
    refused.update(sender=f"{OSC8} <eve@evil.example>", subject=HOSTILE)
    long_ago = "2025-06-01T09:00:00Z"
    people = [
        Contact(f"p{n}@x.example", status="active", last_inbound=long_ago, last_outbound=long_ago,
                name=text, notes=text, tags=(text.strip(),), last_subject=HOSTILE)
        for n, text in enumerate(FORMULAS.values())
    ]  # fmt: skip
    people.append(
        Contact("eve@evil.example", name=f"Eve {OSC8}{RLO}", last_inbound=long_ago,
                last_outbound=long_ago, status="active", last_subject=HOSTILE)
    )  # fmt: skip
    store = Store(path)
    store.update_contacts(lambda _: people)
    with store.transaction() as db:
        db.table(COMMANDS).insert(refused)


def test_listings_of_records_and_contacts_stored_raw_print_clean(tmp_path: Path) -> None:
    config = write_config(tmp_path, None, commands={"address": ADDRESS})
    _raw_store(tmp_path / "mailer.json")

    table = _check(mailer(config, "commands", "list", env=ENV))
    assert SEEN in table and "Invoice <eve@evil.example>" in table
    (row,) = csv.DictReader(
        io.StringIO(_check(mailer(config, "commands", "list", "--format", "csv", env=ENV)))
    )
    assert row["subject"] == SEEN  # a record is one line each, however it was stored
    (rec,) = json.loads(_check(mailer(config, "commands", "list", "--format", "json", env=ENV)))
    assert rec["sender"] == "Invoice <eve@evil.example>" and rec["subject"] == SEEN

    preview = _check(mailer(config, "digest", "preview", env=ENV))
    assert "Invoice <eve@evil.example>" in preview and SEEN in preview
    status = _check(mailer(config, "status", env=ENV))
    assert "Invoice <eve@evil.example>" in status

    table = _check(mailer(config, "contacts", "list", "--all", env=ENV))
    assert "Eve Invoice" in table
    _check(mailer(config, "contacts", "list", "--all", "--format", "json", env=ENV))
    listed = _check(mailer(config, "contacts", "list", "--all", "--format", "csv", env=ENV))
    rows = list(csv.DictReader(io.StringIO(listed)))
    assert len(rows) == len(FORMULAS) + 1
    for row in rows:
        for key, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (key, cell)
    by_email = {r["email"]: r for r in rows}
    for n, text in enumerate(FORMULAS.values()):
        row = by_email[f"p{n}@x.example"]
        assert row["name"] == row["notes"] == row["tags"] == "'" + text.strip()

    shown = _check(mailer(config, "contacts", "show", "eve@evil.example", env=ENV))
    assert "Eve Invoice" in shown
    for fmt in ("vcard", "csv"):
        exported = mailer(config, "contacts", "export", "--format", fmt, env=ENV)
        assert exported.returncode == 0, exported.stderr
        assert not UNSAFE.search(exported.stdout.replace("\r\n", "\n").replace("\t", " "))
        assert "Eve Invoice" in exported.stdout


# --- the whole way through Dovecot --------------------------------------------------------

NOW = utc(2026, 3, 4, 9, 0)
ME = "Pat Doe <me@example.org>"


def _mail(sender: str, to: str, subject: str, n: int) -> bytes:
    return raw(
        f"From: {sender}\nTo: {to}\nSubject: {subject}\n"
        f"Date: {format_datetime(NOW - timedelta(hours=n))}\nMessage-ID: <hostile{n}@test>"
    )


def test_a_strangers_subject_and_name_reach_no_listing_raw(
    imap_user: ImapUser, tmp_path: Path
) -> None:
    # Raw bytes in one header, encoded words in the other: both reach mailer decoded.
    name = "=?utf-8?q?Eve_=1B]8;;https://evil.example/=1B=5CBank=1B]8;;=1B=5C=E2=80=AE?="
    subject = "Invoice\x1b[2J\x1b[H =?utf-8?q?for_gpj.=E2=80=AEexe=1B]0;hacked=07?="
    imap_user.append(
        "INBOX",
        [
            _mail(f"{name} <eve@evil.example>", ME, subject, 1),  # ordinary mail: scanned
            _mail(f"{name} <eve@evil.example>", ADDRESS, subject, 2),  # refused: a stranger
        ],
    )
    config = write_config(tmp_path, imap_user, commands={"address": ADDRESS})
    assert mailer(config, "scan", user=imap_user, env=ENV).returncode == 0
    ran = _check(mailer(config, "commands", "run", user=imap_user, env=ENV))
    assert "refused mail from eve@evil.example" in ran

    (rec,) = json.loads(_check(mailer(config, "commands", "list", "--format", "json", env=ENV)))
    assert rec["kind"] == "refused" and rec["subject"] == "Invoice for gpj.exe"
    table = _check(mailer(config, "commands", "list", env=ENV))
    assert "Invoice for gpj.exe" in table
    _check(mailer(config, "commands", "list", "--format", "csv", env=ENV))
    preview = _check(mailer(config, "digest", "preview", env=ENV))
    assert 'subject: "Invoice for gpj.exe"' in preview

    people = json.loads(
        _check(mailer(config, "contacts", "list", "--all", "--format", "json", env=ENV))
    )
    eve = next(p for p in people if p["email"] == "eve@evil.example")
    assert (eve["name"], eve["last_subject"]) == ("Eve Bank", "Invoice for gpj.exe")
    assert "Eve Bank" in _check(mailer(config, "contacts", "list", "--all", env=ENV))
    _check(mailer(config, "contacts", "list", "--all", "--format", "csv", env=ENV))
