"""`mailer rebuild`: derive every mail-derived field of the store again, from the sources.

Why it exists: a scan only ever adds what is new, so what it once counted
stays as it was counted. A store made before contacts had a monthly history
has no history to learn rhythms from; a change of `me.addresses`, `ignore.*`
or `scan.max_recipients` changes what old mail means; a count can go wrong.
Rebuilding reads every source the store knows again and derives counts,
dates, names and histories afresh, while everything the owner set (tier, tags,
trust, notes, status, snooze, aliases, logged exchanges, drafts, intros) stays.

How, so that it can be killed at any moment:
1. A fresh store is built aside (`<store>.rebuild/`), seeded with every
   contact reduced to what the owner set (so aliases fold their mail into the
   right contact), and every source is scanned into it: the IMAP account when
   `[account]` is set, and each mbox or Maildir the store has imported (a
   missing one is reported and skipped).
2. Under the store's lock, one transaction swaps it in: each contact keeps the
   owner's fields as they are then (a `contacts set` or a merge made meanwhile
   counts) with the rebuilt mail fields; the seen keys, folder states and
   parse failures are the rebuilt ones; every other table stays. One atomic
   write: a kill before it leaves the old store untouched, and the next
   rebuild discards the half-built store aside.

A scan that commits during the rebuild (the daemon's) is caught up with: when
the store has counted mail meanwhile that the store aside has not, the sources
whose scan state moved are read again before the swap.

Contacts the sources never mention (address-book imports, people known from
a forwarded mail whose original is in no scanned folder, mail since deleted)
keep every field, counts and dates included: there is nothing to derive them
from, and dropping them would lose what the store knew. The keys of messages
counted before stay remembered too, so mail that shows up again later is not
counted a second time on top of such kept counts (another rebuild counts it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mailer.config import Config
from mailer.core.contacts import merge
from mailer.errors import MailerError, StoreError, UsageError
from mailer.model import Contact, FolderState
from mailer.scan import FolderReport, Progress
from mailer.store import Store
from mailer.store.keystore import KeyFileError

if TYPE_CHECKING:
    from mailer.app import App
    from mailer.sources.base import Source

# The contact fields a scan derives from mail; `name` and `name_seen` too,
# unless the owner fixed the name. Everything else is the owner's
# (tests/test_rebuild.py checks that every field is one or the other).
_FROM_MAIL = {
    "first_seen",
    "last_inbound",
    "last_outbound",
    "messages_in",
    "messages_out",
    "last_subject",
    "subject_seen",
    "recent_out",
    "last_group",
    "months",
    "gap_days",
    "weight_at",
    "weight_in",
    "weight_out",
}
MAIL_FIELDS = tuple(f.name for f in dataclasses.fields(Contact) if f.name in _FROM_MAIL)
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Contact) if f.name in _FROM_MAIL}

CATCH_UPS = 2  # times the sources a concurrent scan moved are read again, before swapping anyway


class RebuildBusy(MailerError):
    """Another rebuild of the same store is running."""


@dataclass
class SourceResult:
    """One source: what was read of each folder, or why it was skipped."""

    source: str
    folders: list[FolderReport] = field(default_factory=list)
    skipped: str | None = None


@dataclass(frozen=True)
class Outcome:
    """The contacts after a rebuild, and how they came about."""

    contacts: tuple[Contact, ...]
    rebuilt: int  # contacts the sources mention: mail fields derived again
    added: int  # people the sources mention that the store did not know
    kept: tuple[str, ...]  # contacts the sources never mention: kept as they were
    kept_with_mail: tuple[str, ...]  # of those, the ones with counts from earlier scans
    history: int  # contacts with a monthly history
    changed: int  # contacts whose stored fields differ from before


@dataclass
class RebuildReport:
    sources: list[SourceResult] = field(default_factory=list)
    catch_ups: list[SourceResult] = field(default_factory=list)  # read again (a scan ran)
    outcome: Outcome | None = None
    missed: int = 0  # messages counted meanwhile that no source holds (forwarded mail)
    dry_run: bool = False


# -- the pure part ---------------------------------------------------------------------------


def owner_part(c: Contact) -> Contact:
    """`c` with every mail-derived field at its default: what the owner set."""
    return dataclasses.replace(
        c,
        **_DEFAULTS,  # type: ignore[arg-type]
        name=c.name if c.name_fixed else None,
        name_seen=None,
    )


def with_mail(owner: Contact, mail: Contact) -> Contact:
    """`owner`'s contact with the mail-derived fields of `mail`.

    The name is the owner's when fixed; otherwise the one the mail gave, or the
    old one when no mail carried a name (a name is a label, not a count).
    """
    values: dict[str, object] = {f: getattr(mail, f) for f in MAIL_FIELDS}
    if not owner.name_fixed and mail.name:
        values["name"], values["name_seen"] = mail.name, mail.name_seen
    return dataclasses.replace(owner, **values)  # type: ignore[arg-type]


def _has_mail(c: Contact) -> bool:
    return bool(c.messages_in or c.messages_out or c.first_seen)


def combine(current: Sequence[Contact], rebuilt: Sequence[Contact]) -> Outcome:
    """The store's contacts after a rebuild.

    `current`: as the store holds them now; `rebuilt`: as the store aside
    derived them from the sources. Mail that the store aside folded into an
    address that is an alias by now (a merge made during the rebuild) goes to
    the contact that owns the alias.
    """
    primary = {c.email for c in current}
    owner_of = {a: c.email for c in current for a in c.aliases if a not in primary}
    groups: dict[str, list[Contact]] = {}
    for r in rebuilt:
        if _has_mail(r):
            groups.setdefault(owner_of.get(r.email, r.email), []).append(r)
    mail: dict[str, Contact] = {}
    for target, rs in groups.items():
        rs.sort(key=lambda r: r.email != target)  # the target's own record first
        m = rs[0]
        for other in rs[1:]:  # distinct addresses: merge adds their mail up
            m = merge(m, other)
        mail[target] = m

    out: list[Contact] = []
    kept: list[str] = []
    for c in current:
        if c.email in mail:
            out.append(with_mail(c, mail[c.email]))
        else:
            out.append(c)
            kept.append(c.email)
    added = [mail[e] for e in sorted(mail) if e not in primary]
    out.extend(added)
    before = {c.email: c for c in current}
    return Outcome(
        contacts=tuple(out),
        rebuilt=len(current) - len(kept),
        added=len(added),
        kept=tuple(kept),
        kept_with_mail=tuple(e for e in kept if _has_mail(before[e])),
        history=sum(1 for c in out if c.has_history),
        changed=sum(1 for c in out if before.get(c.email) != c),
    )


# -- sources ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Planned:
    source: str  # its id, as the folder states record it
    kind: str  # "imap", "mbox" or "maildir"
    path: Path | None = None
    skipped: str | None = None  # why it cannot be read


def _imap_id(config: Config) -> str | None:
    account = config.account
    # as mailer.sources.imap.ImapSource names itself
    return f"imap:{account.username}@{account.host}" if account else None


def _plan(config: Config, states: Mapping[tuple[str, str], FolderState]) -> list[_Planned]:
    """The sources to read: the account, then each mailbox the store has imported."""
    imap_id = _imap_id(config)
    planned = [_Planned(imap_id, "imap")] if imap_id else []
    for source in sorted({s for s, _ in states} - {imap_id}):
        kind, _, rest = source.partition(":")
        if kind == "imap":
            why = "not the account in [account]" if imap_id else "no [account] in the config"
            planned.append(_Planned(source, kind, skipped=why))
        elif kind in ("mbox", "maildir"):
            path = Path(rest)
            there = path.is_file() if kind == "mbox" else path.is_dir()
            planned.append(_Planned(source, kind, path, None if there else f"{path} is missing"))
        else:
            planned.append(_Planned(source, kind, skipped="unknown kind of source"))
    return planned


def _read(
    app: App, aside: Store, planned: _Planned, now: datetime, progress: Progress | None
) -> SourceResult:
    """Scan one source into the store aside."""
    from mailer.app import local_source
    from mailer.scan import scan

    def into_aside(source: Source) -> SourceResult:
        def labelled(folder: str, done: int, total: int) -> None:
            if progress is not None:
                progress(f"{planned.kind} {folder}", done, total)

        report = scan(
            aside,
            source,
            app.identity,
            now,
            batch_size=app.config.scan.batch_size,
            progress=labelled,
        )
        return SourceResult(planned.source, report.folders)

    if planned.kind == "imap":
        with app.imap_source() as imap:
            return into_aside(imap)
    assert planned.path is not None
    try:
        local = local_source(planned.kind, planned.path)
    except UsageError as e:  # there, but no mailbox (any more)
        return SourceResult(planned.source, skipped=str(e))
    try:
        return into_aside(local)
    finally:
        local.close()


def _moved(
    before: Mapping[tuple[str, str], FolderState], after: Mapping[tuple[str, str], FolderState]
) -> set[str]:
    """Sources whose scan state changed between two looks (a scan ran)."""
    return {key[0] for key, state in after.items() if before.get(key) != state}


# -- the run ---------------------------------------------------------------------------------


def aside_dir(store: Store) -> Path:
    """Where the store aside is built: beside the store, on the same disk."""
    return store.path.with_name(store.path.name + ".rebuild")


@contextlib.contextmanager
def _one_at_a_time(store: Store) -> Iterator[None]:
    """Held for the whole rebuild: a second one of the same store fails at once.

    Not the store's own lock: scans and admin commands go on meanwhile.
    """
    path = store.path.with_name(store.path.name + ".rebuild.lock")
    try:
        os.makedirs(store.path.parent, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as e:
        raise StoreError(
            f"cannot open {path}: {e.strerror or e}",
            hint="check that the store's directory is writable by this user",
        ) from e
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                raise RebuildBusy(
                    f"another `mailer rebuild` of {store.path} is running",
                    hint="wait for it to finish",
                ) from None
            raise StoreError(
                f"cannot lock {path}: {e.strerror or e}",
                hint="the store must be on a local file system",
            ) from e
        yield
    finally:
        os.close(fd)  # releases the flock


def _fresh_dir(path: Path) -> None:
    """An empty directory at `path`, whatever a killed rebuild left there."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        path.mkdir(mode=0o700)
    except OSError as e:
        raise StoreError(
            f"cannot prepare {path} for the rebuild: {e.strerror or e}",
            hint="check free disk space and that the store's directory is writable",
        ) from e


def run(
    app: App,
    now: datetime,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> RebuildReport:
    """Rebuild the store of `app` from its sources (see the module docstring).

    With `dry_run` everything is read and the outcome reported, but the store
    is left as it is.
    """
    main = app.store
    report = RebuildReport(dry_run=dry_run)
    with _one_at_a_time(main):
        where = aside_dir(main)
        _fresh_dir(where)
        try:
            _rebuild(app, main, Store(where / main.path.name), now, report, progress)
        finally:
            shutil.rmtree(where, ignore_errors=True)
    return report


def _rebuild(
    app: App,
    main: Store,
    aside: Store,
    now: datetime,
    report: RebuildReport,
    progress: Progress | None,
) -> None:
    try:
        start_seen = main.seen_keys()
    except KeyFileError:
        start_seen = set()  # lost: what the sources hold is counted again
    looked = main.folder_states()
    planned = _plan(app.config, looked)
    report.sources = [SourceResult(p.source, skipped=p.skipped) for p in planned]
    readable = [p for p in planned if not p.skipped]
    if not readable:
        why = "; ".join(f"{p.source}: {p.skipped}" for p in planned)
        raise UsageError(
            f"nothing to rebuild from: {why or 'no [account] and no mailbox imported'}",
            hint="set up [account], or restore the mailbox files the store was built from",
        )
    # The owner's contacts first, so that aliases fold their mail into the right one.
    aside.insert_contacts(owner_part(c) for c in main.contacts())

    by_source = {r.source: i for i, r in enumerate(report.sources)}
    for p in readable:
        report.sources[by_source[p.source]] = _read(app, aside, p, now, progress)
    if report.dry_run:
        report.outcome = combine(main.contacts_with_history(), aside.contacts_with_history())
        return

    for attempt in range(CATCH_UPS + 1):
        last = attempt == CATCH_UPS
        if main.swap_rebuilt(aside, _decider(report, start_seen, aside, last=last)):
            return
        # The store counted mail meanwhile that the store aside lacks: read again
        # the sources a scan moved (or a mailbox imported meanwhile), then try again.
        states = main.folder_states()
        moved = _moved(looked, states)
        looked = states
        again = [p for p in _plan(app.config, states) if p.source in moved and not p.skipped]
        if not again:  # counted from no source (a forwarded mail): nothing to read
            main.swap_rebuilt(aside, _decider(report, start_seen, aside, last=True, no_source=True))
            return
        for p in again:
            report.catch_ups.append(_read(app, aside, p, now, progress))


def _decider(
    report: RebuildReport,
    start_seen: set[str],
    aside: Store,
    *,
    last: bool,
    no_source: bool = False,
) -> Callable[[list[Contact], set[str]], tuple[Sequence[Contact], set[str]] | None]:
    """What the swap writes, decided under the store's lock (see Store.swap_rebuilt).

    Messages the store counted during the rebuild that the store aside did not
    (`missed`) make it refuse, unless this is the `last` try. Their keys are
    then kept as counted when they came from `no_source` (forwarded mail: only
    the contacts they made keep them), and forgotten otherwise, so that the
    next scan counts them into the rebuilt contacts.
    """
    rebuilt = aside.contacts_with_history()
    aside_seen = aside.seen_keys()

    def decide(current: list[Contact], seen: set[str]) -> tuple[Sequence[Contact], set[str]] | None:
        missed = seen - start_seen - aside_seen
        if missed and not last:
            return None
        report.missed = len(missed)
        report.outcome = combine(current, rebuilt)
        # What the store counted before stays counted: see the module docstring.
        return report.outcome.contacts, aside_seen | start_seen | (missed if no_source else set())

    return decide
