"""Wiring: turn a Config into the store, the identity and the sources the commands use.

The CLI calls these and the core never does, so the core stays free of I/O.
Imports of what only some commands need stay inside the functions: every
command pays for the module's imports at start-up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mailer.config import Config
from mailer.model import Contact, DraftRecord, iso
from mailer.store import Store

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from mailer.core.headers import Identity
    from mailer.core.intros import IntroRules
    from mailer.core.plan import Plan
    from mailer.core.rules import Judgement
    from mailer.core.ruleset import Rules
    from mailer.render import Renderer
    from mailer.scan import Progress, ScanReport
    from mailer.sources.base import Drafts, Source
    from mailer.sources.imap import ImapSource
    from mailer.sources.local import MaildirSource, MboxSource


def identity(config: Config) -> Identity:
    from mailer.core.headers import DEFAULT_IGNORE, Identity

    ignore = (
        *DEFAULT_IGNORE,
        *config.ignore.addresses,
        *(f"@{d.lstrip('@').lower()}" for d in config.ignore.domains),
        *(p.lower() for p in config.ignore.patterns),
    )
    # the command address is the owner's too: mail to it is never a contact's
    command_address = config.commands.address
    owner = [*config.me.addresses, *([command_address] if command_address else [])]
    return Identity(
        addresses=frozenset(owner),
        max_recipients=config.scan.max_recipients,
        ignore=ignore,
    )


def store(config: Config) -> Store:
    return Store(config.store.path)


@contextmanager
def imap_source(config: Config) -> Iterator[ImapSource]:
    from mailer import credentials
    from mailer.sources.imap import ImapSource, connect

    account = config.require_account()
    token = credentials.oauth2_token(account)
    secret = None if token else credentials.password(account)
    # reconnect: a folder deleted mid-scan drops the connection (Dovecot); only it is skipped
    source = ImapSource(
        account,
        config.folders,
        connect(account, secret, token),
        reconnect=lambda: connect(account, secret, token),
    )
    try:
        yield source
    finally:
        source.close()


def local_source(kind: str, path: Path) -> MboxSource | MaildirSource:
    from mailer.sources.local import MaildirSource, MboxSource

    return MboxSource(path) if kind == "mbox" else MaildirSource(path)


def rules(config: Config) -> Rules:
    """[rules] as the core's Rules: every field has the key of its name."""
    from mailer.core.ruleset import Rules

    return _as(Rules, config.rules)


def intro_rules(config: Config) -> IntroRules:
    """[intros] as the core's IntroRules, the same way."""
    from mailer.core.intros import IntroRules

    return _as(IntroRules, config.intros)


_T = TypeVar("_T", bound="DataclassInstance")


def _as(cls: type[_T], section: object) -> _T:
    # By name, so a field the core adds without a key fails here at once.
    return cls(**{f.name: getattr(section, f.name) for f in dataclasses.fields(cls)})


def plan(config: Config, now: datetime, open_keys: Collection[str] | None = None) -> Plan:
    """The plan at `now`; without `open_keys`, the Drafts folder as last seen."""
    from mailer.core.plan import plan as make_plan

    contacts, drafts, last_seen = store(config).planning()
    return make_plan(
        contacts, drafts, rules(config), now, last_seen if open_keys is None else open_keys
    )


def lanes(config: Config, now: datetime) -> tuple[dict[str, Judgement], list[DraftRecord]]:
    """Every contact's judgement at `now` (no plan of drafts), and the drafts written."""
    from mailer.core.rules import judge_all

    contacts, drafts, last_seen = store(config).planning()
    return judge_all(contacts, drafts, rules(config), now, last_seen), drafts


def renderer(config: Config) -> Renderer:
    from mailer.render import Renderer

    return Renderer(config.drafts.templates_dir, config.me.name, owner_address(config))


def owner_address(config: Config) -> str:
    return config.me.addresses[0]


def drafts_in(config: Config, source: ImapSource | None) -> Drafts:
    """The configured local Maildir, else the Drafts folder of the open IMAP account."""
    maildir = config.drafts.maildir
    if maildir:
        from mailer.sources.local import MaildirDrafts

        return MaildirDrafts(maildir)
    assert source is not None, "no drafts.maildir: drafts go to the IMAP account"
    return source.drafts()


@contextmanager
def drafts_target(config: Config) -> Iterator[Drafts]:
    """Where drafts go, connecting to the account only when they go there."""
    if config.drafts.maildir:
        yield drafts_in(config, None)
        return
    with imap_source(config) as source:
        yield drafts_in(config, source)


def scan_source(
    config: Config,
    source: Source,
    now: datetime,
    *,
    full: bool = False,
    progress: Progress | None = None,
) -> ScanReport:
    from mailer.scan import scan

    return scan(
        store(config),
        source,
        identity(config),
        now,
        batch_size=config.scan.batch_size,
        full=full,
        progress=progress,
        skip_faulty=True,  # one missing folder must not cost the others (or command mail)
    )


def contact_rows(
    config: Config,
    now: datetime,
    contacts: list[Contact] | None = None,
    *,
    listed_only: bool = False,
    detail: bool = True,
) -> list[dict[str, Any]]:
    """Contacts as SPEC section 4 objects, with what the rules say of each (lane, ...).

    `listed_only`: only relationships (`Judgement.listed`), as lists show by default.
    `detail` False leaves out strength, rhythm and reason (a table does not show
    them; working them out is a third of a 10,000-contact listing).
    """
    from mailer.core.rules import judge_all

    everyone, drafts, open_keys = store(config).planning()
    people = everyone if contacts is None else contacts
    lanes = judge_all(people, drafts, rules(config), now, open_keys)
    rows = []
    for c in people:
        j = lanes[c.email]
        if listed_only and not j.listed:
            continue
        row = c.to_json()
        row["status"] = j.status
        row["next_due"] = iso(j.due_at)
        row["lane"] = j.lane
        if detail:
            row["strength"] = j.strength
            row["rhythm_days"] = j.rhythm_days
            row["reason"] = j.reason
        rows.append(row)
    return rows
