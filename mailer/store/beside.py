"""The files beside the store file, as one transaction reads and writes them.

The message keys (`keystore`) and the histories (`histories`) live in files of
their own so that most commands need not read them; the store file stays the
one commit point. Each transaction writes a new key log or history file
first, then the store file that names it, and only once that is written
tells the files what is current (`committed`), so a kill at any moment leaves
the store and the files it names in agreement. Stores written before these
files existed are moved into them here, inside the transaction that then
writes the store file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tinydb import TinyDB

from mailer.store.histories import Histories, HistoryFiles, HistoryRef
from mailer.store.keystore import KeyFiles, KeySet, KeysRef, key_number
from mailer.store.memory import raw_docs
from mailer.store.schema import CONTACTS, HISTORY, KEYS, SEEN, Data, blame_the_data, format_error


class Beside:
    """The files beside the store file that one transaction reads or writes."""

    def __init__(self, path: Path, keys: KeyFiles, histories: HistoryFiles) -> None:
        self.keys = KeysWrite(path, keys)
        self.history = HistoryWrite(path, histories)

    def committed(self) -> None:
        self.keys.committed()
        self.history.committed()


class HistoryWrite:
    """The histories of one transaction: read when asked (a few people's alone, when
    only they are asked for); a change is appended to the history log (or makes a new
    base), written before the store file, which commits it by naming it."""

    def __init__(self, path: Path, files: HistoryFiles) -> None:
        self._path = path
        self._files = files
        self._ref: HistoryRef | None = None
        self._months: Histories | None = None
        self._count: int | None = None  # how many have a history, as the store file says
        self._new: HistoryRef | None = None

    def __call__(self, db: TinyDB) -> Histories:
        """Email -> history, as the store file names them (leftover files removed)."""
        if self._months is None:
            docs = list(raw_docs(db, HISTORY).values())
            self._ref = _history_ref(self._path, docs)
            self._months = self._files.load(self._ref)
            count = docs[0].get("contacts") if docs else 0
            self._count = count if type(count) is int and count >= 0 else None
            self._files.remove_others(self._ref)
        return self._months

    def put(self, db: TinyDB, changed: Mapping[str, str], gone: Iterable[str] = ()) -> None:
        """Set the histories of `changed` (email -> history) and drop those of `gone`;
        with neither, the histories are not even read."""
        wanted = dict(changed)
        wanted.update((email, "") for email in gone)
        if not wanted:
            return
        months = self(db)
        delta = {e: m for e, m in wanted.items() if months.get(e) != m}
        if not delta:
            return
        count = self._count
        if count is not None:  # without reading every history
            count += sum(1 if m else -1 for e, m in delta.items() if bool(m) != bool(months.get(e)))
        self._name(db, *self._files.add(self._ref, months, delta), count)

    def replace(self, db: TinyDB, months: Mapping[str, str]) -> None:
        """Make `months` every history there is (a new base)."""
        kept = {e: m for e, m in months.items() if m}
        if kept != self(db).all():
            self._name(db, *self._files.write(kept), len(kept))

    def _name(self, db: TinyDB, ref: HistoryRef, months: Histories, count: int | None) -> None:
        """Make the store file name `ref` (a new base, or a longer log), whose
        histories are `months`, `count` of them; later changes of this transaction
        go after it."""
        self._ref = self._new = ref
        self._months = months
        self._count = len(months.all()) if count is None else count
        table = db.table(HISTORY)
        table.truncate()
        table.insert(history_doc(ref, self._count))

    def committed(self) -> None:
        """The store file names what this transaction wrote (run under the lock)."""
        if self._new is not None and self._months is not None:
            self._files.remember(self._new, self._months)
            if self._new.log == 0:
                self._files.remove_others(self._new)  # the base it replaced


class KeysWrite:
    """The message keys of one transaction: read when asked, written before the store
    file (which commits them by naming them), remembered once committed."""

    def __init__(self, path: Path, files: KeyFiles) -> None:
        self._path = path
        self._files = files
        self._ref: KeysRef | None = None
        self._keys: KeySet | None = None
        self._new: KeysRef | None = None
        self._added: list[int] = []
        self._replaced = False  # a new base: nothing of it is remembered

    def __call__(self, db: TinyDB) -> KeySet:
        """The keys the store file names (read under its lock; leftovers removed)."""
        if self._keys is None:
            self._ref = _ref_of(self._path, db.table(KEYS).all())
            self._keys = self._files.load(self._ref)
            self._files.remove_others(self._ref)
        return self._keys

    def add(self, db: TinyDB, numbers: list[int]) -> None:
        """Write keys not among those read; the store file written next commits them."""
        if numbers:
            keys = self(db)
            new = self._files.add(self._ref, keys, numbers)
            self._added = numbers
            self._name(db, new, replaced=self._ref is None or new.id != self._ref.id)

    def replace(self, db: TinyDB, numbers: list[int]) -> None:
        """Make `numbers` the keys, whatever they were (even unreadable)."""
        self._name(db, self._files.replace(numbers), replaced=True)

    def compact(self, db: TinyDB) -> None:
        keys = self(db)
        if keys.log_keys:
            self._name(db, self._files.merge(keys), replaced=True)

    def _name(self, db: TinyDB, new: KeysRef, *, replaced: bool) -> None:
        """Make the store file name `new` (a new base when `replaced`, else a longer log)."""
        self._new, self._replaced = new, replaced
        table = db.table(KEYS)
        table.truncate()
        table.insert(new.to_doc())

    def committed(self) -> None:
        """The store file names what this transaction wrote (run under the lock)."""
        new = self._new
        if new is None:
            return
        keys = self._keys
        if not self._replaced and keys is not None:
            keys.add_all(self._added)
            self._files.remember(new, keys)
        else:
            self._files.forget()
            self._files.remove_others(new)  # the base it replaced


def move_seen_to_key_files(path: Path, files: KeyFiles, data: Data) -> None:
    """Move the keys of a store written before the key files into them (in `data`,
    which the transaction then writes: until it does, the old store stands)."""
    numbers = {key_number(k) for d in data[SEEN].values() for k in str(d.get("k", "")).split()}
    with blame_the_data(path, data):
        ref = _ref_of(path, list((data.get(KEYS) or {}).values()))
    if ref is not None:  # seen keys written by an older mailer after a move
        numbers.update(files.load(ref))
    new = files.replace(numbers)
    data.pop(SEEN)
    data[KEYS] = {"1": new.to_doc()}


def move_months_to_history_file(path: Path, files: HistoryFiles, data: Data) -> None:
    """Move the histories of a store written before the history file into one (in
    `data`, which the transaction then writes: until it does, the old store stands).
    A history in a document is newer than the file's (an older mailer wrote it)."""
    with blame_the_data(path, data):
        ref = _history_ref(path, list((data.get(HISTORY) or {}).values()))
    months = dict(files.load(ref).all())
    for doc in (data.get(CONTACTS) or {}).values():
        text = doc.pop("months", None)
        if isinstance(text, str) and text:
            months[str(doc.get("email", ""))] = text
    kept = {e: m for e, m in months.items() if m}
    data[HISTORY] = {"1": history_doc(files.write(kept)[0], len(kept))}


def months_in_docs(data: Data) -> bool:
    return any("months" in d for d in (data.get(CONTACTS) or {}).values())


def _ref_of(path: Path, docs: Sequence[Mapping[str, Any]]) -> KeysRef | None:
    """The KeysRef the documents of the keys table name, if any."""
    if not docs:
        return None
    try:
        return KeysRef.from_doc(docs[0])
    except ValueError as e:
        raise format_error(path, f"{KEYS} document does not name key files ({e})") from None


def history_doc(ref: HistoryRef, contacts: int) -> dict[str, object]:
    """The history table's one document: which base, how much of its log, how many."""
    return {"id": ref.id, "log": ref.log, "contacts": contacts}


def _history_ref(path: Path, docs: Sequence[Mapping[str, Any]]) -> HistoryRef | None:
    """The HistoryRef the documents of the history table name, if any."""
    if not docs:
        return None
    ident, log = docs[0].get("id"), docs[0].get("log", 0)
    if not isinstance(ident, str) or not ident.isalnum():
        raise format_error(path, f"{HISTORY} document does not name a history file")
    if type(log) is not int or log < 0:
        raise format_error(path, f"{HISTORY} document names a log of {log!r} bytes")
    return HistoryRef(ident, log)
