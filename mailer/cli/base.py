"""The `mailer` group, its global options, and errors caught once for every command.

Errors are `MailerError`s, caught once here and printed as one line with the
exit code of SPEC section 11 (1 runtime, 2 usage or config).
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import traceback
from typing import TYPE_CHECKING, Any, NoReturn

import click

from mailer import __version__, clock
from mailer.config import Config, load
from mailer.errors import ConfigError, MailerError, UsageError, one_line
from mailer.output import FORMATS, render_lines

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mailer.app import App

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


# The daemon and the dashboard, which run for days, keep Python's cyclic garbage
# collector. Every other command is done in seconds and only paid for it: it walked
# every contact read again and again, a third of `contacts list`, a fifth of `status`
# and half of a scan's commit at 20,000 contacts. What they leave is freed by
# reference counting (store documents and contacts form no cycles); a scan, which
# may read a million messages, collects once per batch (mailer.scan).
COLLECTING = frozenset({"run", "web"})
# A short command (any other) also ends without Python's teardown (main, _leave):
# its Ctx (the store and what was read from it) is kept here, left to the kernel to free.
_kept: Ctx | None = None
# Whether the process ends with the command (main), or runs more (CliRunner): only
# then is the collector switched on again, as its first run walks all the command made.
_more_to_run = True


class Ctx:
    """What one command invocation shares: the config and the `App` built from it, both
    made on first use (`mailer init` and `--help` need neither)."""

    def __init__(self, config_path: str | None, verbose: bool) -> None:
        self.config_path = config_path
        self.verbose = verbose
        self._config: Config | None = None
        self._app: App | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load(self.config_path)
        return self._config

    @property
    def app(self) -> App:
        if self._app is None:
            from mailer.app import App

            self._app = App(self.config)
        return self._app


_LINES_A_WRITE = 200  # a JSON listing's rows: 100 KB or so, memory used again and again


def show(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str) -> None:
    """Print `rows` as `fmt` (`output.render_lines`), some lines at a time.

    Without click's stripping of escape sequences for a pipe, a regex over the
    whole text (a tenth of a 20,000-contact JSON listing): rendered rows hold
    none, as JSON escapes control characters and tables and CSV clean them.
    """
    batch: list[str] = []
    try:
        for line in render_lines(rows, columns, fmt):
            batch.append(line)
            if len(batch) == _LINES_A_WRITE:
                click.echo("\n".join(batch), color=True)
                batch.clear()
        if batch:
            click.echo("\n".join(batch), color=True)
    except BrokenPipeError:
        # The reader is gone (`| head`): the rest is not wanted, and what is still
        # buffered must not fail the exit either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


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

    return check_shape(config.store.path)


# -- helpers the command modules share ---------------------------------------------------


def find_contact(obj: Ctx, who: str) -> Any:
    from mailer.core.naming import resolve

    try:
        return resolve(obj.app.store.contacts(), who)
    except LookupError as e:
        raise UsageError(str(e)) from None


def check_trust(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None and not 0 <= value <= 3:
        raise click.BadParameter("trust is 0, 1, 2 or 3")
    return value


def tier_name(text: str, tiers: list[str]) -> str:
    """A tier the rules know (any one word when no tiers are configured)."""
    from mailer.core.contacts import check_tier

    try:
        return check_tier(text, tiers)
    except ValueError as e:
        raise UsageError(str(e)) from None


format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="output format",
)


report_format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(("table", "json")),
    default="table",
    show_default=True,
    help="output format (json: one object; its keys are in the README)",
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
    global _kept
    ctx.obj = Ctx(config_path, verbose)
    short = ctx.invoked_subcommand not in COLLECTING
    _kept = ctx.obj if short else None
    if short and gc.isenabled():
        gc.disable()
        if _more_to_run:
            ctx.call_on_close(gc.enable)
    clock.now()  # a bad MAILER_NOW fails every command up front, not halfway through


pass_ctx = click.make_pass_decorator(Ctx)


def main() -> None:
    global _more_to_run
    _more_to_run = False
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
        _fail(f"error: {one_line(e.format_message())} (see `{where} --help`)", 2)
    except click.Abort:  # a prompt met the end of its input
        _fail("error: no answer to a question (input ended); give the answers as options", 2)
    except click.ClickException as e:
        _fail(f"error: {one_line(e.format_message())}", e.exit_code)
    code = code if isinstance(code, int) else 0
    if _kept is not None:
        _leave(code)
    sys.exit(code)


def _leave(code: int) -> NoReturn:
    """End a short command now: output flushed, without Python's teardown.

    Every file the command wrote is closed by then (the store renamed into
    place, fsync'd). What is left is memory: the store as read, its histories
    and keys, hundreds of thousands of objects that Python would free one by
    one and walk with its collector at exit (0.05 s of a scan that finds 100
    new messages at 20,000 contacts); the kernel frees them at once.
    """
    if "logging" in sys.modules:
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader gone (`| head`)
            stream.flush()
    os._exit(code)


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
