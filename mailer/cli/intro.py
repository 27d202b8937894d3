"""`mailer intro ...`: introductions between two trusted contacts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from mailer import clock
from mailer.cli.base import Ctx, cli, format_option, pass_ctx, show

INTRO_COLUMNS = ("a", "b", "state", "asked", "answers", "outcome", "note")
SUGGEST_COLUMNS = ("a", "b", "score", "why", "warnings")


@cli.group()
def intro() -> None:
    """Introductions between two trusted contacts, each side asked first (double opt-in)."""


def _intro_row(i: Any) -> dict[str, Any]:
    return {
        "a": i.a,
        "b": i.b,
        "state": i.state,
        "asked": i.asked_at,
        "answers": f"{i.answer_a or '-'} / {i.answer_b or '-'}",
        "answer_a": i.answer_a,
        "answer_b": i.answer_b,
        "direct": i.direct,
        "introduced_at": i.introduced_at,
        "closed_at": i.closed_at,
        "outcome": i.outcome,
        "outcome_note": i.outcome_note,
        "note": i.note,
    }


def _write_intro_drafts(obj: Ctx, now: datetime) -> None:
    from mailer import intros

    with obj.app.drafts_target() as target:
        for outcome in intros.write_pending(obj.app, target, now):
            item = outcome.prepared.item
            click.echo(f"{outcome.action}: {item.kind} to {item.email} ({item.key})")


@intro.command("suggest")
@format_option
@click.option(
    "--limit", type=click.IntRange(1, 1000), help="how many (default intros.suggest_limit)"
)
@pass_ctx
def intro_suggest(obj: Ctx, fmt: str, limit: int | None) -> None:
    """Pairs worth introducing, best first, each with why (shared tags, trust, last contact)."""
    from mailer import intros

    rows = [
        {
            "a": s.a.email,
            "b": s.b.email,
            "a_name": s.a.name,
            "b_name": s.b.name,
            "score": s.score,
            "shared": list(s.shared),
            "complementary": [list(p) for p in s.complements],
            "why": s.why,
            "warnings": list(s.warnings),
        }
        for s in intros.suggest(obj.app, clock.now(), limit)
    ]
    if not rows and fmt == "table":
        click.echo("no suggestions: introductions need tags and trust >= intros.min_trust on both")
        return
    show(rows, SUGGEST_COLUMNS, fmt)


@intro.command("list")
@format_option
@click.option("--open", "open_only", is_flag=True, help="only those waiting for answers")
@pass_ctx
def intro_list(obj: Ctx, fmt: str, open_only: bool) -> None:
    """Every introduction and where it stands: asked, introduced, declined or expired."""
    from mailer import intros

    rows = [_intro_row(i) for i in intros.listing(obj.app, clock.now())]
    if open_only:
        rows = [r for r in rows if r["state"] == "asked"]
    show(rows, INTRO_COLUMNS, fmt)


@intro.command("ask")
@click.argument("a")
@click.argument("b")
@click.option("--note", default="", help="why they should meet (goes into both drafts)")
@click.option(
    "--direct",
    is_flag=True,
    help="introduce at once without asking (needs intros.allow_direct and trust 3 on both)",
)
@pass_ctx
def intro_ask(obj: Ctx, a: str, b: str, note: str, direct: bool) -> None:
    """Ask A about meeting B and B about meeting A: one intro_request draft to each."""
    from mailer import intros

    now = clock.now()
    found, new = intros.ask(obj.app, a, b, now, note=note, direct=direct)
    what = "introduced directly" if found.direct else "asked"
    click.echo(f"{found.a} and {found.b}: {what if new else 'already ' + found.state}")
    _write_intro_drafts(obj, now)


@intro.command("answer")
@click.argument("a")
@click.argument("b")
@click.argument("answer", type=click.Choice(("yes", "no")))
@click.option("--by", "by", required=True, help="who answered (A or B)")
@pass_ctx
def intro_answer(obj: Ctx, a: str, b: str, answer: str, by: str) -> None:
    """Record one side's answer; when both said yes, the introduction draft is written."""
    from mailer import intros

    now = clock.now()
    found = intros.answer(obj.app, a, b, answer, by, now)
    answers = f"{found.answer_a or '-'} / {found.answer_b or '-'}"
    click.echo(f"{found.a} and {found.b}: {found.state} ({answers})")
    _write_intro_drafts(obj, now)


@intro.command("outcome")
@click.argument("a")
@click.argument("b")
@click.argument("result", type=click.Choice(("good", "bad")))
@click.option("--note", default="", help="what happened")
@pass_ctx
def intro_outcome(obj: Ctx, a: str, b: str, result: str, note: str) -> None:
    """Record how an introduction went (a bad one shows on both and in suggestions)."""
    from mailer import intros

    found = intros.outcome(obj.app, a, b, result, note, clock.now())
    click.echo(f"{found.a} and {found.b}: {found.outcome}")
