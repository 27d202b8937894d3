"""What scanning and rebuilding write: messages counted once, folder positions, parse failures.

Kept apart because this is the store's busiest writer (a commit per batch of
messages) and the one place where the contacts, the key files and the history
file change together: a batch is counted, folded and positioned in one
transaction, or not at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tinydb import TinyDB

from mailer.core.contacts import Tallies
from mailer.errors import one_line
from mailer.model import Contact, FolderState, Parsed
from mailer.store.beside import Beside, HistoryWrite
from mailer.store.contacts import contact_ids, put_contacts, with_history, with_months
from mailer.store.engine import StoreFile, read_aside
from mailer.store.keystore import KeyFileError, KeySet, key_number, key_text
from mailer.store.memory import mark_changed, raw_docs, replace_with
from mailer.store.schema import CONTACTS, FAILURES, FOLDERS

RECENT_FAILURES = 50  # how many parse failures are kept with their details
MAX_ERROR_CHARS = 500  # a failure's message is cut to this, to keep the file small
FAILED_KEYS_KEPT = 10_000  # keys of failed messages remembered, so each is recorded once


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one `commit_scan_batch` did."""

    new: int = 0  # messages counted for the first time
    duplicates: int = 0  # messages whose key had been counted already
    skipped: int = 0  # new messages that carry no interaction (automated mail, ...)
    errors: int = 0  # new messages whose header could not be parsed
    interactions: int = 0  # interactions folded into contacts
    contacts_created: int = 0
    contacts_updated: int = 0
    failures_recorded: int = 0


class ScanTables(StoreFile):
    """Counting mail into the contacts, and swapping in what a rebuild derived."""

    def folder_states(self) -> dict[tuple[str, str], FolderState]:
        with self.snapshot() as db:
            states = [folder_from_doc(d) for d in db.table(FOLDERS).all()]
        return {(s.source, s.folder): s for s in states}

    def reset_folder(self, source: str, folder: str, uidvalidity: int | None) -> None:
        """Start a folder over (new UIDVALIDITY, or a full rescan) from UID 0.

        Seen message keys are kept, so the rescan counts nothing twice.
        """
        with self.transaction() as db:
            table = db.table(FOLDERS)
            doc_id, old = _find_folder(table.all(), source, folder)
            state = FolderState(
                source=source,
                folder=folder,
                uidvalidity=uidvalidity,
                last_uid=0,
                scanned_at=old.scanned_at if old else None,
            )
            _put_folder(table, doc_id, state)

    def commit_scan_batch(
        self, state: FolderState, parsed: list[Parsed], failures: list[dict[str, Any]]
    ) -> BatchResult:
        """Count one batch of parsed messages, in one transaction.

        Messages whose key was counted before (any folder, any source, an
        earlier batch or earlier in this one) are dropped. Only messages that
        carry interactions are recorded as seen: skipped or unparsable ones
        change no contact, so a later rescan may judge them again (after a fix
        of the ignore rules, say). `state` is stored as the folder's state,
        except that within one UIDVALIDITY `last_uid` never goes back (only
        `reset_folder` does that), so two scanners racing cannot undo each
        other's progress. Each failure dict (folder/uid/error, ...) is kept
        among the most recent ones and counted in the total.
        """
        with self._with_files() as (files, db):
            batch = Batch(_seen(files, db, parsed))
            batch.add(parsed, failures)
            return _commit(db, files, state, batch)

    def counted_keys(self) -> Collection[int]:
        """The keys (as numbers, see `key_number`) of every message counted so far: for
        a `Batch`, which tells new messages from counted ones while a scan reads."""
        with self._with_files() as (files, db):
            return files.keys(db)

    def commit_counted(self, state: FolderState, batch: Batch) -> BatchResult | None:
        """`commit_scan_batch` for messages counted as they were read (`Batch`).

        None, with nothing written, when another process counted one of the
        batch's messages after `batch.seen` was read (two scans of one mailbox at
        once): what the batch tallied for that message cannot be taken out
        again, so the caller reads the batch's messages again.
        """
        with self._with_files() as (files, db):
            seen = files.keys(db)
            if (seen is not batch.seen or len(seen) != batch.seen_size) and any(
                k in seen for k in batch.keys
            ):
                return None
            return _commit(db, files, state, batch)

    def seen_keys(self) -> set[str]:
        """The keys of every message counted so far (as 16 hex digits: see `counted`)."""
        with self._with_files() as (files, db):
            return {key_text(n) for n in files.keys(db)}

    def counted(self, key: str) -> bool:
        """Whether the message of key `key` was counted."""
        with self._with_files() as (files, db):
            return key_number(key) in files.keys(db)

    def swap_rebuilt(
        self,
        aside: StoreFile,
        decide: Callable[
            [list[Contact], set[str]], tuple[Sequence[Contact], Collection[str]] | None
        ],
    ) -> bool:
        """Swap in what a rebuild derived in the store `aside`: one transaction, one write.

        Under this store's lock, `decide` gets the contacts and the seen message
        keys as they are now and returns the contacts this store is to hold
        and the seen keys to keep, or None to change nothing (False). The
        folder states and parse failures become `aside`'s, except that the
        folder states of sources `aside` never read stay; every other table
        (drafts, logged, intros, commands, meta, ...) stays as it is.
        """
        data = read_aside(aside.path)
        aside_folders = [dict(d) for d in (data.get(FOLDERS) or {}).values()]
        aside_failures = [dict(d) for d in (data.get(FAILURES) or {}).values()]
        read = {d.get("source") for d in aside_folders}
        with self._with_files() as (files, db):
            docs = raw_docs(db, CONTACTS)
            try:
                counted = {key_text(n) for n in files.keys(db)}
            except KeyFileError:
                counted = set()  # lost: the rebuild has counted everything again
            decided = decide(with_months(docs.values(), files.history(db).all()), counted)
            if decided is None:
                return False
            contacts, seen = decided
            files.history.replace(db, {c.email: c.months for c in contacts})

            new = {c.email: c.to_doc() for c in contacts}
            ids = contact_ids(docs)
            gone = [e for e in ids if e not in new]
            for email in gone:
                del docs[ids.pop(email)]
            if gone:
                mark_changed(db)
            put_contacts(db, docs, ids, new)

            files.keys.replace(db, [key_number(k) for k in seen])
            folders = db.table(FOLDERS)
            unread = [dict(d) for d in folders.all() if d.get("source") not in read]
            folders.truncate()
            folders.insert_multiple([*aside_folders, *unread])
            failures = db.table(FAILURES)
            failures.truncate()
            failures.insert_multiple(aside_failures)
        return True

    def compact(self) -> None:
        """Merge the log of message keys into a new base (housekeeping: loads stay quick),
        and remove key files of killed writers."""
        with self._with_files() as (files, db):
            files.keys.compact(db)


class Batch:
    """Parsed messages counted as a scan reads them, before they are committed: their
    new keys and what their interactions say per person (`Tallies`), not the
    messages themselves. Memory follows the people in a batch, so a batch can be
    large, and the costly part of a commit (every touched contact folded again)
    is paid once per person per batch.

    `seen` holds the keys counted before; `Store.commit_counted` checks the batch
    against the keys as they are when it commits.
    """

    def __init__(self, seen: Collection[int]) -> None:
        self.seen = seen
        self.seen_size = len(seen)  # keys are only ever added: more means others counted
        self.keys: set[int] = set()  # new keys of messages with interactions
        self.tallies = Tallies()
        self.messages = self.duplicates = self.skipped = self.errors = self.interactions = 0
        self.failures: list[dict[str, Any]] = []

    def add(self, parsed: Iterable[Parsed], failures: Iterable[dict[str, Any]] = ()) -> None:
        """Count parsed messages (and record their failures: see `commit_scan_batch`)."""
        seen, mine, tallies = self.seen, self.keys, self.tallies
        for p in parsed:
            self.messages += 1
            number = key_number(p.key) if p.key else None
            if number is not None and (number in mine or number in seen):
                self.duplicates += 1
            elif p.skipped is not None:
                # group mail: no key kept, its hint (a latest date) is the same applied twice
                tallies.add(p.interactions)
                self.interactions += len(p.interactions)
                self.skipped += 1
            elif p.interactions:
                _check_key(p.key)
                assert number is not None
                mine.add(number)
                tallies.add(p.interactions)
                self.interactions += len(p.interactions)
            elif p.error is not None:
                self.errors += 1
            else:
                self.skipped += 1
        self.failures.extend(failures)


def _seen(files: Beside, db: TinyDB, parsed: Sequence[Parsed]) -> KeySet:
    """The keys counted before, read only when `parsed` has interactions to count."""
    return files.keys(db) if any(p.interactions for p in parsed) else KeySet.empty()


def _commit(db: TinyDB, files: Beside, state: FolderState, batch: Batch) -> BatchResult:
    result = _count(db, batch, files)
    folders = db.table(FOLDERS)
    doc_id, old = _find_folder(folders.all(), state.source, state.folder)
    if old is not None and old.uidvalidity == state.uidvalidity:
        state = dataclasses.replace(state, last_uid=max(state.last_uid, old.last_uid))
    _put_folder(folders, doc_id, state)
    if batch.failures:
        result = dataclasses.replace(
            result, failures_recorded=_add_failures(db, state, batch.failures)
        )
    return result


def count_new(db: TinyDB, parsed: Sequence[Parsed], files: Beside) -> BatchResult:
    """Fold the interactions of messages not counted before; remember their keys."""
    batch = Batch(_seen(files, db, parsed))
    batch.add(parsed)
    return _count(db, batch, files)


def _count(db: TinyDB, batch: Batch, files: Beside) -> BatchResult:
    """Fold what `batch` tallied into the contacts; remember its keys."""
    created, updated = (
        _fold_into(db, batch.tallies, files.history) if batch.interactions else (0, 0)
    )
    files.keys.add(db, sorted(batch.keys))
    return BatchResult(
        new=len(batch.keys),
        duplicates=batch.duplicates,
        skipped=batch.skipped,
        errors=batch.errors,
        interactions=batch.interactions,
        contacts_created=created,
        contacts_updated=updated,
        failures_recorded=0,
    )


def _fold_into(db: TinyDB, tallies: Tallies, history: HistoryWrite) -> tuple[int, int]:
    """Fold tallies into the contacts table: O(contacts + people tallied), on the
    stored documents themselves (TinyDB's copies of 20,000 contacts cost more than a
    small batch's whole fold)."""
    docs = raw_docs(db, CONTACTS)
    ids = contact_ids(docs)
    aliases = {
        str(a): str(d.get("email", "")) for d in docs.values() for a in d.get("aliases") or ()
    }
    if aliases:  # mail from another address of a merged contact counts for the contact
        tallies = tallies.renamed(aliases)
    months = history(db)

    def existing(email: str) -> Contact | None:
        doc_id = ids.get(email)
        return None if doc_id is None else with_history(docs[doc_id], months)

    changed: dict[str, dict[str, Any]] = {}
    changed_months: dict[str, str] = {}
    for email, c in tallies.changes(existing):  # one Contact at a time: see Tallies.changes
        changed[email], changed_months[email] = c.to_doc(), c.months
    history.put(db, changed_months)
    return put_contacts(db, docs, ids, {e: changed[e] for e in sorted(changed)})


def _check_key(key: str) -> None:
    # Keys are stored space-separated in one string; one with blanks would split.
    if not key or len(key.split()) != 1 or key.strip() != key:
        raise ValueError(f"message key {key!r} must be non-empty and without blanks")


def folder_from_doc(doc: Mapping[str, Any]) -> FolderState:
    return FolderState(
        source=str(doc["source"]),
        folder=str(doc["folder"]),
        uidvalidity=doc.get("uidvalidity"),
        last_uid=int(doc.get("last_uid") or 0),
        scanned_at=doc.get("scanned_at"),
    )


def _find_folder(
    docs: Iterable[Any], source: str, folder: str
) -> tuple[int | None, FolderState | None]:
    for d in docs:
        if d.get("source") == source and d.get("folder") == folder:
            return d.doc_id, folder_from_doc(d)
    return None, None


def _put_folder(table: Any, doc_id: int | None, state: FolderState) -> None:
    doc = dataclasses.asdict(state)
    if doc_id is None:
        table.insert(doc)
    else:
        table.update(replace_with(doc), doc_ids=[doc_id])


def failures_doc(docs: list[Any]) -> dict[str, Any]:
    return dict(docs[0]) if docs else {"total": 0, "recent": []}


def _add_failures(db: TinyDB, state: FolderState, failures: list[dict[str, Any]]) -> int:
    """Record `failures` (a failure with the "key" of a message recorded before is
    left out: `scan --full` meets the same unreadable message again); how many."""
    table = db.table(FAILURES)
    docs = table.all()
    current = failures_doc(docs)
    recent = list(current.get("recent", []))
    keys = [str(k) for k in current.get("keys") or ()]
    known = set(keys)
    added = 0
    for f in failures:
        key = f.get("key")
        if key is not None:
            if key in known:
                continue
            known.add(key)
            keys.append(key)
        entry = {"source": state.source, "folder": state.folder, **f}
        if "error" in entry:
            entry["error"] = one_line(entry["error"])[:MAX_ERROR_CHARS]
        recent.append(entry)
        added += 1
    if not added:
        return 0
    doc = {
        "total": int(current.get("total", 0)) + added,
        "recent": recent[-RECENT_FAILURES:],
        "keys": keys[-FAILED_KEYS_KEPT:],
    }
    if docs:
        table.update(replace_with(doc), doc_ids=[docs[0].doc_id])
    else:
        table.insert(doc)
    return added
