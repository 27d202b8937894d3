"""`contacts list` filters, sorts and limits: the pure `core.listing`, then the CLI options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mailer.cli import cli
from mailer.core.listing import Query, select, sort_rows
from mailer.core.rules import NOTHING
from mailer.model import Contact
from mailer.store import Store
from tests.support.scanhelp import write_config

NOW = "2026-11-20T09:00:00Z"


def _row(email: str, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "email": email,
        "name": None,
        "status": "active",
        "lane": "quiet",
        "tier": None,
        "tags": [],
        "aliases": [],
        "notes": "",
        "last_contact": None,
        "next_due": None,
        "messages_in": 0,
        "messages_out": 0,
    }
    row.update(fields)
    return row


ROWS = [
    _row("a@x.example", name="Zed", tags=["ai", "berlin"], last_contact="2026-01-01T00:00:00Z"),
    _row("b@x.example", name="amy", tags=["ai"], tier="inner", messages_in=9, messages_out=1),
    _row(
        "c@x.example",
        tags=["AI", "berlin"],
        notes="met at PyCon",
        last_contact="2026-05-01T00:00:00Z",
    ),
    _row("d@x.example", name="Bo", aliases=["bo@old.example"], lane="due", status="seed"),
]


def _emails(rows: list[dict[str, Any]]) -> list[str]:
    return [r["email"] for r in rows]


def test_default_order_is_most_recent_contact_first() -> None:
    assert _emails(select(ROWS, Query())) == [
        "c@x.example",
        "a@x.example",
        "d@x.example",
        "b@x.example",
    ]
    assert _emails(select(ROWS, Query(reverse=True)))[0] == "b@x.example"


def test_tags_must_all_be_there_in_any_case() -> None:
    assert _emails(select(ROWS, Query(tags=("ai",)))) == [
        "c@x.example",
        "a@x.example",
        "b@x.example",
    ]
    assert _emails(select(ROWS, Query(tags=("ai", "Berlin")))) == ["c@x.example", "a@x.example"]


def test_tier_lane_status_filters() -> None:
    assert _emails(select(ROWS, Query(tier="INNER"))) == ["b@x.example"]
    assert _emails(select(ROWS, Query(lane="due"))) == ["d@x.example"]
    assert _emails(select(ROWS, Query(status="seed"))) == ["d@x.example"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("pycon", ["c@x.example"]),
        ("OLD.example", ["d@x.example"]),
        ("zed", ["a@x.example"]),
        ("berlin", ["c@x.example", "a@x.example"]),
        ("nobody", []),
    ],
)
def test_search_covers_name_email_aliases_tags_notes(text: str, found: list[str]) -> None:
    assert _emails(select(ROWS, Query(search=text))) == found


def test_sort_is_ascending_missing_values_last_either_way() -> None:
    assert _emails(sort_rows(ROWS, "name")) == [
        "b@x.example",
        "d@x.example",
        "a@x.example",
        "c@x.example",
    ]
    assert _emails(sort_rows(ROWS, "name", reverse=True)) == [
        "a@x.example",
        "d@x.example",
        "b@x.example",
        "c@x.example",
    ]
    assert _emails(sort_rows(ROWS, "last_contact"))[:2] == ["a@x.example", "c@x.example"]
    assert _emails(sort_rows(ROWS, "messages", reverse=True))[0] == "b@x.example"


def test_limit_after_sorting_and_bad_queries() -> None:
    assert _emails(select(ROWS, Query(sort="email", reverse=True, limit=2))) == [
        "d@x.example",
        "c@x.example",
    ]
    with pytest.raises(ValueError, match="cannot sort"):
        Query(sort="colour")


# --- through the CLI ----------------------------------------------------------------------


def _people() -> list[Contact]:
    def c(email: str, n: int, last: str, **kw: Any) -> Contact:
        return Contact(
            email=email,
            status="active",
            messages_in=n,
            messages_out=n,
            first_seen="2024-01-01T00:00:00Z",
            last_inbound=last,
            last_outbound=last,
            **kw,
        )

    return [
        c("ada@ai.example", 5, "2026-10-01T00:00:00Z", name="Ada", tags=("ai",), tier="inner"),
        c("ben@ai.example", 3, "2026-06-01T00:00:00Z", name="Ben", tags=("ai", "berlin")),
        c("cy@ai.example", 8, "2026-08-01T00:00:00Z", name="Cy", tags=("ai",), notes="robots"),
        c("dee@ai.example", 2, "2026-02-01T00:00:00Z", name="Dee", tags=("ai",)),
        c("eve@else.example", 4, "2026-11-01T00:00:00Z", name="Eve", tags=("music",)),
    ]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    Store(tmp_path / "mailer.json").insert_contacts(_people())
    return write_config(tmp_path, None, drafts={"maildir": str(tmp_path / "Drafts")})


def run(config: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], env={"MAILER_NOW": NOW})
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_tag_sort_limit_json(config: Path) -> None:
    out = json.loads(
        run(
            config,
            "contacts",
            "list",
            "--tag",
            "ai",
            "--sort",
            "last_contact",
            "--limit",
            "3",
            "--format",
            "json",
        )
    )
    assert [r["email"] for r in out] == ["dee@ai.example", "ben@ai.example", "cy@ai.example"]
    assert {
        "email",
        "name",
        "status",
        "tier",
        "tags",
        "trust",
        "last_contact",
        "next_due",
        "lane",
    } <= set(out[0])
    out = json.loads(
        run(
            config,
            "contacts",
            "list",
            "--tag",
            "ai",
            "--sort",
            "last_contact",
            "--reverse",
            "--limit",
            "1",
            "--format",
            "json",
        )
    )
    assert [r["email"] for r in out] == ["ada@ai.example"]


def test_cli_tier_search_tags_and_strength(config: Path) -> None:
    assert "ada@ai.example" in run(config, "contacts", "list", "--tier", "Inner")
    assert "ben" not in run(config, "contacts", "list", "--tier", "inner")
    out = run(config, "contacts", "list", "--search", "ROBOTS", "--format", "csv")
    assert out.splitlines()[1].startswith("cy@ai.example,")
    out = run(config, "contacts", "list", "--tag", "ai", "--tag", "berlin", "--format", "json")
    assert [r["email"] for r in json.loads(out)] == ["ben@ai.example"]
    table = run(config, "contacts", "list", "--sort", "strength", "--reverse")
    assert table.splitlines()[0].startswith("EMAIL")  # the table, sorted by a detail field


def test_cli_default_order_unchanged(config: Path) -> None:
    out = json.loads(run(config, "contacts", "list", "--format", "json"))
    assert [r["email"] for r in out] == [
        "eve@else.example",
        "ada@ai.example",
        "cy@ai.example",
        "ben@ai.example",
        "dee@ai.example",
    ]


def test_cli_bad_sort_is_a_usage_error(config: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--config", str(config), "contacts", "list", "--sort", "colour"]
    )
    assert result.exit_code == 2


def test_a_short_command_runs_without_the_cyclic_collector_and_gives_it_back(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`contacts list` judges without the collector (it walked every contact read again
    and again); the process's setting comes back after it; the daemon keeps it."""
    import gc

    from mailer.app import App
    from mailer.cli.base import COLLECTING

    seen: list[bool] = []
    real = App.contact_rows
    monkeypatch.setattr(
        App,
        "contact_rows",
        lambda self, *a, **k: seen.append(gc.isenabled()) or real(self, *a, **k),
    )
    assert gc.isenabled()
    assert "ada@ai.example" in run(config, "contacts", "list")
    assert seen == [False] and gc.isenabled()
    assert {"run", "web"} == COLLECTING


def test_the_default_listing_is_exactly_the_judged_relationships(tmp_path: Path) -> None:
    """`contacts list` leaves out, before judging them, those who can never be listed
    (neither two-way nor triaged); what it shows is still exactly `Judgement.listed`."""
    from datetime import datetime

    from mailer.app import App
    from mailer.config import load
    from mailer.core.rules import judge

    t = "2026-06-01T00:00:00Z"
    people = [
        *_people(),
        Contact(email="in@x.example", messages_in=3, last_inbound=t),  # inbound only
        Contact(email="out@x.example", messages_out=2, last_outbound=t),  # unanswered
        Contact(email="tagged@x.example", messages_out=1, last_outbound=t, tags=("ai",)),
        Contact(email="met@x.example", last_logged=t),  # an exchange the owner logged
        Contact(email="weeded@x.example", status="weeded", messages_in=1, last_inbound=t),
        Contact(email="inbound-tier@x.example", messages_in=1, last_inbound=t, tier="inner"),
    ]
    Store(tmp_path / "mailer.json").insert_contacts(people)
    app = App(load(str(write_config(tmp_path, None))))
    now = datetime.fromisoformat(NOW)
    everyone = app.contact_rows(now)
    listed = app.contact_rows(now, listed_only=True)
    by_email = {c.email: c for c in people}
    expected = [r for r in everyone if judge(by_email[r["email"]], NOTHING, app.rules, now).listed]
    assert listed == expected
    assert {r["email"] for r in listed} == {
        *(c.email for c in _people()),
        "tagged@x.example",
        "met@x.example",
        "weeded@x.example",
    }
