"""`mailer due`, `mailer drafts ...` and `mailer digest ...`: who is due, and the drafts."""

from __future__ import annotations

from typing import Any

import click

from mailer import clock
from mailer.cli.base import (
    Ctx,
    cli,
    find_contact,
    format_option,
    pass_ctx,
    report_format_option,
    show,
)
from mailer.core.drafted import STATES as DRAFT_STATES
from mailer.output import json_document


@cli.group("digest")
def digest_group() -> None:
    """The digest: who is due, replies owed, new contacts, what your command mails did."""


@digest_group.command("preview")
@report_format_option
@pass_ctx
def digest_preview(obj: Ctx, fmt: str) -> None:
    """Show the digest as it would be delivered now (nothing is delivered or recorded)."""
    from mailer import digest as digesting

    if fmt == "json":
        click.echo(json_document(digesting.preview_json(obj.app, clock.now())))
        return
    click.echo(digesting.preview(obj.app, clock.now()), nl=False)


@digest_group.command("run")
@click.option("--dry-run", is_flag=True, help="show what would be delivered, deliver nothing")
@pass_ctx
def digest_run(obj: Ctx, dry_run: bool) -> None:
    """Deliver today's digest now, by SMTP or into Drafts (digest.delivery); once a day."""
    from mailer import digest as digesting

    app, now = obj.app, clock.now()
    if not dry_run:
        click.echo(digesting.run(app, now))
        return
    prepared = digesting.prepare(app, now)
    click.echo(digesting.deliver(app, prepared, now, dry_run=True))
    if prepared.digest is not None and not prepared.digest.empty:
        click.echo("")
        click.echo(prepared.text, nl=False)


# --- due / drafts / run -----------------------------------------------------------------------

DUE_COLUMNS = ("kind", "email", "name", "overdue_days", "action", "reason")


def _item_row(item: Any) -> dict[str, Any]:
    from mailer.model import iso

    return {
        "email": item.email,
        "name": item.name,
        "kind": item.kind,
        "lane": item.lane,
        "strength": item.strength,
        "reason": item.reason,
        "due_at": iso(item.due_at),
        "overdue_days": item.overdue_days,
        "draft": item.draft,
        "hold": item.hold,
        "key": item.key,
        "action": "draft" if item.draft else (item.hold or "review"),
    }


@cli.command()
@format_option
@pass_ctx
def due(obj: Ctx, fmt: str) -> None:
    """Who is due now, most overdue first, with the reason (nothing is written)."""

    plan = obj.app.plan(clock.now())
    rows = [_item_row(i) for i in plan.items]
    if fmt == "table" and not rows:
        click.echo("nobody is due")
        return
    show(rows, DUE_COLUMNS, fmt)


@cli.group()
def drafts() -> None:
    """Write and preview drafts."""


@drafts.command("run")
@click.option("--dry-run", is_flag=True, help="show what would be written, write nothing")
@report_format_option
@pass_ctx
def drafts_run(obj: Ctx, dry_run: bool, fmt: str) -> None:
    """Write the drafts due now into the Drafts folder (with an account, scan it first),
    and the drafts introductions still lack: what the daemon does at rules.draft_at."""
    from mailer import cases

    done = cases.write_drafts(obj.app, clock.now(), dry_run=dry_run)
    plan, outcomes = done.plan, done.outcomes
    if fmt == "json":
        click.echo(json_document(_run_json(done, dry_run)))
        return
    for o in outcomes:
        item = o.prepared.item
        click.echo(f"{o.action}: {item.kind} to {item.email}: {o.prepared.subject}")
        if dry_run:
            for line in _context_lines(plan.lanes[item.email].contact, item.reason):
                click.echo(f"    | {line}")
            click.echo("    " + o.prepared.body.rstrip().replace("\n", "\n    "))
    held = plan.held
    if held:
        click.echo(f"{len(held)} more due, held: {held[0].hold}")
    if not outcomes and not held:
        click.echo("nothing due")


def _run_json(done: Any, dry_run: bool) -> dict[str, Any]:
    """`drafts run --format json`: each draft, those held, and the scan before (or null)."""
    from mailer.cli.scanning import scan_json

    drafts = []
    for o in done.outcomes:
        p, item = o.prepared, o.prepared.item
        row = {
            "action": o.action,
            "kind": item.kind,
            "email": item.email,
            "subject": p.subject,
            "key": item.key,
            "reason": item.reason,
        }
        if dry_run:
            row["body"] = p.body
        drafts.append(row)
    held = [{"email": i.email, "kind": i.kind, "hold": i.hold} for i in done.plan.held]
    scanned = scan_json(done.scan) if done.scan is not None else None
    return {"dry_run": dry_run, "drafts": drafts, "held": held, "scan": scanned}


def _context_lines(c: Any, why: str) -> list[str]:
    """What the owner should know beside a draft; never part of the draft itself."""
    lines = [f"why now: {why}"]
    if c.last_subject:
        lines.append(f'last subject: "{" ".join(c.last_subject.split())}"')
    if c.tags:
        lines.append("tags: " + ", ".join(c.tags))
    if c.notes:
        lines.extend(
            f"notes: {n}" if i == 0 else f"       {n}" for i, n in enumerate(c.notes.splitlines())
        )
    return lines


DRAFT_COLUMNS = ("written_at", "kind", "to", "state", "subject")


@drafts.command("list")
@format_option
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(DRAFT_STATES),
    help="only drafts in this state (repeat for several)",
)
@pass_ctx
def drafts_list(obj: Ctx, fmt: str, states: tuple[str, ...]) -> None:
    """Every draft mailer wrote, newest first, and what became of it: in Drafts, sent,
    or deleted unsent (from the Drafts folder at the last look and the Sent scan)."""
    from mailer.core.drafted import draft_rows

    store = obj.app.store
    contacts, records, open_keys = store.planning()
    rows = draft_rows(
        records, {c.email: c for c in contacts}, open_keys, store.open_drafts_seen_at()
    )
    if states:
        rows = [r for r in rows if r["state"] in states]
    if fmt == "table" and not rows:
        click.echo("no drafts written yet" if not states else "no drafts in that state")
        return
    show(rows, DRAFT_COLUMNS, fmt)


@drafts.command("preview")
@click.argument("who")
@click.option("--template", help="template to render (default: the kind the rules would draft)")
@pass_ctx
def drafts_preview(obj: Ctx, who: str, template: str | None) -> None:
    """Render a draft for WHO without writing it (due or not), with its context apart."""
    from mailer.drafts import TEMPLATES

    now = clock.now()
    renderer = obj.app.renderer
    contact = find_contact(obj, who)
    j = obj.app.plan(now).lanes[contact.email]
    name = template or TEMPLATES.get(j.kind or "reconnect", "reconnect.j2")
    out = renderer.render(name, **renderer.reconnect_context(contact, now))
    click.echo(f"For you, not in the draft ({j.lane}):")
    for line in _context_lines(contact, j.reason):
        click.echo(f"  {line}")
    click.echo("")
    click.echo(f"To: {contact.name + ' ' if contact.name else ''}<{contact.email}>")
    click.echo(f"Subject: {out.subject}")
    click.echo("")
    click.echo(out.body, nl=False)
