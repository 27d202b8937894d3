"""`mailer seed` and `mailer weed`: new contacts to sort, stale ones to prune."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import click

from mailer import clock
from mailer.cli.base import (
    Ctx,
    check_trust,
    cli,
    find_contact,
    format_option,
    pass_ctx,
    show,
    tier_name,
)
from mailer.core.contacts import tag_list
from mailer.errors import UsageError

SEED_COLUMNS = (
    "email",
    "name",
    "first_seen",
    "last_contact",
    "messages_in",
    "messages_out",
    "last_subject",
    "triage",
)
WEED_COLUMNS = (
    "kind",
    "email",
    "name",
    "last_contact",
    "days_since",
    "outbound_unanswered",
    "reason",
)


def _triage(
    store: Any,
    c: Any,
    *,
    tier: str | None = None,
    tags: tuple[str, ...] | None = None,
    trust: int | None = None,
    ignore: bool = False,
) -> tuple[Any, str]:
    """Save one triage answer now; the contact after it, and what was done.

    A tier or tags make the contact active (core.contacts.triage), as the emailed `tier`
    command does.
    """
    from mailer.core.contacts import triage

    changes: dict[str, Any] = {}
    said = []
    if ignore:
        changes["status"] = "ignored"
        said.append("ignored")
    if tier is not None:
        changes["tier"] = tier
        said.append(f"tier {tier}")
    if tags is not None:
        changes["tags"] = tags
        said.append("tags " + (", ".join(tags) or "(none)"))
    if trust is not None:
        changes["trust"] = trust
        said.append(f"trust {trust}")
    updated = store.change_contact(
        c.email, lambda was: triage(dataclasses.replace(was, **changes), tier=tier, tags=tags)
    )
    if updated.status == "active" and c.status != "active":
        said.append("now active")
    return updated, ", ".join(said)


def _seed_row(c: Any, tier: str) -> dict[str, Any]:
    import shlex

    return {
        "email": c.email,
        "name": c.name,
        "first_seen": c.first_seen,
        "last_contact": c.last_contact,
        "messages_in": c.messages_in,
        "messages_out": c.messages_out,
        "last_subject": c.last_subject,
        "triage": f"mailer seed --set {shlex.quote(c.email)} --tier {tier}",
    }


def _seed_facts(c: Any, now: datetime) -> list[str]:
    from mailer.model import parse_iso

    last = parse_iso(c.last_contact)
    ago = f" ({(now - last).days} days ago)" if last else ""
    facts = [
        f"first exchange {(c.first_seen or '?')[:10]}, last {(c.last_contact or '?')[:10]}{ago}",
        f"{c.messages_in} from them, {c.messages_out} from you; trust {c.trust}",
    ]
    if c.last_subject:
        facts.append(f'last subject: "{" ".join(c.last_subject.split())}"')
    return facts


def _ask(text: str) -> str:
    return str(click.prompt(f"  {text}", default="", show_default=False)).strip()


def _seed_walk(store: Any, seeds: list[Any], tiers: list[str], now: datetime) -> None:
    """Ask about each seed in turn; every answer is saved as soon as it is given."""
    from mailer.core.rules import triaged

    counts = {"triaged": 0, "ignored": 0, "skipped": 0}
    tier_choices = "/".join(tiers) if tiers else "a tier name"
    try:
        for n, c in enumerate(seeds, 1):
            click.echo(f"\n[{n}/{len(seeds)}] " + (f"{c.name} <{c.email}>" if c.name else c.email))
            for fact in _seed_facts(c, now):
                click.echo(f"  {fact}")
            while True:
                answer = _ask(f"tier ({tier_choices}; Enter none; i ignore, s skip, q quit)")
                if answer.lower() in ("", "i", "s", "q"):
                    break
                try:
                    answer = tier_name(answer, tiers)
                    break
                except UsageError as e:
                    click.echo(f"  {e}")
            if answer.lower() == "q":
                break
            if answer.lower() == "s":
                counts["skipped"] += 1
                continue
            if answer.lower() == "i":
                c, said = _triage(store, c, ignore=True)
                click.echo(f"  saved: {said}")
                counts["ignored"] += 1
                continue
            if answer:
                c, said = _triage(store, c, tier=answer)
                click.echo(f"  saved: {said}")
            tags = tag_list(_ask("tags (comma list; Enter none)"))
            if tags:
                c, said = _triage(store, c, tags=tags)
                click.echo(f"  saved: {said}")
            while True:
                text = _ask(f"trust 0-3 (Enter keeps {c.trust})")
                if text in ("", "0", "1", "2", "3"):
                    break
                click.echo("  trust is 0, 1, 2 or 3")
            if text and int(text) != c.trust:
                c, said = _triage(store, c, trust=int(text))
                click.echo(f"  saved: {said}")
            if triaged(c):
                counts["triaged"] += 1
            else:
                click.echo("  still a seed (no tier or tags)")
                counts["skipped"] += 1
    except click.Abort:  # end of input, or Ctrl-C at a prompt: what was saved stays
        click.echo("")
    left = len(seeds) - sum(counts.values())
    click.echo(
        f"{counts['triaged']} triaged, {counts['ignored']} ignored, {counts['skipped']} skipped"
        + (f", {left} not asked" if left else "")
    )


@cli.command()
@format_option
@click.option(
    "--triage", is_flag=True, help="walk the seeds one by one and ask for tier, tags and trust"
)
@click.option(
    "--set",
    "set_who",
    metavar="WHO",
    help="triage one contact without prompts (with --tier, --tags, --trust or --ignore)",
)
@click.option("--tier", help="with --set: the tier (one of rules.tiers); makes it active")
@click.option("--tags", help="with --set: comma-separated tags (replaces them); makes it active")
@click.option("--trust", type=int, callback=check_trust, help="with --set: trust, 0 to 3")
@click.option("--ignore", is_flag=True, help="with --set: ignore the contact (status ignored)")
@pass_ctx
def seed(
    obj: Ctx,
    fmt: str,
    triage: bool,
    set_who: str | None,
    tier: str | None,
    tags: str | None,
    trust: int | None,
    ignore: bool,
) -> None:
    """New two-way contacts waiting for triage, newest first, and the command to triage each."""
    from mailer.core.rules import seeds_to_triage
    from mailer.core.ruleset import suggested_tier

    app, now = obj.app, clock.now()
    rules = app.rules
    tiers = list(rules.tiers)
    given = tier is not None or tags is not None or trust is not None or ignore
    if set_who is None and given:
        raise UsageError("--tier, --tags, --trust and --ignore go with --set WHO")
    if set_who is not None:
        if triage:
            raise UsageError("give either --triage or --set WHO")
        if not given:
            raise UsageError("nothing to set", hint="give --tier, --tags, --trust or --ignore")
        if ignore and (tier is not None or tags is not None or trust is not None):
            raise UsageError("--ignore goes alone", hint="ignore, or set tier, tags and trust")
        contact = find_contact(obj, set_who)
        _, said = _triage(
            app.store,
            contact,
            tier=None if tier is None else tier_name(tier, tiers),
            tags=None if tags is None else tag_list(tags),
            trust=trust,
            ignore=ignore,
        )
        click.echo(f"{contact.email}: {said}")
        return
    seeds = seeds_to_triage(app.plan(now).lanes)
    if triage:
        if not seeds:
            click.echo("no new contacts to triage")
            return
        _seed_walk(app.store, seeds, tiers, now)
        return
    if fmt == "table" and not seeds:
        click.echo("no new contacts to triage")
        return
    suggested = suggested_tier(rules)
    show([_seed_row(c, suggested) for c in seeds], SEED_COLUMNS, fmt)


def _weed_row(j: Any, now: datetime) -> dict[str, Any]:
    from mailer.core.rules import weed_kind
    from mailer.model import parse_iso

    c = j.contact
    last = parse_iso(c.last_contact)
    return {
        "kind": weed_kind(j.lane),
        "lane": j.lane,
        "email": c.email,
        "name": c.name,
        "status": c.status,
        "last_contact": c.last_contact,
        "days_since": (now - last).days if last else None,
        "last_inbound": c.last_inbound,
        "outbound_unanswered": c.outbound_unanswered,
        "strength": j.strength,
        "reason": j.reason,
    }


def _weed_targets(people: list[Any], who: tuple[str, ...]) -> list[Any]:
    """Every WHO resolved before anything changes; the first unknown one is a usage error."""
    from mailer.core.naming import Resolver

    names = Resolver(people)
    found: dict[str, Any] = {}
    for w in who:
        try:
            c = names.find(w)
        except LookupError as e:
            raise UsageError(str(e)) from None
        found.setdefault(c.email, c)
    return list(found.values())


@cli.command()
@format_option
@click.option(
    "--apply",
    "apply_",
    is_flag=True,
    help="weed WHO...: status weeded, no drafts, never introduced (reversible with --undo)",
)
@click.option("--undo", is_flag=True, help="give WHO... back the status they had before --apply")
@click.argument("who", nargs=-1)
@pass_ctx
def weed(obj: Ctx, fmt: str, apply_: bool, undo: bool, who: tuple[str, ...]) -> None:
    """Dormant and one-sided contacts with the evidence, most stale first; --apply WHO prunes."""
    from mailer.core import contacts as people_core
    from mailer.core.rules import judge_all, weed_kind

    if apply_ and undo:
        raise UsageError("give either --apply or --undo")
    if (apply_ or undo) and not who:
        raise UsageError(f"{'--apply' if apply_ else '--undo'} needs at least one WHO")
    if who and not (apply_ or undo):
        raise UsageError("WHO goes with --apply or --undo", hint="mailer weed --apply WHO")
    app, now = obj.app, clock.now()
    store, rules = app.store, app.rules
    lanes = app.plan(now).lanes
    if not who:
        rows = [_weed_row(j, now) for j in lanes.values() if j.weed_candidate]
        rows.sort(key=lambda r: (r["last_contact"] or "", r["email"]))
        if fmt == "table" and not rows:
            click.echo("nothing to weed")
            return
        show(rows, WEED_COLUMNS, fmt)
        return

    def status_of(c: Any) -> str:
        return judge_all([c], [], rules, now)[c.email].status

    for c in _weed_targets([j.contact for j in lanes.values()], who):
        if undo:
            if c.status != "weeded":
                click.echo(f"{c.email}: not weeded ({lanes[c.email].status}); nothing to undo")
                continue
            restored = store.change_contact(c.email, people_core.unweed)
            known = restored.status == c.weeded_from  # unweed found a status to go back to
            back = status_of(restored)
            click.echo(f"{c.email}: {back} again" + ("" if known else " (no status was kept)"))
            continue
        if c.status == "weeded":
            click.echo(f"{c.email}: already weeded")
            continue
        # the stored status is kept (and restored), the rules' word on it is shown
        store.change_contact(c.email, people_core.weed)
        j = lanes[c.email]
        why = (
            f"{weed_kind(j.lane).replace('_', '-')}: {j.reason}"
            if j.weed_candidate
            else "not a weed candidate: weeded on your word"
        )
        click.echo(f"{c.email}: weeded (was {j.status}); {why}")
