"""Text from strangers' mail never drives the terminal or a spreadsheet, through the CLI.

What `commands list`, `digest preview`, `contacts list` and `status` print for
records stored raw by an older mailer; then the whole way through a real
Dovecot: a stranger's mail scanned and a stranger's mail refused by `mailer
commands run`. The cleaning itself is tested in tests/unit/test_clean.py.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

from mailer.model import CommandRecord, Contact
from mailer.store import COMMANDS, Store
from tests.support.clock import NOW
from tests.support.dovecot import ImapUser
from tests.support.scanhelp import mailer, raw, write_config
from tests.unit.test_clean import HOSTILE, OSC8, RLO, SEEN, UNSAFE

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
