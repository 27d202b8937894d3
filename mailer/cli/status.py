"""`mailer status` and `mailer run` (the daemon)."""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any

import click

from mailer import clock
from mailer.cli.base import Ctx, cli, pass_ctx
from mailer.core.listing import lanes_by_tier
from mailer.model import LANES
from mailer.output import json_document, render


def tier_lane_rows(by_tier: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """The tier x lane table `mailer status` prints: a row per tier, a column per lane used."""
    used = [k for k in LANES if any(k in row for row in by_tier.values())]
    return [
        {"tier": t, **{k: row.get(k, 0) for k in used}, "total": sum(row.values())}
        for t, row in by_tier.items()
    ]


@cli.command()
@click.option(
    "--once", is_flag=True, help="run one full cycle (scan, drafts, housekeeping) and exit"
)
@pass_ctx
def run(obj: Ctx, once: bool) -> None:
    """Run the daemon: scan on a schedule, write drafts at the set time."""
    from mailer import jobs

    sys.exit(jobs.run_daemon(obj.app, once=once, verbose=obj.verbose))


@cli.command()
@click.option(
    "--format", "fmt", type=click.Choice(("table", "json")), default="table", help="output format"
)
@pass_ctx
def status(obj: Ctx, fmt: str) -> None:
    """Show the store, the daemon's jobs (last and next run, last error), and problems."""

    from mailer import jobs

    config = obj.config
    now = clock.now()
    store = obj.app.store
    stats = store.stats()
    judged, drafts = obj.app.lanes(now)
    lanes = judged.values()
    stats["contacts_by_status"] = dict(Counter(j.status for j in lanes))
    by_lane = Counter(j.lane for j in lanes)
    stats["contacts_by_lane"] = {k: by_lane[k] for k in LANES if by_lane[k]}
    stats["lanes_by_tier"] = lanes_by_tier((j.contact.tier, j.lane) for j in lanes)
    stats["drafts_not_written"] = [
        {"email": d.email, "kind": d.kind, "at": d.written_at, "error": d.error}
        for d in drafts
        if d.error
    ][-5:]
    stats["jobs"] = jobs.status(obj.app, now)
    from mailer.scan import folder_faults

    stats["folder_faults"] = folder_faults(store)
    if fmt == "json":
        click.echo(json_document(stats))
        return
    click.echo(f"store: {config.store.path}")
    click.echo(f"contacts: {stats['contacts']}")
    by_status = stats["contacts_by_status"]
    if by_status:
        click.echo("  " + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())))
        by_lane = stats["contacts_by_lane"]
        click.echo(
            "  lanes: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in by_lane.items())
        )
        grid = tier_lane_rows(stats["lanes_by_tier"])
        if grid:
            lines = render(grid, list(grid[0]), "table").splitlines()
            click.echo("\n".join("  " + line for line in lines))
    for d in stats["drafts_not_written"]:
        click.echo(
            f"draft not written: {d['kind']} to {d['email']} on {d['at'][:10]}: {d['error']}"
        )
    click.echo(f"messages seen: {stats['messages_seen']}")
    folders = stats.get("folders") or []
    if folders:
        click.echo("folders:")
        for f in folders:
            click.echo(
                f"  {f['source']} {f['folder']}: up to UID {f['last_uid']}, "
                f"last scan {f['scanned_at'] or 'never'}"
            )
    else:
        click.echo("folders: none scanned yet (run `mailer scan` or `mailer import`)")
    for f in stats["folder_faults"]:
        click.echo(
            f"folder not scanned: {f['folder']} ({f['source']}), failing since {f['since']}, "
            f"last tried {f['at']}: {f['error']}"
        )
    click.echo("jobs:")
    for name, job in stats["jobs"].items():
        line = f"  {name}: last run {job.get('last_run') or 'never'}, next {job['next_run']}"
        if job.get("last_error"):
            line += f"; last error {job.get('last_error_at')}: {job['last_error']}"
        click.echo(line)
    commands = stats["command_mails"]
    if commands["handled"]:
        click.echo(f"command mails: {commands['handled']} handled, {commands['refused']} refused")
        for r in commands["last_refused"]:
            click.echo(f"  refused {r['processed_at']} from {r['sender'] or '?'}: {r['reason']}")
    click.echo(f"unreadable messages: {stats['parse_failures']}")
    for fail in (stats.get("last_failures") or [])[-5:]:
        click.echo(f"  {fail.get('folder')} UID {fail.get('uid')}: {fail.get('error')}")
