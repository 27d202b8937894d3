"""Wiring: turn a Config into the store, the identity and the sources the commands use.

The CLI calls these and the core never does, so the core stays free of I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from mailer import credentials
from mailer.config import Config
from mailer.core.headers import DEFAULT_IGNORE, Identity
from mailer.store import Store

if TYPE_CHECKING:
    from mailer.sources.imap import ImapSource
    from mailer.sources.local import MaildirSource, MboxSource


def identity(config: Config) -> Identity:
    ignore = (
        *DEFAULT_IGNORE,
        *config.get("ignore.addresses"),
        *(f"@{d.lstrip('@').lower()}" for d in config.get("ignore.domains")),
        *(p.lower() for p in config.get("ignore.patterns")),
    )
    return Identity(
        addresses=frozenset(config.me_addresses),
        max_recipients=config.get("scan.max_recipients"),
        ignore=ignore,
    )


def store(config: Config) -> Store:
    return Store(config.store_path)


@contextmanager
def imap_source(config: Config) -> Iterator[ImapSource]:
    from mailer.sources.imap import ImapSource, connect

    account = config.require_account()
    token = credentials.oauth2_token(account)
    secret = None if token else credentials.password(account)
    source = ImapSource(config, connect(account, secret, token))
    try:
        yield source
    finally:
        source.close()


def local_source(kind: str, path: Path) -> MboxSource | MaildirSource:
    from mailer.sources.local import MaildirSource, MboxSource

    return MboxSource(path) if kind == "mbox" else MaildirSource(path)
