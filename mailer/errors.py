"""One error type for everything the user can cause or fix.

Each carries the exit code of SPEC section 11 and a one-line message that says
what to do; the CLI catches `MailerError` once and prints that line.
"""

from __future__ import annotations


class MailerError(Exception):
    """A failure the user should see as one line, with an exit code."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(MailerError):
    """Bad arguments or bad input files: the user must change what they asked."""

    exit_code = 2


class ConfigError(UsageError):
    """The configuration is missing or wrong; the message names the key path."""


class StoreError(MailerError):
    """The store file cannot be read or written."""


class StoreFormatError(StoreError):
    """The store file is JSON, but not of the shape mailer writes (edited by hand, or
    by another program): the user must fix the named document or move the file."""

    exit_code = 2


class SourceError(MailerError):
    """A mail source failed at run time: network, server, or a local file."""


class ConnectError(SourceError):
    """The server cannot be reached, or TLS does not verify."""


class AuthError(SourceError):
    """The server refused the login."""


def one_line(text: object) -> str:
    """`text` with its whitespace (line breaks of server replies, library messages)
    collapsed: an error is one line."""
    return " ".join(str(text).split())


def describe(error: BaseException) -> str:
    """One line: a MailerError's own message, otherwise the type too (a bug)."""
    text = one_line(error)
    if isinstance(error, MailerError):
        return text or type(error).__name__
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
