"""The `mailer` command: parse arguments, call the library, print.

One module per group of commands, each glue only: `base` holds the group,
its global options and the one place errors are caught; the others add
their commands to it when imported here. Errors are `MailerError`s, printed
as one line with the exit code of SPEC section 11 (1 runtime, 2 usage or
config).
"""

from mailer.cli import contacts, drafting, intro, mail, scanning, setup, status, triage, web
from mailer.cli.base import cli, global_options_first, main
from mailer.cli.completion import attach as _attach_completion

__all__ = ["cli", "global_options_first", "main"]
_COMMANDS = (contacts, drafting, intro, mail, scanning, setup, status, triage, web)  # registered
_attach_completion()  # contacts and tiers complete in the shell (after all commands exist)
