"""Connecting and logging in to the IMAP account, and the errors of a session.

Apart from what is read over the connection (imap.py, imap_boxes.py) because
the IDLE watcher (idle.py) needs the connection and none of the reading.
TLS is verified by default; plain text is allowed only to a loopback address.
Everything imapclient and the socket raise becomes one of our errors here.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from typing import Any

import imapclient
from imapclient.exceptions import IMAPClientError, LoginError

from mailer import net
from mailer.config import Account
from mailer.errors import AuthError, ConfigError, ConnectError, SourceError


def tls_context(account: Account) -> ssl.SSLContext:
    return net.tls_context(account.ca_file, "account.ca_file")


def connect(account: Account, password: str | None, oauth2_token: str | None = None) -> Any:
    """A logged-in IMAPClient, or a MailerError that says what to fix."""
    where = f"{account.host}:{account.port}"
    if account.security == "none" and not net.is_loopback(account.host):
        raise ConfigError(
            f"account.security = none sends your password in plain text to {account.host}",
            hint="use tls or starttls; none is allowed only to a loopback address",
        )
    ctx = tls_context(account) if account.security != "none" else None
    try:
        client = imapclient.IMAPClient(
            account.host,
            port=account.port,
            ssl=account.security == "tls",
            ssl_context=ctx,
            timeout=account.timeout,
        )
        if account.security == "starttls":
            client.starttls(ctx)
    except ssl.SSLCertVerificationError as e:
        raise ConnectError(
            f"the TLS certificate of {where} does not verify: {net.reason(e)}",
            hint="if the server uses its own CA, set account.ca_file to it",
        ) from None
    except (OSError, IMAPClientError, ssl.SSLError) as e:
        raise ConnectError(
            f"cannot connect to {where}: {net.reason(e)}",
            hint="check account.host, account.port and account.security, and that the server is up",
        ) from None
    client.normalise_times = False
    try:
        if oauth2_token:
            client.oauth2_login(account.username, oauth2_token)
        else:
            client.login(account.username, password or "")
    except LoginError as e:
        close_quietly(client)
        raise AuthError(
            f"{where} refused the login of {account.username}: {net.reason(e)}",
            hint="check account.username and the password",
        ) from None
    except (OSError, IMAPClientError) as e:
        close_quietly(client)
        raise ConnectError(f"lost the connection to {where} at login: {net.reason(e)}") from None
    return client


def close_quietly(client: Any) -> None:
    # a dying connection has nothing more to tell
    try:
        client.logout()
    except Exception:
        with contextlib.suppress(Exception):
            client.shutdown()


@contextlib.contextmanager
def guard(where: str, what: str) -> Iterator[None]:
    """Turn imapclient and socket failures mid-session into a SourceError."""
    try:
        yield
    except (OSError, IMAPClientError, ssl.SSLError) as e:
        raise SourceError(f"{where}: {what} failed: {net.reason(e)}") from None
