"""Output for a person at a terminal: tables fitted to its width, whole cells when piped,
and the commands that print data (`drafts list`, `status`, `--format json` everywhere)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mailer import output
from mailer.cli import cli
from mailer.core.drafted import draft_rows, draft_state
from mailer.model import Contact, DraftRecord
from mailer.output import render, table
from mailer.store import Store
from tests.support.scanhelp import write_config

NOW = "2026-11-20T09:00:00Z"
REASON = (
    "you usually write every ~4 months; it has been 9 months (last 2026-02-11); "
    "due after 90d (rhythm: 3 x ~4 months, at most the default 90d)"
)
ROWS = [
    {"kind": "reconnect", "email": "t.nowak@contoso.example", "reason": REASON, "n": 3},
    {"kind": "seed", "email": "a@x.example", "reason": "short", "n": None},
]


def test_piped_tables_print_every_cell_whole() -> None:
    long_name = "Maximiliane Theodora von Hohenzollern-Sigmaringen"  # over 40 characters
    text = table([{"name": long_name, "reason": REASON, "n": 1}], ["name", "reason", "n"])
    assert long_name in text and REASON in text and "…" not in text


def test_a_terminal_table_fits_and_its_last_wide_column_wraps() -> None:
    text = table(ROWS, ["kind", "email", "reason", "n"], 80)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert len(lines) > 3  # the reason took several lines
    start = lines[0].index("REASON")
    end = lines[0].index("N", start + len("REASON"))
    words = " ".join(line[start:end].strip() for line in lines[1:-1])
    assert words == REASON  # wrapped, nothing lost
    assert lines[1].endswith("  3") and lines[-1].startswith("seed") and lines[-1].endswith(" -")


def test_a_terminal_wide_enough_changes_nothing() -> None:
    assert table(ROWS, ["kind", "email", "reason", "n"], 500) == table(
        ROWS, ["kind", "email", "reason", "n"]
    )


def test_a_narrow_terminal_cuts_other_wide_columns_before_squeezing_the_wrap() -> None:
    rows = [{"subject": "s" * 60, "why": "w " * 40}]
    lines = table(rows, ["subject", "why"], 70).splitlines()
    assert lines[1].startswith("s" * 39 + "…")
    assert all(len(line) <= 70 for line in lines)


def test_render_asks_the_terminal_only_for_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output, "terminal_width", lambda: 60)
    assert all(
        len(line) <= 60 for line in render(ROWS, ["kind", "email", "reason"], "table").splitlines()
    )
    assert REASON in render(ROWS, ["kind", "email", "reason"], "csv")
    assert REASON in render(ROWS, ["kind", "reason", "email"], "table", width=None)


# --- through the CLI, on a store made here --------------------------------------------------


def _contact(email: str, name: str, last: str, n: int = 4, **kw: Any) -> Contact:
    return Contact(
        email=email,
        name=name,
        status="active",
        messages_in=n,
        messages_out=n,
        first_seen="2024-01-01T00:00:00Z",
        last_inbound=last,
        last_outbound=last,
        **kw,
    )


PEOPLE = [
    _contact(
        "ann@berlin.example",
        "Ann",
        "2026-10-01T00:00:00Z",
        tags=("berlin", "ai"),
        trust=3,
        tier="inner",
    ),
    _contact(
        "bo@berlin.example", "Bo", "2026-09-01T00:00:00Z", tags=("berlin",), trust=3, tier="network"
    ),
    _contact("cy@old.example", "Cy", "2026-01-05T00:00:00Z", tier="network"),
    _contact("di@new.example", "Di", "2026-11-01T00:00:00Z", months="2025-02:1:1 2026-11:2:1"),
]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    Store(tmp_path / "mailer.json").insert_contacts(PEOPLE)
    return write_config(tmp_path, None, drafts={"maildir": str(tmp_path / "Drafts")})


def run(config: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], env={"MAILER_NOW": NOW})
    assert result.exit_code == code, result.output
    return result.output


def test_intro_suggest_shows_why_whole(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (s,) = json.loads(run(config, "intro", "suggest", "--format", "json"))
    assert len(s["why"]) > 40
    assert s["why"] in run(config, "intro", "suggest")  # piped: whole
    monkeypatch.setattr(output, "terminal_width", lambda: 200)
    assert s["why"] in run(config, "intro", "suggest")  # it fits 200 columns: whole


# --- drafts list ------------------------------------------------------------------------------


def _rec(kind: str = "reconnect", at: str = "2026-11-01T08:00:00Z", **kw: Any) -> DraftRecord:
    return DraftRecord(
        key=f"{kind}:a@x.example:2026-10-01", email="a@x.example", kind=kind, written_at=at, **kw
    )


LOOK = "2026-11-05T08:00:00Z"


@pytest.mark.parametrize(
    ("record", "open_keys", "looked", "out", "state"),
    [
        (_rec(), {"reconnect:a@x.example:2026-10-01"}, LOOK, None, "in_drafts"),
        (_rec(), set(), LOOK, None, "deleted"),
        (_rec(), set(), LOOK, "2026-11-03T00:00:00Z", "sent"),
        (_rec(), set(), LOOK, "2026-10-03T00:00:00Z", "deleted"),  # sent before the draft
        (_rec(), set(), "2026-11-01T08:00:00Z", None, "in_drafts"),  # written at the last look
        (_rec(), set(), None, None, "deleted"),
        # still seen in Drafts after their mail: the owner wrote some other way
        (_rec(), {"reconnect:a@x.example:2026-10-01"}, LOOK, "2026-11-03T00:00:00Z", "in_drafts"),
        # sent after the last look that saw it: sent
        (_rec(), {"reconnect:a@x.example:2026-10-01"}, LOOK, "2026-11-06T00:00:00Z", "sent"),
        (_rec(error="bad address"), set(), LOOK, None, "not_written"),
        (_rec("intro_request"), set(), LOOK, None, "written"),
        (_rec("intro_request"), set(), LOOK, "2026-11-02T00:00:00Z", "sent"),
        (_rec("digest"), set(), LOOK, None, "delivered"),
    ],
)
def test_draft_states(
    record: DraftRecord, open_keys: set[str], looked: str | None, out: str | None, state: str
) -> None:
    assert draft_state(record, open_keys, looked, out) == state


def test_draft_rows_newest_first_with_the_contacts_name() -> None:
    older, newer = _rec(at="2026-10-01T08:00:00Z"), _rec("seed", subject="Hi")
    rows = draft_rows(
        [older, newer], {"a@x.example": Contact(email="a@x.example", name="A")}, set(), LOOK
    )
    assert [(r["kind"], r["to"], r["name"], r["subject"], r["state"]) for r in rows] == [
        ("seed", "a@x.example", "A", "Hi", "deleted"),
        ("reconnect", "a@x.example", "A", None, "deleted"),
    ]


def test_drafts_list_shows_what_drafts_run_wrote(config: Path, tmp_path: Path) -> None:
    assert run(config, "drafts", "list") == "no drafts written yet\n"
    assert "written: reconnect to cy@old.example" in run(config, "drafts", "run")
    rows = json.loads(run(config, "drafts", "list", "--format", "json"))
    (row,) = [r for r in rows if r["to"] == "cy@old.example"]
    assert row["to"] == "cy@old.example" and row["state"] == "in_drafts" and row["subject"]
    assert {"written_at", "kind", "to", "name", "subject", "state", "key", "folder"} <= set(row)
    table = run(config, "drafts", "list")
    assert table.splitlines()[0].split() == ["WRITTEN_AT", "KIND", "TO", "STATE", "SUBJECT"]
    assert "cy@old.example" in table and "in_drafts" in table
    # deleted from the folder: the next look (a day later) says so
    for f in (tmp_path / "Drafts").rglob("*"):
        if f.is_file():
            f.unlink()
    later = CliRunner().invoke(
        cli, ["--config", str(config), "drafts", "run"], env={"MAILER_NOW": "2026-11-21T09:00:00Z"}
    )
    assert later.exit_code == 0, later.output
    gone = json.loads(run(config, "drafts", "list", "--format", "json", "--state", "deleted"))
    assert len(gone) == len(rows) and {r["state"] for r in gone} == {"deleted"}
    assert run(config, "drafts", "list", "--state", "sent") == "no drafts in that state\n"


# --- --format json on the commands that print data, status's tiers, contacts show --------------


def test_status_shows_lanes_per_tier(config: Path) -> None:
    stats = json.loads(run(config, "status", "--format", "json"))
    by_tier = stats["lanes_by_tier"]
    assert list(by_tier) == ["inner", "network", "-"]  # tiers by name, untiered last
    assert sum(n for row in by_tier.values() for n in row.values()) == len(PEOPLE)
    assert by_tier["network"] == {"due": 1, "quiet": 1}  # cy is due, bo is not
    text = run(config, "status")
    (head,) = [line for line in text.splitlines() if line.strip().startswith("TIER")]
    assert head.split()[0] == "TIER" and head.split()[-1] == "TOTAL" and "DUE" in head.split()
    assert any(line.split()[:1] == ["network"] for line in text.splitlines())


def test_contacts_show_has_the_sparkline_and_rhythm(config: Path) -> None:
    text = run(config, "contacts", "show", "di@new.example")
    (history,) = [line for line in text.splitlines() if line.startswith("history")]
    assert "(24 months to 2026-11)" in history
    spark = history.split()[1]
    assert len(spark) == 24 and spark[-1] != spark[0]  # a mark this month, none two years ago
    assert any(line.startswith("rhythm") for line in text.splitlines())
    (row,) = json.loads(run(config, "contacts", "show", "di@new.example", "--format", "json"))
    assert row["history"].startswith(spark) and "rhythm" in row and row["email"] == "di@new.example"


@pytest.mark.parametrize(
    "args",
    [
        ("due",),
        ("intro", "suggest"),
        ("intro", "list"),
        ("contacts", "list"),
        ("drafts", "list"),
        ("seed",),
        ("weed",),
        ("commands", "list"),
    ],
)
def test_list_commands_print_json_arrays(config: Path, args: tuple[str, ...]) -> None:
    assert isinstance(json.loads(run(config, *args, "--format", "json")), list)


def test_report_commands_print_one_json_object(config: Path, tmp_path: Path) -> None:
    digest = json.loads(run(config, "digest", "preview", "--format", "json"))
    assert {"subject", "body", "since", "empty", "summary", "sections"} <= set(digest)
    assert digest["sections"]["due"]["total"] >= 1
    assert f"Subject: {digest['subject']}\n\n{digest['body']}" == run(config, "digest", "preview")
    dry = json.loads(run(config, "drafts", "run", "--dry-run", "--format", "json"))
    assert dry["dry_run"] and dry["scan"] is None and dry["drafts"]
    assert {"action", "kind", "email", "subject", "key", "reason", "body"} <= set(dry["drafts"][0])
    assert {d["action"] for d in dry["drafts"]} == {"would write"}
    done = json.loads(run(config, "drafts", "run", "--format", "json"))
    assert {d["action"] for d in done["drafts"]} == {"written"} and "body" not in done["drafts"][0]
    assert {"contacts", "lanes_by_tier", "contacts_by_lane", "jobs"} <= set(
        json.loads(run(config, "status", "--format", "json"))
    )


def test_import_prints_json(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from tests.support.mailgen import Mail, bulk, write_maildir

    when = datetime(2026, 1, 5, tzinfo=UTC)
    write_maildir(tmp_path / "Maildir", [Mail("INBOX", m, when) for m in bulk(20, contacts=3)])
    config = write_config(tmp_path, None)
    report = json.loads(
        run(config, "import", "maildir", str(tmp_path / "Maildir"), "--format", "json")
    )
    assert report["source"].startswith("maildir:")
    (inbox,) = [f for f in report["folders"] if f["folder"] == "INBOX"]
    assert inbox["fetched"] == 20 and set(inbox) >= {
        "new",
        "duplicates",
        "skipped",
        "failed",
        "error",
    }


def test_every_data_command_takes_format_json() -> None:
    from tests.unit.test_docs import _commands

    wanted = {
        "mailer scan",
        "mailer check",
        "mailer drafts run",
        "mailer drafts list",
        "mailer digest preview",
        "mailer status",
        "mailer due",
        "mailer contacts show",
        "mailer contacts list",
        "mailer intro suggest",
        "mailer intro list",
        "mailer import maildir",
        "mailer import mbox",
    }
    for path, cmd in _commands(cli):
        if path in wanted:
            (fmt,) = [p for p in cmd.params if p.name == "fmt"]
            assert "json" in fmt.type.choices, path  # type: ignore[attr-defined]
            wanted.discard(path)
    assert not wanted
