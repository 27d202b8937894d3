"""The composition root: `App(config)` builds, once, the parts every use case needs.

The CLI builds one App per command (cli/base.py) and the daemon one for its
lifetime (jobs.py); both pass it to the same use cases (cases.py, inbox.py,
intros.py, digest.py, ...), which take their parts from it: the store, the
owner's identity, the rules, the renderer, and the mailbox edges (the IMAP
account, the Drafts folder). The core never sees an App, so it stays free of I/O.

Imports of what only some commands need stay inside the methods: every
command pays for this module's imports at start-up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property
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


class App:
    """The parts of mailer built from one Config.

    What follows from the config alone (identity, rules, owner) is built once, on
    first use. `store` and `renderer` are handles on files that change under a
    daemon running for weeks (the store, which other processes write; the user's
    templates folder): each use gets a new one, as it always did, so that reusing
    an App gives what building a new one would.
    """

    def __init__(self, config: Config) -> None:
        self.config = config

    def __repr__(self) -> str:
        return f"App({str(self.config.store.path)!r})"

    @property
    def store(self) -> Store:
        """A new handle on the store (cheap: the file is read per transaction)."""
        return Store(self.config.store.path)

    @cached_property
    def identity(self) -> Identity:
        from mailer.core.headers import DEFAULT_IGNORE, Identity

        config = self.config
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

    @cached_property
    def rules(self) -> Rules:
        """[rules] as the core's Rules: every field has the key of its name."""
        from mailer.core.ruleset import Rules

        return _as(Rules, self.config.rules)

    @cached_property
    def intro_rules(self) -> IntroRules:
        """[intros] as the core's IntroRules, the same way."""
        from mailer.core.intros import IntroRules

        return _as(IntroRules, self.config.intros)

    @property
    def renderer(self) -> Renderer:
        """A new Renderer: templates added to the folder since count (jinja2 keeps a
        built-in template it loaded even when the user's folder gains one of its name)."""
        from mailer.render import Renderer

        return Renderer(self.config.drafts.templates_dir, self.config.me.name, self.owner_address)

    @cached_property
    def owner_address(self) -> str:
        return self.config.me.addresses[0]

    @cached_property
    def owner(self) -> tuple[str, str]:
        """(name, address) the owner's mail goes out as."""
        return (self.config.me.name, self.owner_address)

    # -- the mailbox edges ---------------------------------------------------------------

    @contextmanager
    def imap_source(self) -> Iterator[ImapSource]:
        from mailer import credentials
        from mailer.sources.imap import ImapSource, connect

        account = self.config.require_account()
        token = credentials.oauth2_token(account)
        secret = None if token else credentials.password(account)
        # reconnect: a folder deleted mid-scan drops the connection (Dovecot); only it is skipped
        source = ImapSource(
            account,
            self.config.folders,
            connect(account, secret, token),
            reconnect=lambda: connect(account, secret, token),
        )
        try:
            yield source
        finally:
            source.close()

    def drafts_in(self, source: ImapSource | None) -> Drafts:
        """The configured local Maildir, else the Drafts folder of the open IMAP account."""
        maildir = self.config.drafts.maildir
        if maildir:
            from mailer.sources.local import MaildirDrafts

            return MaildirDrafts(maildir)
        assert source is not None, "no drafts.maildir: drafts go to the IMAP account"
        return source.drafts()

    @contextmanager
    def drafts_target(self) -> Iterator[Drafts]:
        """Where drafts go, connecting to the account only when they go there."""
        if self.config.drafts.maildir:
            yield self.drafts_in(None)
            return
        with self.imap_source() as source:
            yield self.drafts_in(source)

    def scan(
        self,
        source: Source,
        now: datetime,
        *,
        full: bool = False,
        progress: Progress | None = None,
    ) -> ScanReport:
        from mailer.scan import scan

        return scan(
            self.store,
            source,
            self.identity,
            now,
            batch_size=self.config.scan.batch_size,
            full=full,
            progress=progress,
            skip_faulty=True,  # one missing folder must not cost the others (or command mail)
        )

    # -- what the rules say ----------------------------------------------------------------

    def plan(self, now: datetime, open_keys: Collection[str] | None = None) -> Plan:
        """The plan at `now`; without `open_keys`, the Drafts folder as last seen."""
        from mailer.core.plan import plan as make_plan

        contacts, drafts, last_seen = self.store.planning()
        return make_plan(
            contacts, drafts, self.rules, now, last_seen if open_keys is None else open_keys
        )

    def lanes(self, now: datetime) -> tuple[dict[str, Judgement], list[DraftRecord]]:
        """Every contact's judgement at `now` (no plan of drafts), and the drafts written."""
        from mailer.core.rules import judge_all

        contacts, drafts, last_seen = self.store.planning()
        return judge_all(contacts, drafts, self.rules, now, last_seen), drafts

    def contact_rows(
        self,
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
        from mailer.core.rules import judge_all, relationship

        everyone, drafts, open_keys = self.store.planning()
        people = everyone if contacts is None else contacts
        if listed_only:  # judged or not, the others are not listed (a third, often)
            people = [c for c in people if relationship(c)]
        lanes = judge_all(people, drafts, self.rules, now, open_keys)
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


def local_source(kind: str, path: Path) -> MboxSource | MaildirSource:
    from mailer.sources.local import MaildirSource, MboxSource

    return MboxSource(path) if kind == "mbox" else MaildirSource(path)


_T = TypeVar("_T", bound="DataclassInstance")


def _as(cls: type[_T], section: object) -> _T:
    # By name, so a field the core adds without a key fails here at once.
    return cls(**{f.name: getattr(section, f.name) for f in dataclasses.fields(cls)})
