"""`mailer init` and `mailer check`: a config to start from, and a look at the account."""

from __future__ import annotations

import json
import os

import click

from mailer.cli.base import Ctx, cli, pass_ctx
from mailer.config import find_path, starter
from mailer.errors import UsageError

STARTER = starter.template()  # made from the key table (mailer.config.starter)


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
    from mailer.sources.base import FolderError

    config = obj.config
    store = obj.app.store
    with obj.app.imap_source() as source:
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


@cli.group("config")
def config_group() -> None:
    """The configuration: the file mailer reads and the values in effect."""


@config_group.command("show")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("table", "json")),
    default="table",
    show_default=True,
    help="output format",
)
@pass_ctx
def config_show(obj: Ctx, fmt: str) -> None:
    """Every key with its value in effect, defaults included; secrets never shown."""
    from mailer.config import show

    if fmt == "json":
        click.echo(json.dumps(show.as_json(obj.config), indent=2, ensure_ascii=False))
    else:
        click.echo(show.as_text(obj.config))


@config_group.command("path")
@pass_ctx
def config_path(obj: Ctx) -> None:
    """The config file mailer reads: --config, else $MAILER_CONFIG, else the XDG config dir."""
    click.echo(str(find_path(obj.config_path)))


@config_group.command("example")
def config_example() -> None:
    """Print the example config that documents every key (shipped with mailer)."""
    from mailer.config import shipped

    click.echo(shipped.text(shipped.EXAMPLE), nl=False)
