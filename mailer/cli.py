"""The `mailer` command: parse arguments, call the library, print.

Errors are `MailerError`s, caught once here and printed as one line with the
exit code of SPEC section 11 (1 runtime, 2 usage or config).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from mailer import __version__, clock
from mailer.config import Config, find_path, load
from mailer.errors import ConfigError, MailerError, UsageError
from mailer.output import FORMATS, render

CONTACT_COLUMNS = (
    "email",
    "name",
    "status",
    "tier",
    "trust",
    "last_contact",
    "messages_in",
    "messages_out",
    "tags",
)


class Ctx:
    def __init__(self, config_path: str | None, verbose: bool) -> None:
        self.config_path = config_path
        self.verbose = verbose
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load(self.config_path)
        return self._config


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"mailer: {message}", err=True)
    sys.exit(code)


class MailerGroup(click.Group):
    """Catches our errors once, for every subcommand."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MailerError as e:
            if ctx.obj is not None and getattr(ctx.obj, "verbose", False):
                traceback.print_exc()
            _fail(f"error: {e}", e.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as e:  # the last line of defence: one line, not a trace
            if ctx.obj is not None and getattr(ctx.obj, "verbose", False):
                traceback.print_exc()
            _fail(f"internal error: {type(e).__name__}: {e} (run with --verbose for details)", 1)


format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="output format",
)


@click.group(cls=MailerGroup)
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    envvar=None,
    help="config file (default: $MAILER_CONFIG, then ~/.config/mailer/config.toml)",
)
@click.option("-v", "--verbose", is_flag=True, help="show details of errors")
@click.version_option(__version__, prog_name="mailer")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Keep your professional network alive from the mailbox you already have."""
    ctx.obj = Ctx(config_path, verbose)
    clock.now()  # a bad MAILER_NOW fails every command up front, not halfway through


pass_ctx = click.make_pass_decorator(Ctx)


# --- init / check ----------------------------------------------------------------------------

STARTER = """\
# mailer configuration. Every key is documented in config.example.toml.
# The password is never stored here: set {password_env} in the environment,
# or use password_command / keyring under [account].

[account]
host = "{host}"
security = "tls"
username = "{email}"

[me]
name = "{name}"
addresses = ["{email}"]

[commands]
# Mail to this exact address is read as commands. The random tag makes it a
# secret: treat it like a password.
address = "{command_address}"
"""


def command_address(email: str) -> str:
    import secrets

    local, _, domain = email.partition("@")
    tag = "".join(secrets.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(6))
    return f"{local}+mailer-{tag}@{domain}"


@cli.command()
@click.option("--email", prompt="Your email address", help="your address (also the login)")
@click.option("--host", prompt="IMAP server", help="IMAP server name")
@click.option("--name", default="", help="your name, for signatures")
@click.option("--force", is_flag=True, help="overwrite an existing file")
@pass_ctx
def init(obj: Ctx, email: str, host: str, name: str, force: bool) -> None:
    """Write a starter config file."""
    if "@" not in email or any(ch in email for ch in ' "\n'):
        raise UsageError(f"{email!r} is not an email address")
    if any(ch in host + name for ch in '"\\\n'):
        raise UsageError("the host and name cannot contain quotes, backslashes or line breaks")
    path = find_path(obj.config_path)
    if path.exists() and not force:
        raise UsageError(f"{path} exists", hint="pass --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = STARTER.format(
        host=host,
        email=email.lower(),
        name=name,
        command_address=command_address(email.lower()),
        password_env="MAILER_PASSWORD",
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    click.echo(f"wrote {path}")
    click.echo("next: export MAILER_PASSWORD=..., then `mailer check` and `mailer scan`")


@cli.command()
@pass_ctx
def check(obj: Ctx) -> None:
    """Connect, show the folders and what a scan would read."""
    from mailer import app

    config = obj.config
    store = app.store(config)
    with app.imap_source(config) as source:
        account = config.require_account()
        click.echo(
            f"connected to {account.host}:{account.port} ({account.security}) as {account.username}"
        )
        folders = source.list_folders()
        click.echo(f"{len(folders)} folders:")
        for name, flags in folders:
            special = [
                f
                for f in flags
                if f.lower() in ("\\sent", "\\drafts", "\\trash", "\\junk", "\\archive", "\\all")
            ]
            click.echo(f"  {name}" + (f"  ({' '.join(special)})" if special else ""))
        click.echo(f"drafts folder: {source.folder('drafts') or 'not found (set folders.drafts)'}")
        states = store.folder_states()
        click.echo("a scan reads:")
        for name in source.scan_folders():
            info = source.open_folder(name)
            state = states.get((source.id, name))
            if state is None or state.uidvalidity != info.uidvalidity:
                why = "first scan" if state is None else "UIDVALIDITY changed: full rescan"
                todo = info.messages
            else:
                why = f"after UID {state.last_uid}"
                todo = len(source.new_uids(info, state.last_uid))
            click.echo(f"  {name}: {info.messages} messages, {todo} to read ({why})")
        if not source.folder("sent"):
            click.echo("warning: no Sent folder found; set folders.sent so outbound mail counts")


# --- scan / import ---------------------------------------------------------------------------


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


def _run_scan(config: Config, source: Any, full: bool, now: datetime) -> None:
    from mailer import app

    update, stop = _progress_bar()
    try:
        report = app.scan_source(config, source, now, full=full, progress=update)
    finally:
        stop()
    for f in report.folders:
        extra = " (full rescan)" if f.rescanned else ""
        failed = f", {f.failed} unreadable" if f.failed else ""
        click.echo(
            f"{f.folder}: {f.fetched} read, {f.new} new, {f.duplicates} already seen, "
            f"{f.skipped} not personal{failed}{extra}"
        )


@cli.command()
@click.option(
    "--full",
    is_flag=True,
    help="read every folder from the start again (messages already counted are not counted twice)",
)
@pass_ctx
def scan(obj: Ctx, full: bool) -> None:
    """Scan the IMAP account once (incremental unless --full)."""
    from mailer import app

    now = clock.now()
    with app.imap_source(obj.config) as source:
        _run_scan(obj.config, source, full, now)


@cli.group("import")
def import_() -> None:
    """Scan a local mailbox (mbox file or Maildir) into the store."""


def _import(obj: Ctx, kind: str, path: Path) -> None:
    from mailer import app

    now = clock.now()
    source = app.local_source(kind, path)
    try:
        _run_scan(obj.config, source, True, now)
    finally:
        source.close()


@import_.command("mbox")
@click.argument("path", type=click.Path(path_type=Path))
@pass_ctx
def import_mbox(obj: Ctx, path: Path) -> None:
    """Import an mbox file."""
    _import(obj, "mbox", path)


@import_.command("maildir")
@click.argument("path", type=click.Path(path_type=Path))
@pass_ctx
def import_maildir(obj: Ctx, path: Path) -> None:
    """Import a Maildir folder and its subfolders."""
    _import(obj, "maildir", path)


# --- contacts --------------------------------------------------------------------------------


@cli.group()
def contacts() -> None:
    """List, show and edit contacts."""


@contacts.command("list")
@format_option
@click.option(
    "--status",
    type=click.Choice(("seed", "active", "dormant", "weeded", "ignored")),
    help="only contacts with this status",
)
@pass_ctx
def contacts_list(obj: Ctx, fmt: str, status: str | None) -> None:
    """List contacts, most recent contact first."""
    from mailer import app

    rows = app.contact_rows(obj.config, clock.now())
    if status:
        rows = [r for r in rows if r["status"] == status]
    rows.sort(key=lambda r: (r["last_contact"] or "", r["email"]), reverse=True)
    click.echo(render(rows, CONTACT_COLUMNS, fmt))


def _find(obj: Ctx, who: str) -> Any:
    from mailer import app
    from mailer.core.contacts import resolve

    try:
        return resolve(app.store(obj.config).contacts(), who)
    except LookupError as e:
        raise UsageError(str(e)) from None


@contacts.command("show")
@click.argument("who")
@format_option
@pass_ctx
def contacts_show(obj: Ctx, who: str, fmt: str) -> None:
    """Everything mailer knows of one contact."""
    from mailer import app

    contact = _find(obj, who)
    row = app.contact_rows(obj.config, clock.now(), [contact])[0]
    logged = app.store(obj.config).logged(contact.email)
    row["logged"] = [f"{e.when} {e.text}" for e in logged]
    if fmt == "table":
        width = max(len(k) for k in row)
        for k, v in row.items():
            value = ", ".join(v) if isinstance(v, list) else ("-" if v is None else v)
            if k in ("notes", "logged") and value:
                lines = value.splitlines() if k == "notes" else v
                value = ("\n" + " " * (width + 2)).join(lines)
            click.echo(f"{k.ljust(width)}  {value}")
    else:
        click.echo(render([row], list(row), fmt))


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


def _trust(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None and not 0 <= value <= 3:
        raise click.BadParameter("trust is 0, 1, 2 or 3")
    return value


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
@click.option("--trust", type=int, callback=_trust, help="0 to 3")
@click.option("--cadence", callback=_duration_text, help="own cadence, e.g. 30d ('' clears)")
@click.option(
    "--status",
    type=click.Choice(("seed", "active", "dormant", "weeded", "ignored")),
    help="set the status by hand (weeded: no drafts, never introduced)",
)
@click.option("--name", help="display name (scans no longer change it)")
@click.option("--notes", help="free text about the person")
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
    snooze: str | None,
) -> None:
    """Change a contact's fields."""
    from mailer import app

    changes: dict[str, Any] = {}
    if tier is not None:
        changes["tier"] = tier.strip() or None
    if tags is not None:
        changes["tags"] = sorted({t.strip().lower() for t in tags.split(",") if t.strip()})
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
    if not changes:
        raise UsageError("nothing to change", hint="see mailer contacts set --help")
    contact = _find(obj, who)
    updated = app.store(obj.config).update_contact(contact.email, **changes)
    click.echo(
        f"{updated.email}: "
        + ", ".join(f"{k} = {v!r}" for k, v in changes.items() if k != "name_fixed")
    )


# --- digest ----------------------------------------------------------------------------------


@cli.group("digest")
def digest_group() -> None:
    """The digest: who is due, replies owed, new contacts, what your command mails did."""


@digest_group.command("preview")
@pass_ctx
def digest_preview(obj: Ctx) -> None:
    """Show the digest as it would be delivered now (nothing is delivered or recorded)."""
    from mailer import digest as digesting

    click.echo(digesting.preview(obj.config, clock.now()), nl=False)


@digest_group.command("run")
@click.option("--dry-run", is_flag=True, help="show what would be delivered, deliver nothing")
@pass_ctx
def digest_run(obj: Ctx, dry_run: bool) -> None:
    """Deliver today's digest now, by SMTP or into Drafts (digest.delivery); once a day."""
    from mailer import digest as digesting

    config, now = obj.config, clock.now()
    prepared = digesting.prepare(config, now)
    click.echo(digesting.deliver(config, prepared, now, dry_run=dry_run))
    if dry_run and prepared.digest is not None and not prepared.digest.empty:
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
    from mailer import app

    plan = app.plan(obj.config, clock.now())
    rows = [_item_row(i) for i in plan.items]
    if fmt == "table" and not rows:
        click.echo("nobody is due")
        return
    click.echo(render(rows, DUE_COLUMNS, fmt))


@cli.group()
def drafts() -> None:
    """Write and preview drafts."""


@drafts.command("run")
@click.option("--dry-run", is_flag=True, help="show what would be written, write nothing")
@pass_ctx
def drafts_run(obj: Ctx, dry_run: bool) -> None:
    """Write the drafts due now into the Drafts folder."""
    from mailer import app
    from mailer import drafts as drafting

    config = obj.config
    plan = app.plan(config, clock.now())
    owner = (config.me_name, app.owner_address(config))
    if dry_run or not plan.to_draft:
        outcomes = drafting.run(
            plan, app.store(config), _NoTarget(), app.renderer(config), owner, dry_run=True
        )
    else:
        with app.drafts_target(config) as target:
            outcomes = drafting.run(plan, app.store(config), target, app.renderer(config), owner)
    for o in outcomes:
        item = o.prepared.item
        click.echo(f"{o.action}: {item.kind} to {item.email}: {o.prepared.subject}")
        if dry_run:
            click.echo("    " + o.prepared.body.rstrip().replace("\n", "\n    "))
    held = plan.held
    if held:
        click.echo(f"{len(held)} more due, held: {held[0].hold}")
    if not outcomes and not held:
        click.echo("nothing due")


class _NoTarget:
    """The Drafts stand-in of a dry run: reading and writing it is a bug."""

    folder = "(dry run)"

    def existing_keys(self) -> set[str]:
        raise AssertionError("a dry run reads no Drafts folder")

    def append(self, message: bytes, when: datetime) -> None:
        raise AssertionError("a dry run writes no draft")


@drafts.command("preview")
@click.argument("who")
@click.option("--template", default="reconnect.j2", show_default=True, help="template to render")
@pass_ctx
def drafts_preview(obj: Ctx, who: str, template: str) -> None:
    """Render a draft for WHO without writing it (due or not)."""
    from mailer import app

    renderer = app.renderer(obj.config)
    contact = _find(obj, who)
    out = renderer.render(template, **renderer.reconnect_context(contact, clock.now()))
    click.echo(f"To: {contact.name + ' ' if contact.name else ''}<{contact.email}>")
    click.echo(f"Subject: {out.subject}")
    click.echo("")
    click.echo(out.body, nl=False)


@cli.command()
@click.option(
    "--once", is_flag=True, help="run one full cycle (scan, drafts, housekeeping) and exit"
)
@pass_ctx
def run(obj: Ctx, once: bool) -> None:
    """Run the daemon: scan on a schedule, write drafts at the set time."""
    from mailer import jobs

    sys.exit(jobs.run_daemon(obj.config, once=once, verbose=obj.verbose))


# --- commands by email -----------------------------------------------------------------------

COMMAND_COLUMNS = ("processed_at", "kind", "sender", "subject", "result")


@cli.group()
def commands() -> None:
    """Commands you email to the command address (commands.address)."""


def _require_command_address(config: Config) -> str:
    address = config.get("commands.address")
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
    from mailer import app, inbox

    config = obj.config
    _require_command_address(config)
    with app.imap_source(config) as source:
        handled = inbox.run(config, source.command_box(), clock.now(), dry_run=dry_run)
    if not handled:
        click.echo("no command mail")
    for h in handled:
        click.echo(("would apply " if dry_run and h.record.accepted else "") + h.summary)
        for line in h.record.lines:
            mark = "ok " if line.ok else "NOT"
            click.echo(f"  {mark} {line.line or '(mail)'}: {line.result}")


@commands.command("list")
@format_option
@click.option("--refused", is_flag=True, help="only refused mail")
@pass_ctx
def commands_list(obj: Ctx, fmt: str, refused: bool) -> None:
    """Command mail handled so far, oldest first, with what became of each."""
    from mailer import app

    rows = []
    for r in app.store(obj.config).command_records():
        if refused and r.accepted:
            continue
        ok = sum(line.ok for line in r.lines)
        result = r.reason if not r.accepted else f"{ok} of {len(r.lines)} applied"
        row = {
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
        }
        rows.append(row)
    columns = COMMAND_COLUMNS if fmt == "table" else tuple(rows[0]) if rows else COMMAND_COLUMNS
    click.echo(render(rows, columns, fmt))


# --- status ----------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--format", "fmt", type=click.Choice(("table", "json")), default="table", help="output format"
)
@pass_ctx
def status(obj: Ctx, fmt: str) -> None:
    """Show the store, the daemon's jobs (last and next run, last error), and problems."""
    import json
    from collections import Counter

    from mailer import app, jobs

    config = obj.config
    now = clock.now()
    stats = app.store(config).stats()
    stats["contacts_by_status"] = dict(Counter(r["status"] for r in app.contact_rows(config, now)))
    stats["jobs"] = jobs.status(config, now)
    if fmt == "json":
        click.echo(json.dumps(stats, indent=2, ensure_ascii=False, default=str))
        return
    click.echo(f"store: {config.store_path}")
    click.echo(f"contacts: {stats['contacts']}")
    by_status = stats["contacts_by_status"]
    if by_status:
        click.echo("  " + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())))
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


def main() -> None:
    try:
        cli(standalone_mode=True)
    except ConfigError as e:  # raised while click builds the context
        _fail(f"error: {e}", e.exit_code)
