"""Aliases: two addresses of one person become one contact with one history."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from scanhelp import mail_in, mail_out, mailer, utc, write_config, write_mbox

from mailer.core.contacts import merge, resolve
from mailer.model import Contact

NOW = utc(2026, 3, 4, 9, 0)
ENV = {"MAILER_NOW": "2026-03-04T09:00:00Z"}


def test_merge_keeps_the_history_right() -> None:
    work = Contact(
        "anna@work.example",
        "Anna Berg",
        status="active",
        tier="inner",
        tags=("rust",),
        trust=2,
        notes="met at RustConf",
        first_seen="2024-05-01T00:00:00Z",
        last_inbound="2026-01-10T00:00:00Z",
        last_outbound="2025-12-01T00:00:00Z",
        messages_in=5,
        messages_out=4,
        recent_out=("2025-12-01T00:00:00Z",),
    )
    home = Contact(
        "anna@home.example",
        "Anna",
        tags=("climbing",),
        trust=3,
        notes="two kids",
        first_seen="2023-02-01T00:00:00Z",
        last_inbound="2025-11-01T00:00:00Z",
        last_outbound="2026-02-01T00:00:00Z",
        messages_in=2,
        messages_out=3,
        recent_out=("2026-02-01T00:00:00Z", "2025-10-01T00:00:00Z"),
        snoozed_until="2026-04-01T00:00:00Z",
    )
    m = merge(work, home)
    assert m.email == "anna@work.example" and m.aliases == ("anna@home.example",)
    assert (m.messages_in, m.messages_out) == (7, 7)
    assert m.first_seen == "2023-02-01T00:00:00Z"
    assert m.last_inbound == "2026-01-10T00:00:00Z"
    assert m.last_outbound == "2026-02-01T00:00:00Z"
    # only the outbound mail after their last answer (2026-01-10) is kept: it may count
    assert m.recent_out == ("2026-02-01T00:00:00Z",)
    assert (m.name, m.tier, m.trust, m.status) == ("Anna Berg", "inner", 3, "active")
    assert m.tags == ("climbing", "rust") and m.notes == "met at RustConf\ntwo kids"
    assert m.snoozed_until == "2026-04-01T00:00:00Z"
    assert resolve([m], "anna@home.example") is m
    with pytest.raises(ValueError):
        merge(work, dataclasses.replace(home, email=work.email))


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
