"""`mailer commands ...`: the commands emailed to the command address."""

from __future__ import annotations

import dataclasses

import click

from mailer import clock
from mailer.cli.base import Ctx, cli, format_option, pass_ctx, show
from mailer.config import Config
from mailer.errors import UsageError

COMMAND_COLUMNS = ("id", "processed_at", "kind", "sender", "subject", "result")


@cli.group()
def commands() -> None:
    """Commands you email to the command address (commands.address)."""


def _require_command_address(config: Config) -> str:
    address = config.commands.address
    if not address:
        raise UsageError(
            "commands.address is not set",
            hint="add it under [commands]; `mailer init` makes one with a secret tag",
        )
    return str(address)


@commands.command("run")
@click.option("--dry-run", is_flag=True, help="show what would be applied; change and move nothing")
@pass_ctx
def commands_run(obj: Ctx, dry_run: bool) -> None:
    """Apply the command mail waiting in INBOX once, then move it to the processed folder."""
    from mailer import inbox

    config = obj.config
    _require_command_address(config)
    with obj.app.imap_source() as source:
        done = inbox.run(
            obj.app,
            source.command_box(),
            clock.now(),
            dry_run=dry_run,
            drafts=lambda: obj.app.drafts_in(source),
        )
    if not done.handled:
        click.echo("no command mail")
    for h in done.handled:
        click.echo(("would apply " if dry_run and h.record.accepted else "") + h.summary)
        for line in h.record.lines:
            mark = "ok " if line.ok else "NOT"
            click.echo(f"  {mark} {line.line or '(mail)'}: {line.result}")
    for outcome in done.drafts:
        click.echo(f"{outcome.action}: {outcome.prepared.item.key}")


@commands.command("list")
@format_option
@click.option("--refused", is_flag=True, help="only refused mail")
@pass_ctx
def commands_list(obj: Ctx, fmt: str, refused: bool) -> None:
    """Command mail handled so far, oldest first, with what became of each."""

    rows = []
    for r in obj.app.store.command_records():
        if refused and r.accepted:
            continue
        ok = sum(line.ok for line in r.lines)
        result = r.reason if not r.accepted else f"{ok} of {len(r.lines)} applied"
        if r.undone_at:
            result += f"; undone {r.undone_at[:10]}"
        row = {
            "id": r.id,
            "processed_at": r.processed_at,
            "kind": r.kind,
            "sender": r.sender,
            "subject": r.subject,
            "result": result,
            "message_id": r.message_id,
            "received": r.received,
            "reason": r.reason,
            "confirmed": r.confirmed,
            "lines": [dataclasses.asdict(line) for line in r.lines],
            "undo": r.undo_line,
            "undone_at": r.undone_at,
            "undone_by": r.undone_by,
            "undoes": list(r.undoes),
        }
        rows.append(row)
    show(rows, COMMAND_COLUMNS, fmt)


@commands.command("undo")
@click.argument("ident", metavar="ID")
@click.option("--dry-run", is_flag=True, help="show what it would restore; change nothing")
@pass_ctx
def commands_undo(obj: Ctx, ident: str, dry_run: bool) -> None:
    """Put back what one command mail changed (its ID: commands list, the confirmation).

    All or nothing: when a field it changed was changed again since, nothing is
    changed and the field is named (exit 1). Mail it logged stays counted.
    """
    from mailer.model import iso

    restore = obj.app.store.undo_command(ident, iso(clock.now()) or "", dry_run=dry_run)
    head = "would undo" if dry_run else "undone"
    click.echo(f"{head} mail {restore.record.id} ({restore.record.subject or '(no subject)'!r}):")
    for line in restore.said:
        click.echo(f"  {line}")
