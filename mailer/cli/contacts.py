"""`mailer contacts ...`: list, show, set, merge, import and export contacts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from mailer import clock
from mailer.cli.base import (
    CONTACT_COLUMNS,
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
from mailer.core.listing import NEEDS_DETAIL, SORT_FIELDS, Query, select
from mailer.errors import UsageError
from mailer.model import LANES, STATUSES


@cli.group()
def contacts() -> None:
    """List, show and edit contacts."""


@contacts.command("list")
@format_option
@click.option("--status", type=click.Choice(STATUSES), help="only contacts with this status")
@click.option("--lane", type=click.Choice(LANES), help="only contacts in this lane")
@click.option("--tier", help="only contacts in this tier (any case)")
@click.option(
    "--tag", "tags", multiple=True, metavar="TAG", help="only contacts with this tag (repeat: all)"
)
@click.option(
    "--search",
    metavar="TEXT",
    help="only contacts whose name, address, aliases, tags or notes contain TEXT (any case)",
)
@click.option(
    "--sort",
    type=click.Choice(SORT_FIELDS),
    help="order by this field, ascending (default: most recent contact first)",
)
@click.option("--reverse", is_flag=True, help="the other way round (descending with --sort)")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="at most N contacts")
@click.option(
    "--all",
    "everyone",
    is_flag=True,
    help="everyone, also those you never wrote to (inbound-only) or never heard back from",
)
@pass_ctx
def contacts_list(
    obj: Ctx,
    fmt: str,
    status: str | None,
    lane: str | None,
    tier: str | None,
    tags: tuple[str, ...],
    search: str | None,
    sort: str | None,
    reverse: bool,
    limit: int | None,
    everyone: bool,
) -> None:
    """List your relationships (two-way, or triaged by you), most recent contact first."""

    query = Query(
        status=status,
        lane=lane,
        tier=tier,
        tags=tuple(t for tag in tags for t in tag_list(tag)),
        search=search,
        sort=sort,
        reverse=reverse,
        limit=limit,
    )
    rows = obj.app.contact_rows(
        clock.now(),
        listed_only=not (everyone or lane),
        detail=fmt != "table" or sort in NEEDS_DETAIL,
    )
    show(select(rows, query), CONTACT_COLUMNS, fmt)


@contacts.command("show")
@click.argument("who")
@format_option
@pass_ctx
def contacts_show(obj: Ctx, who: str, fmt: str) -> None:
    """Everything mailer knows of one contact."""
    from mailer.core import history
    from mailer.core.clean import clean_text
    from mailer.core.ruleset import about

    now = clock.now()
    contact = find_contact(obj, who)
    row = obj.app.contact_rows(now, [contact])[0]
    gap = row["rhythm_days"]
    row["rhythm"] = f"every ~{about(gap)}" if gap is not None else "too little history"
    store = obj.app.store
    months = store.history(contact.email)
    row["history"] = f"{history.sparkline(months, now)}  (24 months to {now:%Y-%m})"
    row["logged"] = [f"{e.when} {e.text}" for e in store.logged(contact.email)]
    row["intros"] = [
        f"with {i.other(contact.email)}: {i.state} {i.asked_at[:10]}"
        + (f", outcome {i.outcome}" + (f" ({i.outcome_note})" if i.outcome_note else ""))
        * bool(i.outcome)
        for i in store.intros()
        if contact.email in (i.a, i.b)
    ]
    if fmt == "table":
        width = max(len(k) for k in row)
        for k, v in row.items():
            value = ", ".join(v) if isinstance(v, list) else ("-" if v is None else v)
            if k in ("notes", "logged", "intros") and value:
                lines = value.splitlines() if k == "notes" else v
                value = ("\n" + " " * (width + 2)).join(lines)
            click.echo(f"{k.ljust(width)}  {clean_text(str(value))}")
    else:
        show([row], list(row), fmt)


BOOK_FORMATS = ("vcard", "csv")  # what mailer.addressbook reads and writes
_BOOK_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(BOOK_FORMATS),
    help="vcard or csv (default: from the file's extension .vcf/.vcard/.csv)",
)


@contacts.command("export")
@_BOOK_FORMAT
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    help="write to FILE instead of stdout (format from its extension, else vcard)",
)
@pass_ctx
def contacts_export(obj: Ctx, fmt: str | None, output: Path | None) -> None:
    """Write every contact as vCard (address books) or CSV (spreadsheets)."""
    from mailer import addressbook

    to_file = output is not None and str(output) != "-"
    count, used = addressbook.export(obj.app, output if to_file else None, fmt)
    if to_file:
        click.echo(f"wrote {count} contacts to {output} ({used})")


@contacts.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@_BOOK_FORMAT
@click.option("--dry-run", is_flag=True, help="show what would change, change nothing")
@pass_ctx
def contacts_import(obj: Ctx, file: Path, fmt: str | None, dry_run: bool) -> None:
    """Merge contacts from a vCard or CSV file by address: adds, updates, never duplicates."""
    from mailer import addressbook

    plan = addressbook.import_(obj.app, file, fmt, dry_run=dry_run)
    summary = ("dry run, nothing written: " if dry_run else "") + plan.summary()
    click.echo("\n".join([*plan.lines(), summary]))  # one write: 50,000 echo calls take a second


def _snooze_until(text: str, now: datetime) -> str | None:
    from mailer.core.durations import parse_duration
    from mailer.model import iso, parse_iso

    if text.strip().lower() in ("off", "no", "none", ""):
        return None
    try:
        return iso(now + parse_duration(text))
    except ValueError:
        pass
    try:
        return iso(parse_iso(text.strip()))
    except ValueError:
        raise UsageError(
            f"--snooze {text!r}: give a duration like 2w or a date like 2026-05-01"
        ) from None


def _duration_text(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from mailer.core.durations import format_duration, parse_duration

    if value is None or value == "":
        return value
    try:
        return format_duration(parse_duration(value))
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


@contacts.command("set")
@click.argument("who")
@click.option("--tier", help="tier name, e.g. inner, network, loose ('' clears)")
@click.option("--tags", help="comma-separated tags (replaces the list)")
@click.option("--trust", type=int, callback=check_trust, help="0 to 3")
@click.option("--cadence", callback=_duration_text, help="own cadence, e.g. 30d ('' clears)")
@click.option(
    "--status",
    type=click.Choice(STATUSES),
    help="set the status by hand (weeded: no drafts, never introduced)",
)
@click.option("--name", help="display name (scans no longer change it)")
@click.option("--notes", help="free text about the person")
@click.option(
    "--intro-opt-out/--intro-ok",
    "intro_opt_out",
    default=None,
    help="never suggest or ask to introduce this person (or allow it again)",
)
@click.option(
    "--snooze",
    "snooze",
    metavar="DURATION|DATE|off",
    help="no drafts until then: 2w, 3m, 2026-05-01, or off",
)
@pass_ctx
def contacts_set(
    obj: Ctx,
    who: str,
    tier: str | None,
    tags: str | None,
    trust: int | None,
    cadence: str | None,
    status: str | None,
    name: str | None,
    notes: str | None,
    intro_opt_out: bool | None,
    snooze: str | None,
) -> None:
    """Change a contact's fields."""

    changes: dict[str, Any] = {}
    if tier is not None:
        tiers = list(obj.app.rules.tiers)
        changes["tier"] = tier_name(tier, tiers) if tier.strip() else None
    if tags is not None:
        changes["tags"] = tag_list(tags)
    if trust is not None:
        changes["trust"] = trust
    if cadence is not None:
        changes["cadence"] = cadence or None
    if status is not None:
        changes["status"] = status
    if name is not None:
        changes["name"] = " ".join(name.split()) or None
        changes["name_fixed"] = bool(changes["name"])
    if notes is not None:
        changes["notes"] = notes
    if snooze is not None:
        changes["snoozed_until"] = _snooze_until(snooze, clock.now())
    if intro_opt_out is not None:
        changes["intro_opt_out"] = intro_opt_out
    if not changes:
        raise UsageError("nothing to change", hint="see mailer contacts set --help")
    contact = find_contact(obj, who)
    updated = obj.app.store.update_contact(contact.email, **changes)
    click.echo(
        f"{updated.email}: "
        + ", ".join(f"{k} = {v!r}" for k, v in changes.items() if k != "name_fixed")
    )


@contacts.command("merge")
@click.argument("keep")
@click.argument("other")
@pass_ctx
def contacts_merge(obj: Ctx, keep: str, other: str) -> None:
    """Make OTHER an address of KEEP: one person, one history (counts add, dates combine)."""

    a, b = find_contact(obj, keep), find_contact(obj, other)
    merged = obj.app.store.merge_contacts(a.email, b.email)
    click.echo(
        f"{merged.email}: now also {', '.join(merged.aliases)}; "
        f"{merged.messages_in} in, {merged.messages_out} out, last contact {merged.last_contact}"
    )
