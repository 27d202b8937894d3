"""`mailer init`, `mailer check` and `mailer config`: a config to start from, a look at
the account, and what mailer reads.

init asks only what it cannot guess and checks each answer as the config
loader would, so the file it writes loads; the rest of the file is made from
the key table (mailer.config.starter).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mailer.cli.base import Ctx, cli, pass_ctx, report_format_option
from mailer.config import find_path, starter
from mailer.errors import UsageError
from mailer.output import json_document

SECURITY = ("tls", "starttls", "none")


def command_address(email: str) -> str:
    import secrets

    local, _, domain = email.partition("@")
    tag = "".join(secrets.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(6))
    return f"{local}+mailer-{tag}@{domain}"


# -- init's answers, checked the same whether given as options or typed at a prompt -----
# Each raises ValueError with the one line to show.


def _email(text: str) -> str:
    text = text.strip()
    if "@" not in text or any(ch in text for ch in ' "\n\t'):
        raise ValueError(f"{text!r} is not an email address")
    return text.lower()


_HOST_PORT = re.compile(r"\[[^\]]*\]:\d*|[^:]*:\d*")  # host:993, [::1]:993 (a bare IPv6 is fine)


def _host(text: str, asked: bool = False) -> str:
    text = text.strip()
    if _HOST_PORT.fullmatch(text):
        if asked:
            raise ValueError(f"{text!r} has a port in it: give the host alone (the port is next)")
        host, _, port = text.rpartition(":")
        raise ValueError(f"--host {text} has a port in it: use --host {host} --port {port}")
    if not text or any(ch.isspace() or ch in "/\"'" for ch in text):
        raise ValueError(f"{text!r} is not a server name")
    return text


def _name(text: str) -> str:
    if any(ch in text for ch in "\r\n"):
        raise ValueError("the name cannot contain line breaks")
    return text.strip()


def _ca_file(text: str) -> str:
    if not text.strip():
        return ""
    path = Path(text.strip()).expanduser().absolute()
    if not path.is_file():
        raise ValueError(f"CA file {str(path)!r} does not exist")
    return str(path)


def _timezone(text: str) -> str:
    from mailer.config.parse import timezone

    return timezone(text.strip())


def _security(security: str, host: str) -> str:
    from mailer import net

    if security == "none" and not net.is_loopback(host):
        raise ValueError(
            f"security none would send the password in plain text to {host}; "
            "it is allowed only to a loopback address (use tls or starttls)"
        )
    return security


def _given(check: Callable[..., str], value: str) -> str:
    try:
        return check(value)
    except ValueError as e:
        raise UsageError(str(e)) from None


def _ask(text: str, check: Callable[[str], str], default: str | None = None) -> str:
    def proc(answer: str) -> str:
        try:
            return check(answer)
        except ValueError as e:
            raise click.UsageError(str(e)) from None  # click says it and asks again

    shown = default is not None and default != ""
    return str(click.prompt(text, default=default, value_proc=proc, show_default=shown))


@cli.command()
@click.option("--name", help="your name, for signatures")
@click.option("--email", help="your address (also the default login)")
@click.option("--host", help="IMAP server name (the port goes in --port)")
@click.option(
    "--port", type=click.IntRange(1, 65535), help="IMAP port (default 993 for tls, else 143)"
)
@click.option("--security", type=click.Choice(SECURITY), help="tls (default), starttls or none")
@click.option("--username", help="IMAP login (default: the email address)")
@click.option("--ca-file", help="extra CA certificate to trust (self-signed servers)")
@click.option("--timezone", help="time zone of draft_at and the digest (default: the system's)")
@click.option("--force", is_flag=True, help="overwrite an existing file")
@click.option(
    "--systemd",
    is_flag=True,
    help="also write a systemd user unit running this mailer (an existing config is kept)",
)
@click.option(
    "--unit",
    "unit_path",
    metavar="PATH",
    help="where --systemd writes the unit (default ~/.config/systemd/user/mailer.service)",
)
@pass_ctx
def init(
    obj: Ctx,
    name: str | None,
    email: str | None,
    host: str | None,
    port: int | None,
    security: str | None,
    username: str | None,
    ca_file: str | None,
    timezone: str | None,
    force: bool,
    systemd: bool,
    unit_path: str | None,
) -> None:
    """Write a starter config (asks what the options do not say); --systemd: a user unit too."""
    from mailer.config import localzone
    from mailer.config import unit as systemd_unit  # here: its importlib.resources is costly

    path = find_path(obj.config_path)
    systemd = systemd or unit_path is not None
    unit = Path(unit_path).expanduser() if unit_path else None
    if systemd:
        unit = unit or systemd_unit.default_path()
        if unit.exists() and not force:
            raise UsageError(f"{unit} exists", hint="pass --force to overwrite it")
    keep = systemd and path.exists()  # --systemd adds the unit to a config that is there
    if path.exists() and not force and not keep:
        raise UsageError(f"{path} exists", hint="pass --force to overwrite it")
    if not keep:
        values = _answers(
            name,
            email,
            host,
            port,
            security,
            username,
            ca_file,
            timezone,
            localzone.system_timezone(),
        )
        _write_private(path, starter.render(values))
        click.echo(f"wrote {path}")
    if systemd:
        assert unit is not None
        _write_unit(obj, path, unit)
        return
    click.echo("next: export MAILER_PASSWORD=..., then `mailer check` and `mailer scan`")


def _answers(
    name: str | None,
    email: str | None,
    host: str | None,
    port: int | None,
    security: str | None,
    username: str | None,
    ca_file: str | None,
    timezone: str | None,
    system_zone: str,
) -> dict[str, Any]:
    """The key paths init sets. With --email and --host given nothing is asked (the
    rest default); without, each question an option did not answer is asked."""
    asking = email is None or host is None
    if name is not None:
        name = _given(_name, name)
    elif asking:
        name = _ask("Your name (for signatures)", _name, default="")
    email = _given(_email, email) if email is not None else _ask("Your email address", _email)
    if host is not None:
        host = _given(_host, host)
    else:
        host = _ask("IMAP server", lambda t: _host(t, asked=True))
    if security is None and asking:
        security = _ask(
            "Security (tls, starttls or none)", lambda t: _choice(t.strip().lower()), "tls"
        )
    security = _given(lambda s: _security(s, host or ""), security or "tls")
    default_port = 993 if security == "tls" else 143
    if port is None and asking:
        port = int(_ask("IMAP port", _port, str(default_port)))
    if username is not None:
        username = username.strip() or email
    elif asking:
        username = _ask("IMAP login", lambda t: t.strip() or email, email)
    if ca_file is not None:
        ca_file = _given(_ca_file, ca_file)
    elif asking:
        ca_file = _ask("Extra CA file for a self-signed server (Enter for none)", _ca_file, "")
    if timezone is not None:
        timezone = _given(_timezone, timezone)
    elif asking:
        timezone = _ask("Time zone", _timezone, system_zone)
    values: dict[str, Any] = {
        "account.host": host,
        "account.port": port or default_port,
        "account.security": security,
        "account.username": username or email,
        "me.name": name or "",
        "me.addresses": [email],
        "commands.address": command_address(email),
        "rules.timezone": timezone or system_zone,
    }
    if ca_file:
        values["account.ca_file"] = ca_file
    return values


def _choice(text: str) -> str:
    if text not in SECURITY:
        raise ValueError(f"{text!r} is not one of {', '.join(SECURITY)}")
    return text


def _port(text: str) -> str:
    if not text.strip().isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"{text!r} is not a port number (1 to 65535)")
    return text.strip()


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _write_unit(obj: Ctx, config_path: Path, unit: Path) -> None:
    """The unit for this config: the store's folder made now (the unit can write
    only folders that exist when it starts), the drafts Maildir when there is one."""
    from mailer.config import unit as systemd_unit

    config = obj.config  # the file just written or kept: it must load
    store_dir = config.store.path.expanduser().absolute().parent
    store_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    writable = [str(store_dir)]
    if config.drafts.maildir is not None:
        writable.append("-" + str(config.drafts.maildir.expanduser().absolute()))
    text = systemd_unit.render(systemd_unit.mailer_command(), config_path.absolute(), writable)
    unit.parent.mkdir(parents=True, exist_ok=True)
    unit.write_text(text, encoding="utf-8")
    click.echo(f"wrote {unit}")
    click.echo(
        "next: systemctl --user daemon-reload && systemctl --user enable --now "
        f"{unit.name} (the password: account.password_command or the keyring)"
    )


_SPECIAL = ("\\sent", "\\drafts", "\\trash", "\\junk", "\\archive", "\\all")


@cli.command()
@report_format_option
@pass_ctx
def check(obj: Ctx, fmt: str) -> None:
    """Connect, show the folders and what a scan would read; log in to [smtp], sending nothing."""
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
        report["smtp"] = _check_smtp(obj, lambda line: None)
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
    _check_smtp(obj, click.echo)


def _check_smtp(obj: Ctx, report: Callable[[str], None]) -> list[str]:
    """The [smtp] server, as far as sending goes without sending: one line a step."""
    from mailer import smtp

    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        report(line)

    settings = smtp.from_section(obj.config.smtp, obj.app.owner_address)
    if settings is None:
        say("smtp: not configured (smtp.host unset): the digest goes to Drafts")
    else:
        smtp.check(settings, password=smtp.password_for(settings), report=say)
    return lines


@cli.group("config")
def config_group() -> None:
    """The configuration: the file mailer reads and the values in effect."""


@config_group.command("show")
@report_format_option
@pass_ctx
def config_show(obj: Ctx, fmt: str) -> None:
    """Every key with its value in effect, defaults included; secrets never shown."""
    from mailer.config import show

    if fmt == "json":
        click.echo(json_document(show.as_json(obj.config)))
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
