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

from mailer.core.contacts import fold
from mailer.errors import one_line
from mailer.model import Contact, FolderState, Interaction, Parsed
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
        recorded = 0
        with self._with_files() as (files, db):
            result = count_new(db, parsed, files)
            folders = db.table(FOLDERS)
            doc_id, old = _find_folder(folders.all(), state.source, state.folder)
            if old is not None and old.uidvalidity == state.uidvalidity:
                state = dataclasses.replace(state, last_uid=max(state.last_uid, old.last_uid))
            _put_folder(folders, doc_id, state)

            if failures:
                recorded = _add_failures(db, state, failures)

        return dataclasses.replace(result, failures_recorded=recorded)

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
            decided = decide(with_months(docs.values(), files.history(db)), counted)
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


def count_new(db: TinyDB, parsed: Sequence[Parsed], files: Beside) -> BatchResult:
    """Fold the interactions of messages not counted before; remember their keys."""
    seen = files.keys(db) if any(p.interactions for p in parsed) else KeySet.empty()
    new_keys: list[int] = []
    batch: set[int] = set()
    interactions: list[Interaction] = []
    duplicates = skipped = errors = 0
    for p in parsed:
        number = key_number(p.key) if p.key else None
        if number is not None and (number in batch or number in seen):
            duplicates += 1
        elif p.skipped is not None:
            # group mail: no key kept, its hint (a latest date) is the same applied twice
            interactions.extend(p.interactions)
            skipped += 1
        elif p.interactions:
            _check_key(p.key)
            assert number is not None
            batch.add(number)
            new_keys.append(number)
            interactions.extend(p.interactions)
        elif p.error is not None:
            errors += 1
        else:
            skipped += 1

    created, updated = _fold_into(db, interactions, files.history)
    files.keys.add(db, new_keys)
    return BatchResult(
        new=len(new_keys),
        duplicates=duplicates,
        skipped=skipped,
        errors=errors,
        interactions=len(interactions),
        contacts_created=created,
        contacts_updated=updated,
        failures_recorded=0,
    )


def _fold_into(
    db: TinyDB, interactions: list[Interaction], history: HistoryWrite
) -> tuple[int, int]:
    """Fold interactions into the contacts table: O(contacts + interactions), on the
    stored documents themselves (TinyDB's copies of 20,000 contacts cost more than a
    small batch's whole fold)."""
    if not interactions:
        return 0, 0
    docs = raw_docs(db, CONTACTS)
    ids = contact_ids(docs)
    aliases = {
        str(a): str(d.get("email", "")) for d in docs.values() for a in d.get("aliases") or ()
    }
    if aliases:  # mail from another address of a merged contact counts for the contact
        interactions = [
            dataclasses.replace(it, email=aliases[it.email]) if it.email in aliases else it
            for it in interactions
        ]
    touched = {it.email for it in interactions}
    months = history(db)
    existing = {e: with_history(docs[ids[e]], months) for e in touched if e in ids}
    changed = fold(existing, interactions)
    history.put(db, {e: c.months for e, c in changed.items()})
    return put_contacts(db, docs, ids, {e: changed[e].to_doc() for e in sorted(changed)})


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
