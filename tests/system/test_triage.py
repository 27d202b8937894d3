"""`mailer seed` (new contacts to triage, by list, prompts or --set) and `mailer weed`
(dormant and one-sided contacts; --apply prunes them, --undo brings them back), end to end
through the CLI on a store imported from an mbox whose rules outcome is worked out below."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mailer.store import Store
from tests.support.clock import DIGEST_NOW as NOW
from tests.support.scanhelp import mail_in, mail_out, mailer, write_config, write_mbox

ENV = {"MAILER_NOW": "2026-03-04T06:30:00Z"}
RULES = {"jitter": "0d"}  # seed_window 90d, dormancy 1y, one_sided_after 3: the defaults
TIERS = {"inner": "30d", "network": "90d", "loose": "180d"}


def history() -> list[tuple[str, bytes, datetime]]:
    """Seven people; what the rules make of each is said next to them."""
    mail: list[tuple[str, bytes, datetime]] = []

    def inbound(name: str, addr: str, days_ago: int, n: int) -> None:
        when = NOW - timedelta(days=days_ago)
        mail.append(("INBOX", mail_in(name, addr, when, n), when))

    def outbound(addr: str, days_ago: int, n: int) -> None:
        when = NOW - timedelta(days=days_ago)
        mail.append(("Sent", mail_out(addr, when, n), when))

    # dora: new, one mail each way, ours last -> a seed to triage
    inbound("Dora Lux", "dora@d.example", 21, 1)
    outbound("dora@d.example", 20, 1)
    # sami: newer still, theirs last (a reply owed, and a seed to triage all the same)
    inbound("Sami Ray", "sami@s.example", 6, 1)
    outbound("sami@s.example", 5, 1)
    inbound("Sami Ray", "sami@s.example", 3, 2)
    # vera: two-way but first seen 200 days ago, outside the seed window -> an older
    # untriaged seed: judged like an active contact, still offered for triage (last)
    inbound("Vera Old", "vera@v.example", 200, 1)
    outbound("vera@v.example", 199, 1)
    # carl: one-way -> not listed
    inbound("Carl One", "carl@c.example", 10, 1)
    # olaf: established (2 each way over 300 days), nothing for 400 days -> dormant
    for n, days_ago in ((1, 700), (2, 400)):
        inbound("Olaf Ek", "olaf@o.example", days_ago + 1, n)
        outbound("olaf@o.example", days_ago, n)
    # uma: established, then four mails of ours since her last (201 days ago) -> one-sided
    for n, days_ago in ((1, 300), (2, 200)):
        inbound("Uma Sol", "uma@u.example", days_ago + 1, n)
        outbound("uma@u.example", days_ago, n)
    for n, days_ago in ((3, 30), (4, 20), (5, 10)):
        outbound("uma@u.example", days_ago, n)
    # anna: established and recent -> active, not due, no weed candidate
    for n, days_ago in ((1, 100), (2, 30)):
        inbound("Anna Berg", "anna@a.example", days_ago + 1, n)
        outbound("anna@a.example", days_ago, n)
    return mail


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store after importing `history()`, built once and copied per test."""
    tmp = tmp_path_factory.mktemp("triage")
    write_mbox(tmp / "history.mbox", history())
    config = write_config(tmp, None, rules=RULES, **{"rules.tiers": TIERS})
    out = mailer(config, "import", "mbox", str(tmp / "history.mbox"), env=ENV)
    assert out.returncode == 0, out.stderr
    return tmp / "mailer.json"


@pytest.fixture
def config(imported: Path, tmp_path: Path) -> Path:
    for part in imported.parent.glob(imported.name + "*"):  # and the files beside it
        shutil.copy(part, tmp_path / part.name.replace(imported.name, "mailer.json", 1))
    return write_config(tmp_path, None, rules=RULES, **{"rules.tiers": TIERS})


def run(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`mailer` at NOW, with `stdin` as the answers to its prompts."""
    return subprocess.run(
        [sys.executable, "-m", "mailer", "--config", str(config), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
        timeout=60,
        check=False,
    )


def ok(config: Path, *args: str, stdin: str = "") -> str:
    out = run(config, *args, stdin=stdin)
    assert out.returncode == 0, out.stderr
    return out.stdout


def as_json(config: Path, *args: str) -> list[dict[str, Any]]:
    return list(json.loads(ok(config, *args, "--format", "json")))


def contacts(config: Path) -> dict[str, dict[str, Any]]:
    return {r["email"]: r for r in as_json(config, "contacts", "list", "--all")}


def stored(config: Path, email: str) -> tuple[str, str | None]:
    """The stored status and weeded_from (the listing shows the rules' status)."""
    c = Store(config.parent / "mailer.json").contact(email)
    assert c is not None
    return c.status, c.weeded_from


def days_ago(n: int) -> str:
    return (NOW - timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- seed ----------------------------------------------------------------------------------


def test_seed_lists_new_two_way_contacts_newest_first(config: Path) -> None:
    assert as_json(config, "seed") == [
        {
            "email": "sami@s.example",
            "name": "Sami Ray",
            "first_seen": days_ago(6),
            "last_contact": days_ago(3),
            "messages_in": 2,
            "messages_out": 1,
            "last_subject": "note 2 from Sami Ray",
            "triage": "mailer seed --set sami@s.example --tier network",
        },
        {
            "email": "dora@d.example",
            "name": "Dora Lux",
            "first_seen": days_ago(21),
            "last_contact": days_ago(20),
            "messages_in": 1,
            "messages_out": 1,
            "last_subject": "Re: note 1",
            "triage": "mailer seed --set dora@d.example --tier network",
        },
        {
            "email": "vera@v.example",
            "name": "Vera Old",
            "first_seen": days_ago(200),
            "last_contact": days_ago(199),
            "messages_in": 1,
            "messages_out": 1,
            "last_subject": "Re: note 1",
            "triage": "mailer seed --set vera@v.example --tier network",
        },
    ]
    table = ok(config, "seed").splitlines()
    assert table[0].split() == [
        "EMAIL",
        "NAME",
        "FIRST_SEEN",
        "LAST_CONTACT",
        "MESSAGES_IN",
        "MESSAGES_OUT",
        "LAST_SUBJECT",
        "TRIAGE",
    ]
    assert [line.split()[0] for line in table[1:]] == [
        "sami@s.example",
        "dora@d.example",
        "vera@v.example",
    ]
    assert table[2].endswith("mailer seed --set dora@d.example --tier network")
    csv = ok(config, "seed", "--format", "csv").splitlines()
    assert csv[0].startswith("email,name,first_seen") and len(csv) == 4


def test_triage_prompts_save_each_answer_and_ignore(config: Path) -> None:
    # sami: a wrong tier is asked again; then tier, tags, a wrong trust, trust. dora: ignore.
    # vera: skipped.
    out = ok(config, "seed", "--triage", stdin="bogus\nnetwork\nai, Berlin\n7\n2\ni\ns\n")
    assert "[1/3] Sami Ray <sami@s.example>" in out
    assert "first exchange 2026-02-26, last 2026-03-01 (3 days ago)" in out
    assert "2 from them, 1 from you; trust 0" in out
    assert 'last subject: "note 2 from Sami Ray"' in out
    assert "'bogus' is not a tier (configured: inner, network, loose)" in out
    assert "saved: tier network, now active" in out
    assert "saved: tags ai, berlin" in out
    assert "trust is 0, 1, 2 or 3" in out
    assert "saved: trust 2" in out
    assert "[2/3] Dora Lux <dora@d.example>" in out
    assert "saved: ignored" in out
    assert out.rstrip().endswith("1 triaged, 1 ignored, 1 skipped")

    people = contacts(config)
    sami = people["sami@s.example"]
    assert (sami["status"], sami["tier"], sami["tags"], sami["trust"]) == (
        "active",
        "network",
        ["ai", "berlin"],
        2,
    )
    assert people["dora@d.example"]["status"] == "ignored"
    assert [r["email"] for r in as_json(config, "seed")] == ["vera@v.example"]
    ok(config, "seed", "--set", "vera@v.example", "--ignore")
    assert ok(config, "seed").strip() == "no new contacts to triage"
    assert as_json(config, "seed") == []


def test_triage_skip_quit_and_end_of_input_change_nothing(config: Path) -> None:
    before = contacts(config)
    out = ok(config, "seed", "--triage", stdin="s\nq\n")
    assert out.rstrip().endswith("0 triaged, 0 ignored, 1 skipped, 2 not asked")
    # Enter at every prompt of sami, then the input ends at dora's first
    out = ok(config, "seed", "--triage", stdin="\n\n\n")
    assert "still a seed (no tier or tags)" in out
    assert out.rstrip().endswith("0 triaged, 0 ignored, 1 skipped, 2 not asked")
    assert contacts(config) == before
    assert [r["email"] for r in as_json(config, "seed")] == [
        "sami@s.example",
        "dora@d.example",
        "vera@v.example",
    ]


def test_seed_set_triages_without_prompts(config: Path) -> None:
    out = ok(config, "seed", "--set", "Dora", "--tier", "inner", "--tags", "x, Y", "--trust", "3")
    assert out == "dora@d.example: tier inner, tags x, y, trust 3, now active\n"
    assert ok(config, "seed", "--set", "sami@s.example", "--ignore") == "sami@s.example: ignored\n"
    people = contacts(config)
    dora = people["dora@d.example"]
    assert (dora["status"], dora["tier"], dora["tags"], dora["trust"]) == (
        "active",
        "inner",
        ["x", "y"],
        3,
    )
    assert stored(config, "dora@d.example")[0] == "active"
    assert people["sami@s.example"]["status"] == "ignored"
    assert [r["email"] for r in as_json(config, "seed")] == ["vera@v.example"]


# --- weed ----------------------------------------------------------------------------------


def test_weed_lists_dormant_and_one_sided_with_the_evidence(config: Path) -> None:
    rows = as_json(config, "weed")
    assert [(r["kind"], r["email"]) for r in rows] == [
        ("dormant", "olaf@o.example"),  # the most stale first
        ("one_sided", "uma@u.example"),
    ]
    olaf, uma = rows
    assert olaf["last_contact"] == days_ago(400) and olaf["days_since"] == 400
    assert olaf["reason"] == (
        "no exchange since 2025-01-28 (400 days ago); dormancy 365d; "
        "2 from them and 2 from you before"
    )
    assert olaf["lane"] == "rekindle" and uma["lane"] == "one_sided"
    assert uma["last_contact"] == days_ago(10) and uma["days_since"] == 10
    assert uma["outbound_unanswered"] == 4
    assert uma["reason"] == "4 messages to them unanswered since their last on 2025-08-15"
    table = ok(config, "weed")
    assert "no exchange since 2025-01-28 (400 days ago)" in table
    assert "4 messages to them unanswered" in table

    # snoozed under weed means "ask me again later", as in the digest
    ok(config, "contacts", "set", "olaf@o.example", "--snooze", "3m")
    assert [r["email"] for r in as_json(config, "weed")] == ["uma@u.example"]


def test_weed_apply_prunes_and_undo_restores_the_exact_status(config: Path) -> None:
    ok(config, "contacts", "set", "uma@u.example", "--status", "active")  # stored "active"
    assert stored(config, "olaf@o.example") == ("seed", None)  # dormant by the rules
    assert {"olaf@o.example", "uma@u.example"} <= {r["email"] for r in as_json(config, "due")}

    out = ok(config, "weed", "--apply", "olaf@o.example", "Uma Sol", "anna@a.example", "olaf")
    assert out.splitlines() == [
        "olaf@o.example: weeded (was dormant); dormant: no exchange since 2025-01-28 "
        "(400 days ago); dormancy 365d; 2 from them and 2 from you before",
        "uma@u.example: weeded (was active); one-sided: 4 messages to them unanswered "
        "since their last on 2025-08-15",
        "anna@a.example: weeded (was active); not a weed candidate: weeded on your word",
    ]
    gone = {"olaf@o.example", "uma@u.example", "anna@a.example"}
    assert not gone & {r["email"] for r in as_json(config, "due")}
    people = contacts(config)
    assert all(people[e]["status"] == "weeded" for e in gone)
    assert stored(config, "olaf@o.example") == ("weeded", "seed")
    assert stored(config, "uma@u.example") == ("weeded", "active")
    assert ok(config, "weed").strip() == "nothing to weed"
    assert ok(config, "weed", "--apply", "olaf") == "olaf@o.example: already weeded\n"

    out = ok(config, "weed", "--undo", "olaf", "uma@u.example", "anna@a.example", "dora")
    assert out.splitlines() == [
        "olaf@o.example: dormant again",
        "uma@u.example: active again",
        "anna@a.example: active again",
        "dora@d.example: not weeded (seed); nothing to undo",
    ]
    assert stored(config, "olaf@o.example") == ("seed", None)
    assert stored(config, "uma@u.example") == ("active", None)
    assert stored(config, "anna@a.example") == ("seed", None)
    assert [r["email"] for r in as_json(config, "weed")] == ["olaf@o.example", "uma@u.example"]

    # weeded some other way (no status kept): undo makes the contact active
    ok(config, "contacts", "set", "dora@d.example", "--status", "weeded")
    out = ok(config, "weed", "--undo", "dora@d.example")
    assert out == "dora@d.example: active again (no status was kept)\n"
    assert stored(config, "dora@d.example") == ("active", None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("weed", "--apply", "olaf", "nobody@x.example"), "no contact 'nobody@x.example'"),
        (("weed", "--undo", "nobody@x.example"), "no contact 'nobody@x.example'"),
        (("weed", "olaf"), "WHO goes with --apply or --undo"),
        (("weed", "--apply"), "--apply needs at least one WHO"),
        (("seed", "--set", "nobody@x.example", "--tier", "network"), "no contact"),
        (("seed", "--set", "sami", "--tier", "nope"), "'nope' is not a tier"),
        (("seed", "--tier", "inner"), "go with --set WHO"),
        (("seed", "--set", "sami"), "nothing to set"),
    ],
)
def test_usage_errors_are_one_line_and_change_nothing(
    config: Path, args: tuple[str, ...], message: str
) -> None:
    before = contacts(config)
    out = run(config, *args)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1 and message in out.stderr
    assert "Traceback" not in out.stderr
    assert contacts(config) == before  # olaf was not weeded before the unknown name stopped it


# --- what the rules say, shown ---------------------------------------------------------------


def test_show_and_preview_say_the_lane_and_keep_the_context_out_of_the_draft(
    config: Path,
) -> None:
    ok(config, "contacts", "set", "olaf@o.example", "--notes", "owes me a book", "--tags", "golf")
    (olaf,) = as_json(config, "contacts", "show", "olaf@o.example")
    assert (olaf["lane"], olaf["status"]) == ("rekindle", "dormant")
    assert olaf["reason"].startswith("no exchange since 2025-01-28 (400 days ago)")
    assert 0 <= olaf["strength"] <= 100 and olaf["rhythm"] == "too little history"
    assert len(olaf["history"].split()[0]) == 24  # the sparkline of 24 months
    table = ok(config, "contacts", "show", "olaf")
    assert "lane" in table and "rekindle" in table

    out = ok(config, "drafts", "preview", "olaf@o.example")
    context, _, draft = out.partition("\nTo: ")
    assert context.startswith("For you, not in the draft (rekindle):")
    assert "notes: owes me a book" in context and "tags: golf" in context
    assert "It must be about a year since we last wrote" in draft
    assert "book" not in draft and "golf" not in draft


def test_contacts_list_shows_relationships_and_all_shows_everyone(config: Path) -> None:
    default = {r["email"]: r for r in as_json(config, "contacts", "list")}
    everyone = {r["email"]: r for r in as_json(config, "contacts", "list", "--all")}
    assert "carl@c.example" not in default  # he wrote once, we never did
    assert everyone["carl@c.example"]["lane"] == "inbound_only"
    assert set(default) < set(everyone)
    assert all(r["messages_in"] and r["messages_out"] for r in default.values())
    lanes = {r["email"]: r["lane"] for r in everyone.values()}
    assert lanes == {
        "anna@a.example": "quiet",
        "carl@c.example": "inbound_only",
        "dora@d.example": "new",
        "olaf@o.example": "rekindle",
        "sami@s.example": "new",
        "uma@u.example": "one_sided",
        "vera@v.example": "due",
    }
    only = as_json(config, "contacts", "list", "--lane", "inbound_only")
    assert [r["email"] for r in only] == ["carl@c.example"]
