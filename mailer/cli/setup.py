"""`mailer init` and `mailer check`: a config to start from, and a look at the account."""

from __future__ import annotations

import os
from typing import Any

import click

from mailer.cli.base import Ctx, cli, pass_ctx, report_format_option
from mailer.config import find_path, starter
from mailer.errors import UsageError
from mailer.output import json_document

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


_SPECIAL = ("\\sent", "\\drafts", "\\trash", "\\junk", "\\archive", "\\all")


@cli.command()
@report_format_option
@pass_ctx
def check(obj: Ctx, fmt: str) -> None:
    """Connect, show the folders and what a scan would read."""
    from mailer.sources.base import FolderError

    config = obj.config
    store = obj.app.store
    with obj.app.imap_source() as source:
        account = config.require_account()
        report: dict[str, Any] = {
            "host": account.host,
            "port": account.port,
            "security": account.security,
            "username": account.username,
            "folders": [
                {"name": name, "special": [f for f in flags if f.lower() in _SPECIAL]}
                for name, flags in source.list_folders()
            ],
            "drafts_folder": source.folder("drafts"),
            "sent_folder": source.folder("sent"),
            "scan": [],
        }
        states = store.folder_states()
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
                report["scan"].append({"folder": name, "error": str(e)})
                continue
            report["scan"].append(
                {"folder": name, "messages": info.messages, "to_read": todo, "why": why}
            )
    if fmt == "json":
        click.echo(json_document(report))
        return
    click.echo(
        f"connected to {report['host']}:{report['port']} ({report['security']}) "
        f"as {report['username']}"
    )
    click.echo(f"{len(report['folders'])} folders:")
    for f in report["folders"]:
        special = f["special"]
        click.echo(f"  {f['name']}" + (f"  ({' '.join(special)})" if special else ""))
    click.echo(f"drafts folder: {report['drafts_folder'] or 'not found (set folders.drafts)'}")
    click.echo("a scan reads:")
    for f in report["scan"]:
        if "error" in f:
            click.echo(f"  {f['folder']}: cannot be read, a scan skips it: {f['error']}")
        else:
            click.echo(
                f"  {f['folder']}: {f['messages']} messages, {f['to_read']} to read ({f['why']})"
            )
    if not report["sent_folder"]:
        click.echo("warning: no Sent folder found; set folders.sent so outbound mail counts")
