"""Aliases: two addresses of one person become one contact, through `mailer` subprocesses.

The in-process test is in tests/unit/test_merge.py.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.support.clock import NOW
from tests.support.scanhelp import mail_in, mail_out, mailer, write_config, write_mbox

ENV = {"MAILER_NOW": "2026-03-04T09:00:00Z"}


def contacts(config: Path) -> dict[str, dict[str, Any]]:
    out = mailer(config, "contacts", "list", "--all", "--format", "json", env=ENV)
    assert out.returncode == 0, out.stderr
    return {r["email"]: r for r in json.loads(out.stdout)}


def test_merged_addresses_count_for_one_contact_from_then_on(tmp_path: Path) -> None:
    config = write_config(tmp_path, None)
    days = lambda n: NOW - timedelta(days=n)  # noqa: E731
    first = [
        ("INBOX", mail_in("Anna Berg", "anna@work.example", days(40), 1), days(40)),
        ("Sent", mail_out("anna@work.example", days(39), 1), days(39)),
        ("INBOX", mail_in("Anna", "anna@home.example", days(90), 2), days(90)),
        ("Sent", mail_out("anna@home.example", days(10), 2), days(10)),
    ]
    write_mbox(tmp_path / "one.mbox", first)
    assert mailer(config, "import", "mbox", str(tmp_path / "one.mbox"), env=ENV).returncode == 0

    out = mailer(config, "contacts", "merge", "anna@work.example", "anna@home.example", env=ENV)
    assert out.returncode == 0, out.stderr
    assert "anna@work.example: now also anna@home.example; 2 in, 2 out" in out.stdout
    people = contacts(config)
    assert list(people) == ["anna@work.example"]
    anna = people["anna@work.example"]
    assert anna["aliases"] == ["anna@home.example"]
    assert anna["last_outbound"] == "2026-02-22T09:00:00Z"  # the home address's, 10 days ago
    assert anna["first_seen"] == "2025-12-04T09:00:00Z"

    # new mail to and from the other address counts for the merged contact
    later = [("INBOX", mail_in("Anna", "anna@home.example", days(1), 3), days(1))]
    write_mbox(tmp_path / "two.mbox", later)
    assert mailer(config, "import", "mbox", str(tmp_path / "two.mbox"), env=ENV).returncode == 0
    people = contacts(config)
    assert list(people) == ["anna@work.example"]
    assert people["anna@work.example"]["messages_in"] == 3
    assert people["anna@work.example"]["last_inbound"] == "2026-03-03T09:00:00Z"
    shown = mailer(config, "contacts", "show", "anna@home.example", "--format", "json", env=ENV)
    assert json.loads(shown.stdout)[0]["email"] == "anna@work.example"

    again = mailer(config, "contacts", "merge", "anna@work.example", "anna@home.example", env=ENV)
    assert again.returncode == 2 and "cannot be merged with itself" in again.stderr
