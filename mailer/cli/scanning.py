"""`mailer scan`, `mailer import` and `mailer rebuild`: mail into the store."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from mailer import clock
from mailer.cli.base import Ctx, cli, pass_ctx, report_format_option
from mailer.output import json_document


def _progress_bar() -> tuple[Callable[[str, int, int], None], Callable[[], None]]:
    """A rich progress bar on a terminal for long scans; silent otherwise."""
    if not sys.stderr.isatty():
        return (lambda *_: None), (lambda: None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def update(folder: str, done: int, total: int) -> None:
        if folder not in tasks:
            if total < 2000:
                return
            if not tasks:
                bar.start()
            tasks[folder] = bar.add_task(folder, total=total)
        bar.update(tasks[folder], completed=done)

    return update, (lambda: bar.stop() if tasks else None)


def scan_json(report: Any) -> dict[str, Any]:
    """A ScanReport as `--format json` prints it."""
    import dataclasses

    return {"source": report.source, "folders": [dataclasses.asdict(f) for f in report.folders]}


def _run_scan(obj: Ctx, source: Any, full: bool, now: datetime, fmt: str = "table") -> None:
    update, stop = _progress_bar()
    try:
        report = obj.app.scan(source, now, full=full, progress=update)
    finally:
        stop()
    if fmt == "json":
        click.echo(json_document(scan_json(report)))
        return
    for f in report.folders:
        if f.error and not f.fetched:  # the other folders were scanned all the same
            click.echo(f"{f.folder}: skipped, it cannot be read: {f.error}")
            continue
        extra = " (full rescan)" if f.rescanned else ""
        failed = f", {f.failed} unreadable" if f.failed else ""
        cut = f"; then skipped, it cannot be read: {f.error}" if f.error else ""
        click.echo(
            f"{f.folder}: {f.fetched} read, {f.new} new, {f.duplicates} already seen, "
            f"{f.skipped} not personal{failed}{extra}{cut}"
        )


@cli.command()
@click.option(
    "--full",
    is_flag=True,
    help="read every folder from the start again (messages already counted are not counted twice)",
)
@report_format_option
@pass_ctx
def scan(obj: Ctx, full: bool, fmt: str) -> None:
    """Scan the IMAP account once (incremental unless --full)."""

    now = clock.now()
    with obj.app.imap_source() as source:
        _run_scan(obj, source, full, now, fmt)


@cli.group("import")
def import_() -> None:
    """Scan a local mailbox (mbox file or Maildir) into the store."""


def _import(obj: Ctx, kind: str, path: Path, fmt: str) -> None:
    from mailer.app import local_source

    now = clock.now()
    source = local_source(kind, path)
    try:
        _run_scan(obj, source, True, now, fmt)
    finally:
        source.close()


@import_.command("mbox")
@click.argument("path", type=click.Path(path_type=Path))
@report_format_option
@pass_ctx
def import_mbox(obj: Ctx, path: Path, fmt: str) -> None:
    """Import an mbox file."""
    _import(obj, "mbox", path, fmt)


@import_.command("maildir")
@click.argument("path", type=click.Path(path_type=Path))
@report_format_option
@pass_ctx
def import_maildir(obj: Ctx, path: Path, fmt: str) -> None:
    """Import a Maildir folder and its subfolders."""
    _import(obj, "maildir", path, fmt)


# --- rebuild ---------------------------------------------------------------------------------


def _source_lines(result: Any, prefix: str = "") -> list[str]:
    if result.skipped:
        return [f"{prefix}{result.source}: skipped ({result.skipped}); its mail is not counted"]
    lines = []
    for f in result.folders:
        failed = f", {f.failed} unreadable" if f.failed else ""
        folder = "" if result.source.endswith(f":{f.folder}") else f" {f.folder}"  # an mbox
        lines.append(
            f"{prefix}{result.source}{folder}: {f.fetched} read, {f.new} counted, "
            f"{f.duplicates} already counted, {f.skipped} not personal{failed}"
        )
    return lines


@cli.command()
@click.option(
    "--dry-run", is_flag=True, help="read everything and say what would change; keep the store"
)
@pass_ctx
def rebuild(obj: Ctx, dry_run: bool) -> None:
    """Derive counts, dates, names and history again from the sources; keep what you set."""
    from mailer import rebuild as rebuilding

    update, stop = _progress_bar()
    try:
        report = rebuilding.run(obj.app, clock.now(), dry_run=dry_run, progress=update)
    finally:
        stop()
    for result in report.sources:
        for line in _source_lines(result):
            click.echo(line)
    for result in report.catch_ups:
        for line in _source_lines(result, "read again (a scan ran meanwhile): "):
            click.echo(line)
    out = report.outcome
    assert out is not None
    added = f", {out.added} new" if out.added else ""
    would = "would be " if dry_run else ""
    click.echo(
        f"contacts: {out.rebuilt} {would}rebuilt{added}, {len(out.kept)} kept without mail; "
        f"history for {out.history} contacts"
    )
    if out.kept_with_mail:
        shown = ", ".join(out.kept_with_mail[:5])
        more = f" and {len(out.kept_with_mail) - 5} more" if len(out.kept_with_mail) > 5 else ""
        click.echo(f"kept their earlier counts (no source mentions them now): {shown}{more}")
    if report.missed:
        click.echo(
            f"{report.missed} messages counted during the rebuild are in no source "
            "(forwarded mail?): they no longer count"
        )
    click.echo(f"{out.changed} contacts {'would change' if dry_run else 'changed'}")
    if dry_run:
        click.echo("dry run: the store is unchanged")
