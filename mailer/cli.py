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
from mailer.model import LANES, STATUSES
from mailer.output import FORMATS, render

CONTACT_COLUMNS = (
    "email",
    "name",
    "status",
    "lane",
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
            shape = _store_shape(ctx.obj)  # a store edited by hand is the likely cause
            if shape is not None:
                _fail(f"error: {shape}", shape.exit_code)
            _fail(f"internal error: {type(e).__name__}: {e} (run with --verbose for details)", 1)


def _store_shape(obj: Any) -> MailerError | None:
    """The store document of the wrong shape to blame for an unexpected error, if any."""
    config = getattr(obj, "_config", None)  # None: the store was never opened
    if config is None:
        return None
    from mailer.store import check_shape

    return check_shape(config.store_path)


format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="output format",
)


@click.group(cls=MailerGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
    from mailer.sources.base import FolderError

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
            try:
                info = source.open_folder(name)
                state = states.get((source.id, name))
                if state is None or state.uidvalidity != info.uidvalidity:
                    why = "first scan" if state is None else "UIDVALIDITY changed: full rescan"
                    todo = info.messages
                else:
                    why = f"after UID {state.last_uid}"
                    todo = source.new_messages(info, state.last_uid).count
            except FolderError as e:  # a scan skips it too
                click.echo(f"  {name}: cannot be read, a scan skips it: {e}")
                continue
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
@click.option("--status", type=click.Choice(STATUSES), help="only contacts with this status")
@click.option("--lane", type=click.Choice(LANES), help="only contacts in this lane")
@click.option(
    "--all",
    "everyone",
    is_flag=True,
    help="everyone, also those you never wrote to (inbound-only) or never heard back from",
)
@pass_ctx
def contacts_list(obj: Ctx, fmt: str, status: str | None, lane: str | None, everyone: bool) -> None:
    """List your relationships (two-way, or triaged by you), most recent contact first."""
    from mailer import app

    rows = app.contact_rows(
        obj.config, clock.now(), listed_only=not (everyone or lane), detail=fmt != "table"
    )
    if status:
        rows = [r for r in rows if r["status"] == status]
    if lane:
        rows = [r for r in rows if r["lane"] == lane]
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
    from mailer.core import history
    from mailer.core.clean import clean_text
    from mailer.core.rules import about

    now = clock.now()
    contact = _find(obj, who)
    row = app.contact_rows(obj.config, now, [contact])[0]
    gap = row["rhythm_days"]
    row["rhythm"] = f"every ~{about(gap)}" if gap is not None else "too little history"
    store = app.store(obj.config)
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
        click.echo(render([row], list(row), fmt))


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
    count, used = addressbook.export(obj.config, output if to_file else None, fmt)
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

    plan = addressbook.import_(obj.config, file, fmt, dry_run=dry_run)
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
    from mailer import app

    changes: dict[str, Any] = {}
    if tier is not None:
        tiers = list(app.rules(obj.config).tiers)
        changes["tier"] = _tier_name(tier, tiers) if tier.strip() else None
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
    if intro_opt_out is not None:
        changes["intro_opt_out"] = intro_opt_out
    if not changes:
        raise UsageError("nothing to change", hint="see mailer contacts set --help")
    contact = _find(obj, who)
    updated = app.store(obj.config).update_contact(contact.email, **changes)
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
    from mailer import app

    a, b = _find(obj, keep), _find(obj, other)
    merged = app.store(obj.config).merge_contacts(a.email, b.email)
    click.echo(
        f"{merged.email}: now also {', '.join(merged.aliases)}; "
        f"{merged.messages_in} in, {merged.messages_out} out, last contact {merged.last_contact}"
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
    if not dry_run:
        click.echo(digesting.run(config, now))
        return
    prepared = digesting.prepare(config, now)
    click.echo(digesting.deliver(config, prepared, now, dry_run=True))
    if prepared.digest is not None and not prepared.digest.empty:
        click.echo("")
        click.echo(prepared.text, nl=False)


# --- seed and weed ---------------------------------------------------------------------------

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


def _tier_name(text: str, tiers: list[str]) -> str:
    """A tier the rules know (any one word when no tiers are configured)."""
    from mailer.core.contacts import check_tier

    try:
        return check_tier(text, tiers)
    except ValueError as e:
        raise UsageError(str(e)) from None


def _tag_list(text: str) -> tuple[str, ...]:
    """`AI, berlin` -> ("ai", "berlin"), as `contacts set --tags` stores them."""
    return tuple(sorted({t.strip().lower() for t in text.split(",") if t.strip()}))


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

    A tier or tags make the contact active, as the emailed `tier` command does.
    """
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
    if (tier or tags) and c.status != "active":
        changes["status"] = "active"
        said.append("now active")
    return store.update_contact(c.email, **changes), ", ".join(said)


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
                    answer = _tier_name(answer, tiers)
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
            tags = _tag_list(_ask("tags (comma list; Enter none)"))
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
            if c.tier or c.tags:
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
@click.option("--trust", type=int, callback=_trust, help="with --set: trust, 0 to 3")
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
    from mailer import app
    from mailer.core.rules import seeds_to_triage, suggested_tier

    config, now = obj.config, clock.now()
    rules = app.rules(config)
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
        contact = _find(obj, set_who)
        _, said = _triage(
            app.store(config),
            contact,
            tier=None if tier is None else _tier_name(tier, tiers),
            tags=None if tags is None else _tag_list(tags),
            trust=trust,
            ignore=ignore,
        )
        click.echo(f"{contact.email}: {said}")
        return
    seeds = seeds_to_triage(app.plan(config, now).lanes)
    if triage:
        if not seeds:
            click.echo("no new contacts to triage")
            return
        _seed_walk(app.store(config), seeds, tiers, now)
        return
    if fmt == "table" and not seeds:
        click.echo("no new contacts to triage")
        return
    suggested = suggested_tier(rules)
    click.echo(render([_seed_row(c, suggested) for c in seeds], SEED_COLUMNS, fmt))


def _weed_row(j: Any, now: datetime) -> dict[str, Any]:
    from mailer.model import parse_iso

    c = j.contact
    last = parse_iso(c.last_contact)
    return {
        "kind": "dormant" if j.lane == "rekindle" else j.lane,
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
    from mailer.core.contacts import Resolver

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
    from mailer import app
    from mailer.core import contacts as people_core
    from mailer.core.rules import judge_all

    if apply_ and undo:
        raise UsageError("give either --apply or --undo")
    if (apply_ or undo) and not who:
        raise UsageError(f"{'--apply' if apply_ else '--undo'} needs at least one WHO")
    if who and not (apply_ or undo):
        raise UsageError("WHO goes with --apply or --undo", hint="mailer weed --apply WHO")
    config, now = obj.config, clock.now()
    store, rules = app.store(config), app.rules(config)
    lanes = app.plan(config, now).lanes
    if not who:
        rows = [_weed_row(j, now) for j in lanes.values() if j.weed_candidate]
        rows.sort(key=lambda r: (r["last_contact"] or "", r["email"]))
        if fmt == "table" and not rows:
            click.echo("nothing to weed")
            return
        click.echo(render(rows, WEED_COLUMNS, fmt))
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
            f"{'dormant' if j.lane == 'rekindle' else 'one-sided'}: {j.reason}"
            if j.weed_candidate
            else "not a weed candidate: weeded on your word"
        )
        click.echo(f"{c.email}: weeded (was {j.status}); {why}")


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

    config, now = obj.config, clock.now()
    store, rules = app.store(config), app.rules(config)
    renderer, owner = app.renderer(config), (config.me_name, app.owner_address(config))
    plan = app.plan(config, now)
    # The Drafts folder is read only when something may be written (or a draft
    # that held someone back may be gone): the folder then decides.
    look = any(i.draft or (i.hold or "").endswith("still waits in Drafts") for i in plan.items)
    if dry_run or not look:
        plan, outcomes = drafting.run(store, None, renderer, owner, rules, now)
    else:
        with app.drafts_target(config) as target:
            plan, outcomes = drafting.run(store, target, renderer, owner, rules, now)
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


@drafts.command("preview")
@click.argument("who")
@click.option("--template", help="template to render (default: the kind the rules would draft)")
@pass_ctx
def drafts_preview(obj: Ctx, who: str, template: str | None) -> None:
    """Render a draft for WHO without writing it (due or not), with its context apart."""
    from mailer import app
    from mailer.drafts import TEMPLATES

    now = clock.now()
    renderer = app.renderer(obj.config)
    contact = _find(obj, who)
    j = app.plan(obj.config, now).lanes[contact.email]
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

COMMAND_COLUMNS = ("id", "processed_at", "kind", "sender", "subject", "result")


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
        done = inbox.run(
            config,
            source.command_box(),
            clock.now(),
            dry_run=dry_run,
            drafts=lambda: app.drafts_in(config, source),
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
    from mailer import app

    rows = []
    for r in app.store(obj.config).command_records():
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
    click.echo(render(rows, COMMAND_COLUMNS, fmt))


@commands.command("undo")
@click.argument("ident", metavar="ID")
@click.option("--dry-run", is_flag=True, help="show what it would restore; change nothing")
@pass_ctx
def commands_undo(obj: Ctx, ident: str, dry_run: bool) -> None:
    """Put back what one command mail changed (its ID: commands list, the confirmation).

    All or nothing: when a field it changed was changed again since, nothing is
    changed and the field is named (exit 1). Mail it logged stays counted.
    """
    from mailer import app
    from mailer.model import iso

    restore = app.store(obj.config).undo_command(ident, iso(clock.now()) or "", dry_run=dry_run)
    head = "would undo" if dry_run else "undone"
    click.echo(f"{head} mail {restore.record.id} ({restore.record.subject or '(no subject)'!r}):")
    for line in restore.said:
        click.echo(f"  {line}")


# --- introductions ---------------------------------------------------------------------------

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


def _write_intro_drafts(config: Config, now: datetime) -> None:
    from mailer import app, intros

    with app.drafts_target(config) as target:
        for outcome in intros.write_pending(config, target, now):
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
        for s in intros.suggest(obj.config, clock.now(), limit)
    ]
    if not rows and fmt == "table":
        click.echo("no suggestions: introductions need tags and trust >= intros.min_trust on both")
        return
    click.echo(render(rows, SUGGEST_COLUMNS, fmt))


@intro.command("list")
@format_option
@click.option("--open", "open_only", is_flag=True, help="only those waiting for answers")
@pass_ctx
def intro_list(obj: Ctx, fmt: str, open_only: bool) -> None:
    """Every introduction and where it stands: asked, introduced, declined or expired."""
    from mailer import intros

    rows = [_intro_row(i) for i in intros.listing(obj.config, clock.now())]
    if open_only:
        rows = [r for r in rows if r["state"] == "asked"]
    click.echo(render(rows, INTRO_COLUMNS, fmt))


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
    found, new = intros.ask(obj.config, a, b, now, note=note, direct=direct)
    what = "introduced directly" if found.direct else "asked"
    click.echo(f"{found.a} and {found.b}: {what if new else 'already ' + found.state}")
    _write_intro_drafts(obj.config, now)


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
    found = intros.answer(obj.config, a, b, answer, by, now)
    answers = f"{found.answer_a or '-'} / {found.answer_b or '-'}"
    click.echo(f"{found.a} and {found.b}: {found.state} ({answers})")
    _write_intro_drafts(obj.config, now)


@intro.command("outcome")
@click.argument("a")
@click.argument("b")
@click.argument("result", type=click.Choice(("good", "bad")))
@click.option("--note", default="", help="what happened")
@pass_ctx
def intro_outcome(obj: Ctx, a: str, b: str, result: str, note: str) -> None:
    """Record how an introduction went (a bad one shows on both and in suggestions)."""
    from mailer import intros

    found = intros.outcome(obj.config, a, b, result, note, clock.now())
    click.echo(f"{found.a} and {found.b}: {found.outcome}")


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
    store = app.store(config)
    stats = store.stats()
    judged, drafts = app.lanes(config, now)
    lanes = judged.values()
    stats["contacts_by_status"] = dict(Counter(j.status for j in lanes))
    by_lane = Counter(j.lane for j in lanes)
    stats["contacts_by_lane"] = {k: by_lane[k] for k in LANES if by_lane[k]}
    stats["drafts_not_written"] = [
        {"email": d.email, "kind": d.kind, "at": d.written_at, "error": d.error}
        for d in drafts
        if d.error
    ][-5:]
    stats["jobs"] = jobs.status(config, now)
    from mailer.scan import folder_faults

    stats["folder_faults"] = folder_faults(store)
    if fmt == "json":
        click.echo(json.dumps(stats, indent=2, ensure_ascii=False, default=str))
        return
    click.echo(f"store: {config.store_path}")
    click.echo(f"contacts: {stats['contacts']}")
    by_status = stats["contacts_by_status"]
    if by_status:
        click.echo("  " + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())))
        by_lane = stats["contacts_by_lane"]
        click.echo(
            "  lanes: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in by_lane.items())
        )
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
        report = rebuilding.run(obj.config, clock.now(), dry_run=dry_run, progress=update)
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


def main() -> None:
    args = global_options_first(sys.argv[1:])
    try:
        code = cli.main(args=args, prog_name="mailer", standalone_mode=False)
    except ConfigError as e:  # raised while click builds the context
        _fail(f"error: {e}", e.exit_code)
    except click.UsageError as e:  # a bad option or value: one line, as every error
        if type(e).__name__ == "NoArgsIsHelpError":  # `mailer` alone (click >= 8.2)
            click.echo(e.format_message())
            sys.exit(0)
        where = f"mailer {e.ctx.command_path.partition(' ')[2]}".strip() if e.ctx else "mailer"
        _fail(f"error: {_one_line(e.format_message())} (see `{where} --help`)", 2)
    except click.Abort:  # a prompt met the end of its input
        _fail("error: no answer to a question (input ended); give the answers as options", 2)
    except click.ClickException as e:
        _fail(f"error: {_one_line(e.format_message())}", e.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def _one_line(text: str) -> str:
    return " ".join(text.split())


_GLOBAL_FLAGS = ("-v", "--verbose")


def global_options_first(args: list[str]) -> list[str]:
    """`--config PATH` and `-v` may come after the subcommand (`mailer due -v`): move
    them to the front, where click reads them. Nothing after `--` is touched."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg in _GLOBAL_FLAGS or arg.startswith("--config="):
            front.append(arg)
        elif arg == "--config" and i + 1 < len(args):
            front.extend(args[i : i + 2])
            i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest
