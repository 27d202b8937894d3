"""The store: one TinyDB file, made safe for a daemon and admin commands side by side.

Stock TinyDB rewrites its JSON file in place (a `kill -9` mid-write can leave it
unreadable), has no inter-process lock (two writers corrupt it), caches IDs and
queries per instance (stale once another process writes), and re-reads and
rewrites the whole file on every single insert or update (10,000 upserts take
minutes). This module is the only one that knows TinyDB and fixes all four:

- every read-modify-write runs in a `transaction()`: an exclusive `flock` on a
  side file `<store>.lock`, ONE read of the file into memory, TinyDB working on
  that memory through `_MemoryStorage`, and at most ONE write at the end: a temp
  file in the same directory, fsync, `os.replace`, fsync of the directory. A
  kill at any moment leaves the old or the new file, never a broken one;
- a fresh `TinyDB` per transaction, so no cache outlives the lock;
- read-only views (`snapshot()`) skip the lock: the replace is atomic;
- the domain methods speak `mailer.model` dataclasses, never TinyDB documents.

Tables: contacts, folders (scan state per source/folder), keys (which key
files hold the keys of the messages counted: `mailer.keystore`; older stores
kept the keys in a `seen` table, moved there on first use), failures (parse
failures: total, the most recent, and the keys of the messages that failed,
so a rescan records each once), meta (small key/value state), drafts (drafts written),
commands (command mails handled, with their outcomes), logged (exchanges
logged by command). Other modules may add tables of
their own through `transaction()`. The store never reads the clock (MAILER_NOW
is the caller's business): timestamps come in as ISO-8601 UTC strings.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import functools
import os
import stat
import threading
import time
import types
import typing
from collections.abc import (
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
)
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage

from mailer.core import undo as core_undo
from mailer.core.contacts import fold
from mailer.core.undo import Past
from mailer.errors import MailerError, StoreError, StoreFormatError, UsageError, one_line
from mailer.files import DIR_MODE, FILE_MODE, json_bytes, json_value, tmp_prefix, write_atomic
from mailer.histories import HistoryFiles
from mailer.keystore import KeyFileError, KeyFiles, KeySet, KeysRef, key_number, key_text
from mailer.model import (
    CommandRecord,
    Contact,
    DraftRecord,
    FolderState,
    Interaction,
    Intro,
    LogEntry,
    Parsed,
    log_entry,
)

CONTACTS = "contacts"
FOLDERS = "folders"
SEEN = "seen"  # message keys, as stores before the key files kept them
KEYS = "keys"  # one document: the KeysRef of the key files
HISTORY = "history"  # one document: the id of the history file (mailer.histories)
FAILURES = "failures"
META = "meta"
DRAFTS = "drafts"
COMMANDS = "commands"  # command mails handled (applied or refused)
LOGGED = "logged"  # exchanges the owner logged by command
INTROS = "intros"  # introductions: asked, answered, introduced, closed
OPEN_DRAFTS = "drafts.open"  # meta: the draft keys in the Drafts folder at the last look

RECENT_FAILURES = 50  # how many parse failures are kept with their details
MAX_ERROR_CHARS = 500  # a failure's message is cut to this, to keep the file small
FAILED_KEYS_KEPT = 10_000  # keys of failed messages remembered, so each is recorded once
# Records of refused command mail kept at most, besides commands.keep_refused. A
# record is about 0.3 KB (its text fields are cut to 300 characters: 1.4 KB at
# most in ASCII, 5 KB in 4-byte characters), so 2,000 are 0.6 MB as a rule and
# never more than a 10,000-contact store. And 2,000 is 22 a day for 90 days, far
# more than look-alike mail and spam to a secret address bring: the age limit is
# what prunes them normally; only a flood reaches this one.
MAX_REFUSED = 2_000


Data = dict[str, dict[str, Any]]

# The last version of a store file this process read or wrote: its bytes, decoded, and
# what planning made of it. Decoding is most of what reading the store costs (0.3 s for
# 20,000 contacts), reading and comparing the bytes almost nothing, so a read reuses it
# when the file holds the same bytes. One store at a time.
_last_read: dict[str, Any] = {}


def _take_decoded(path: Path, raw: bytes | None, *, to_change: bool) -> Data:
    """`raw` decoded, reusing the last version when it is these bytes; `to_change`: the
    caller changes it in place, so it is forgotten until given back."""
    cached = _last_read.get("data")
    if raw and cached is not None and cached[0] == path and cached[1] == raw:
        if to_change:
            _last_read.clear()
        data: Data = cached[2]
        return data
    _last_read.clear()
    return _decode(path, raw)


def _keep_decoded(path: Path, raw: bytes | None, data: Data) -> None:
    if raw:
        _last_read["data"] = (path, raw, data)


# Paths whose lock this thread holds: a nested transaction on the same store
# would wait on its own flock forever, so it is refused instead.
_held = threading.local()


@dataclass(frozen=True)
class Decision:
    """What one command mail changes: written together with its record, or not at all."""

    record: CommandRecord
    changed: Mapping[str, Contact]  # by email
    logs: Sequence[LogEntry] = ()
    intros: Sequence[Intro] = ()  # introductions answered (or restored by an undo) by the mail
    unlogged: Sequence[LogEntry] = ()  # logged exchanges its undo lines remove
    undone: Sequence[str] = ()  # the keys of the mails its undo lines undid


# A command mail's decision, given every contact by email, every introduction, and what
# an undo reads (command records, logged exchanges, drafts; read only when called).
Decide = Callable[[Mapping[str, Contact], Sequence[Intro], Callable[[], Past]], Decision]


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


class _MemoryStorage(Storage):
    """TinyDB storage over data read once; writes only mark it changed.

    The owning transaction or snapshot writes the file (or not) when it ends,
    then closes this storage so a TinyDB kept past the `with` block fails loudly
    instead of working on stale data.
    """

    def __init__(self, data: Data, *, path: Path, writable: bool) -> None:
        super().__init__()
        self.data = data
        self.changed = False
        self._path = path
        self._writable = writable
        self._closed = False

    def read(self) -> Data:
        self._check_open()
        return self.data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        self._check_open()
        if not self._writable:
            raise RuntimeError(
                f"snapshot of store {self._path} is read-only; use Store.transaction() to write"
            )
        self.data = data
        self.changed = True

    def close(self) -> None:
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(
                f"TinyDB of store {self._path} used after its transaction ended; open a new one"
            )


def _read_file(path: Path) -> bytes | None:
    """The raw store file, or None when there is none yet."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise StoreError(
            f"cannot read store {path}: {one_line(e.strerror or e)}",
            hint="check that the file and its directory are readable by this user",
        ) from e


def _decode(path: Path, raw: bytes | None) -> Data:
    # An empty file is an empty store, as for stock TinyDB (which creates one).
    if not raw:
        return {}
    try:
        data = json_value(raw)
    except (ValueError, RecursionError) as e:  # JSONDecodeError, UnicodeDecodeError
        raise StoreError(
            f"store {path} is unreadable: {one_line(e)}",
            hint="restore it from a backup, or move it away to start with an empty store",
        ) from None
    if not isinstance(data, dict):
        raise StoreFormatError(
            f"store {path} is not a mailer store (expected a JSON object of tables)",
            hint="check store.path in the config, or move the file away",
        )
    # The shape every reader relies on (a table is an object of documents, each an
    # object): checked always, at about 1 ms for 10,000 contacts. Ids and field
    # types are checked only when reading fails (shape_error): checking them on
    # every read would cost a tenth of `contacts list`.
    for name, table in data.items():
        if type(table) is not dict:
            raise _format_error(path, f"table {name!r} is {_json_kind(table)}, not an object")
        if set(map(type, table.values())) - {dict}:
            doc_id, doc = next((i, d) for i, d in table.items() if type(d) is not dict)
            kind = _json_kind(doc)
            raise _format_error(path, f"{name} document {doc_id} is {kind}, not an object")
    return data


# -- documents of the wrong shape ------------------------------------------------

_SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)
_STR_LIST = "list of strings"
# What reading each table's documents needs: the fields present in every one,
# and the JSON types of the fields (from the model's dataclasses, so they stay
# in step); tables of other modules are not checked.
_REQUIRED = {
    CONTACTS: ("email",),
    COMMANDS: (
        "key",
        "message_id",
        "sender",
        "subject",
        "received",
        "processed_at",
        "kind",
        "reason",
    ),
    DRAFTS: ("key", "email", "kind", "written_at"),
    LOGGED: ("email", "when", "text", "source"),
    INTROS: ("a", "b", "asked_at"),
    FOLDERS: ("source", "folder"),
    META: ("key",),
    SEEN: ("k",),
    KEYS: ("id", "log", "count"),
}
_MODELS: dict[str, type] = {
    CONTACTS: Contact,
    COMMANDS: CommandRecord,
    DRAFTS: DraftRecord,
    LOGGED: LogEntry,
    INTROS: Intro,
    FOLDERS: FolderState,
}
_PLAIN_TYPES: dict[str, dict[str, Any]] = {
    META: {"key": (str,)},
    SEEN: {"k": (str,), "n": (int,)},
    KEYS: {"id": (str,), "log": (int,), "count": (int,)},
    FAILURES: {"total": (int,), "recent": (list,), "keys": (list,)},
}


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    for kind, name in ((dict, "an object"), (list, "an array"), (str, "a string")):
        if isinstance(value, kind):
            return name
    return "null" if value is None else "a number"


@functools.cache
def _field_types(table: str) -> dict[str, Any]:
    """Field name -> the Python types its JSON value may have, or _STR_LIST."""
    if table in _PLAIN_TYPES:
        return _PLAIN_TYPES[table]
    hints = typing.get_type_hints(_MODELS[table])
    out: dict[str, Any] = {}
    for f in dataclasses.fields(_MODELS[table]):
        hint = hints[f.name]
        if typing.get_origin(hint) is tuple and typing.get_args(hint) == (str, ...):
            out[f.name] = _STR_LIST
            continue
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        simple = {str: (str,), int: (int,), bool: (bool,), float: (int, float)}
        if all(a in simple or a is type(None) for a in args):
            out[f.name] = tuple(
                t for a in args for t in (simple.get(a) or (type(None),))
            )  # nested models, dicts and Literal are left to their readers
    return out


def _document_problem(table: str, doc: Mapping[str, Any]) -> str | None:
    for name in _REQUIRED.get(table, ()):
        if name not in doc:
            return f"has no {name!r}"
    types_of = _field_types(table)
    for name, value in doc.items():
        allowed = types_of.get(name)
        if allowed is None:
            continue
        if allowed is _STR_LIST:
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                return f"has {name!r} = {_json_kind(value)}, not a list of strings"
        elif not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            return f"has {name!r} = {_json_kind(value)}"
    if table == CONTACTS and not doc["email"]:
        return "has an empty 'email'"
    return None


def shape_error(path: Path, data: Data) -> StoreFormatError | None:
    """The first document of `data` that mailer cannot read, as the error naming it.

    Run when reading a store failed (and by the CLI on an unexpected error): a
    store edited by hand is then the likely cause, and the user needs to know
    which document to fix, not a TypeError.
    """
    for name, docs in data.items():  # ids: TinyDB reads them as numbers
        bad = next((i for i in docs if not i.isdigit()), None)
        if bad is not None:
            return _format_error(path, f"{name} document {bad} has no numeric id")
    for table in (*_MODELS, *_PLAIN_TYPES):
        for doc_id, doc in (data.get(table) or {}).items():
            problem = _document_problem(table, doc)
            if problem is not None:
                return _format_error(path, f"{table} document {doc_id} {problem}")
    return None


def check_shape(path: str | os.PathLike[str]) -> StoreFormatError | None:
    """`shape_error` of the store file at `path` (None also when it cannot be read)."""
    real = Path(os.path.realpath(Path(path).expanduser()))
    try:
        return shape_error(real, _decode(real, _read_file(real)))
    except StoreFormatError as e:
        return e
    except StoreError:
        return None


def _format_error(path: Path, what: str) -> StoreFormatError:
    return StoreFormatError(
        f"store {path}: {what}",
        hint="fix that in the file, or move the file away to start with an empty store",
    )


@contextlib.contextmanager
def _blame_the_data(path: Path, data: Data) -> Iterator[None]:
    """Turn an error of reading `data` into one naming the document to blame, if any."""
    try:
        yield
    except _SHAPE_ERRORS:
        error = shape_error(path, data)
        if error is None:
            raise  # a bug, not the data
        raise error from None


def _encode(data: Data) -> bytes:
    return json_bytes(data)


def _remove_leftovers(path: Path) -> None:
    """Delete temp files of writers killed mid-write: of the store file and of the files
    beside it (call only under the lock, which every writer of them holds)."""
    prefix = tmp_prefix(path)
    with contextlib.suppress(OSError):
        for name in os.listdir(path.parent):
            if name.startswith(prefix) or (name.startswith(f".{path.name}.") and ".tmp-" in name):
                with contextlib.suppress(OSError):
                    os.unlink(path.parent / name)


def _lock_key(path: Path) -> str:
    return str(path)


class Store:
    """The mailer store at `path` (a TinyDB JSON file).

    `lock_timeout` is how many seconds a transaction waits for another process
    to finish before it fails with StoreError; None waits as long as it takes.
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float | None = None) -> None:
        # Resolve symlinks so the atomic rename replaces the target, not the link.
        self.path = Path(os.path.realpath(Path(path).expanduser()))
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.lock_timeout = lock_timeout
        self._keys = KeyFiles(self.path)
        self._histories = HistoryFiles(self.path)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # -- transactions ------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self, on_commit: Callable[[], None] | None = None) -> Iterator[TinyDB]:
        """A TinyDB over the whole store, under the exclusive lock.

        The file is read once on entry and written once on a clean exit if
        anything changed; an exception inside the block writes nothing.
        `on_commit` runs after that write, still under the lock.
        Transactions on one store do not nest (that would deadlock).
        """
        with self._locked():
            raw = _read_file(self.path)
            # What this process last read or wrote, if the file still holds exactly that:
            # taken (this transaction changes it in place), given back once written.
            data = _take_decoded(self.path, raw, to_change=True)
            storage = _MemoryStorage(data, path=self.path, writable=True)
            if data.get(SEEN):
                self._move_seen_to_key_files(data)
                storage.changed = True
            if _months_in_docs(data):
                self._move_months_to_history_file(data)
                storage.changed = True
            try:
                with _blame_the_data(self.path, data):
                    yield TinyDB(storage=lambda: storage)
            finally:
                storage.close()
            payload = raw
            if storage.changed:
                payload = _encode(storage.data)
                if payload != raw or not self._mode_ok():
                    write_atomic(self.path, payload)
            _keep_decoded(self.path, payload, storage.data)
            if on_commit is not None:
                on_commit()

    def _move_seen_to_key_files(self, data: Data) -> None:
        """Move the keys of a store written before the key files into them (in `data`,
        which the transaction then writes: until it does, the old store stands)."""
        numbers = {key_number(k) for d in data[SEEN].values() for k in str(d.get("k", "")).split()}
        with _blame_the_data(self.path, data):
            ref = _ref_of(self.path, list((data.get(KEYS) or {}).values()))
        if ref is not None:  # seen keys written by an older mailer after a move
            numbers.update(self._keys.load(ref))
        new = self._keys.replace(numbers)
        data.pop(SEEN)
        data[KEYS] = {"1": new.to_doc()}

    def _move_months_to_history_file(self, data: Data) -> None:
        """Move the histories of a store written before the history file into one (in
        `data`, which the transaction then writes: until it does, the old store stands).
        A history in a document is newer than the file's (an older mailer wrote it)."""
        with _blame_the_data(self.path, data):
            ident = _history_id(self.path, list((data.get(HISTORY) or {}).values()))
        months = dict(self._histories.load(ident))
        for doc in (data.get(CONTACTS) or {}).values():
            text = doc.pop("months", None)
            if isinstance(text, str) and text:
                months[str(doc.get("email", ""))] = text
        data[HISTORY] = {"1": {"id": self._histories.write(months), "contacts": len(months)}}

    @contextlib.contextmanager
    def _with_files(self) -> Iterator[tuple[_Beside, TinyDB]]:
        """A transaction that reads or writes the files beside the store file: message
        keys (`_KeysWrite`) and histories (`_HistoryWrite`)."""
        files = _Beside(self)
        with self.transaction(on_commit=files.committed) as db:
            yield files, db

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[TinyDB]:
        """A read-only TinyDB over the last committed state, without the lock."""
        data = self._committed()
        storage = _MemoryStorage(data, path=self.path, writable=False)
        try:
            with _blame_the_data(self.path, data):
                yield TinyDB(storage=lambda: storage)
        finally:
            storage.close()

    @contextlib.contextmanager
    def outbox_lock(self) -> Iterator[None]:
        """Held while mail leaves mailer: drafts appended, the digest sent.

        Writing a draft checks the Drafts folder for its key, then appends;
        sending the digest checks its record, then sends. Two processes (the
        daemon and `mailer drafts run`) doing that at once could both write,
        so they take turns on `<store>.outbox.lock`. It is a lock of its own,
        not the store's: a slow server must not hold up scans. Never taken
        while a store transaction is open (that order could deadlock).
        """
        os.makedirs(self.path.parent, mode=DIR_MODE, exist_ok=True)
        path = self.path.with_name(self.path.name + ".outbox.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the flock

    def _mode_ok(self) -> bool:
        try:
            return stat.S_IMODE(os.stat(self.path).st_mode) == FILE_MODE
        except OSError:
            return False

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        held: set[str] | None = getattr(_held, "paths", None)
        if held is None:
            held = _held.paths = set()
        key = _lock_key(self.path)
        if key in held:
            raise RuntimeError(f"nested transaction on store {self.path} would deadlock")
        try:
            # Only the last component gets 0700: parents are the user's business.
            os.makedirs(self.path.parent, mode=DIR_MODE, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        except OSError as e:
            raise StoreError(
                f"cannot open store lock {self.lock_path}: {one_line(e.strerror or e)}",
                hint="check that the store directory exists and is writable by this user",
            ) from e
        # The lock file is never deleted: unlinking a flock'ed file lets two
        # processes lock two different inodes.
        try:
            if stat.S_IMODE(os.fstat(fd).st_mode) != FILE_MODE:
                with contextlib.suppress(OSError):
                    os.fchmod(fd, FILE_MODE)
            self._acquire(fd)
            held.add(key)
            try:
                _remove_leftovers(self.path)
                yield
            finally:
                held.discard(key)
        finally:
            os.close(fd)  # releases the flock

    def _acquire(self, fd: int) -> None:
        if self.lock_timeout is None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as e:
                raise StoreError(
                    f"cannot lock store {self.path}: {one_line(e.strerror or e)}",
                    hint="the store must be on a local file system",
                ) from e
            return
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                    raise StoreError(
                        f"cannot lock store {self.path}: {one_line(e.strerror or e)}",
                        hint="the store must be on a local file system",
                    ) from e
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"store {self.path} is locked by another process "
                    f"(waited {self.lock_timeout:g}s)",
                    hint="wait for the running mailer to finish, or check for a stuck one",
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    # -- contacts ----------------------------------------------------------

    def contacts(self) -> list[Contact]:
        """All contacts, by email (without their `months`: see `contacts_with_history`)."""
        return self.contacts_and_drafts()[0]

    def contacts_with_history(self) -> list[Contact]:
        """All contacts, by email, each with its monthly history (from the history file)."""
        with self._with_files() as (files, db):
            contacts = _with_months(_raw_docs(db, CONTACTS).values(), files.history(db))
        return sorted(contacts, key=lambda c: c.email)

    def history(self, email: str) -> str:
        """The monthly history of contact `email` (core.history's string; "" for none)."""
        with self._with_files() as (files, db):
            return files.history(db).get(email.strip().lower(), "")

    def contact(self, email: str) -> Contact | None:
        email = email.strip().lower()
        with self.snapshot() as db:
            for doc in db.table(CONTACTS).all():
                if doc.get("email") == email or email in (doc.get("aliases") or ()):
                    return Contact.from_doc(doc)
        return None

    def add_contact(self, contact: Contact) -> None:
        """Add a new contact; UsageError if one with that email exists."""
        contact = dataclasses.replace(contact, email=contact.email.strip().lower())
        with self.transaction() as db:
            table = db.table(CONTACTS)
            if contact.email in _email_ids(table.all()):
                raise UsageError(f"contact {contact.email} already exists")
            table.insert(contact.to_doc())

    def update_contact(self, email: str, /, **fields: Any) -> Contact:
        """Set `fields` of one contact and return it; UsageError if there is none."""
        return self.change_contact(email, lambda c: dataclasses.replace(c, **fields))

    def change_contact(self, email: str, change: Callable[[Contact], Contact]) -> Contact:
        """One contact through `change`, read and written in one transaction."""
        email = email.strip().lower()
        with self.transaction() as db:
            table = db.table(CONTACTS)
            docs = table.all()
            ids = _email_ids(docs)
            doc_id = ids.get(email)
            if doc_id is None:
                raise UsageError(f"no contact {email}")
            current = next(Contact.from_doc(d) for d in docs if d.doc_id == doc_id)
            updated = change(current)
            updated = dataclasses.replace(updated, email=updated.email.strip().lower())
            other = ids.get(updated.email)
            if other is not None and other != doc_id:
                raise UsageError(f"contact {updated.email} already exists")
            table.update(_replace_with(updated.to_doc()), doc_ids=[doc_id])
        return updated

    def merge_contacts(self, keep: str, other: str) -> Contact:
        """Fold contact `other` into `keep` (core.contacts.merge), in one transaction.

        `other`'s drafts and logged exchanges move to `keep`, so the rules see
        one history; its introductions keep their emails (a record of the past).
        """
        from mailer.core.contacts import merge

        with self._with_files() as (files, db):
            table = db.table(CONTACTS)
            docs = table.all()
            ids = _email_ids(docs)
            for email in (keep, other):
                if email not in ids:
                    raise UsageError(f"no contact {email}")
            by_id = {d.doc_id: d for d in docs}
            months = files.history(db)

            try:
                merged = merge(
                    _with_history(by_id[ids[keep]], months),
                    _with_history(by_id[ids[other]], months),
                )
            except ValueError as e:
                raise UsageError(str(e)) from None
            files.history.put(db, {keep: merged.months}, gone=[other])
            table.update(_replace_with(merged.to_doc()), doc_ids=[ids[keep]])
            table.remove(doc_ids=[ids[other]])
            for name in (DRAFTS, LOGGED):
                moved = db.table(name)
                mine = [d.doc_id for d in moved.all() if d.get("email") == other]
                if mine:
                    moved.update({"email": keep}, doc_ids=mine)
        return merged

    # -- scanning ----------------------------------------------------------

    def folder_states(self) -> dict[tuple[str, str], FolderState]:
        with self.snapshot() as db:
            states = [_folder_from_doc(d) for d in db.table(FOLDERS).all()]
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
            result = self._count_new(db, parsed, files)
            folders = db.table(FOLDERS)
            doc_id, old = _find_folder(folders.all(), state.source, state.folder)
            if old is not None and old.uidvalidity == state.uidvalidity:
                state = dataclasses.replace(state, last_uid=max(state.last_uid, old.last_uid))
            _put_folder(folders, doc_id, state)

            if failures:
                recorded = _add_failures(db, state, failures)

        return dataclasses.replace(result, failures_recorded=recorded)

    def _count_new(self, db: TinyDB, parsed: Sequence[Parsed], files: _Beside) -> BatchResult:
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

        created, updated = self._fold_into(db, interactions, files.history)
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

    @staticmethod
    def _fold_into(
        db: TinyDB, interactions: list[Interaction], history: _HistoryWrite
    ) -> tuple[int, int]:
        """Fold interactions into the contacts table: O(contacts + interactions), on the
        stored documents themselves (TinyDB's copies of 20,000 contacts cost more than a
        small batch's whole fold)."""
        if not interactions:
            return 0, 0
        docs = _raw_docs(db, CONTACTS)
        ids = _contact_ids(docs)
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
        existing = {e: _with_history(docs[ids[e]], months) for e in touched if e in ids}
        changed = fold(existing, interactions)
        history.put(db, {e: c.months for e, c in changed.items()})
        return _put_contacts(db, docs, ids, {e: changed[e].to_doc() for e in sorted(changed)})

    # -- command mail --------------------------------------------------------

    def apply_command_mail(
        self, key: str, parsed: Sequence[Parsed], decide: Decide
    ) -> CommandRecord | None:
        """Handle one command mail in one transaction, unless it was handled before (None).

        The interactions it carries (a forward, a Bcc'd copy) are counted once
        by their message keys; `decide` then sees every contact and every
        introduction as they are now and returns what it changed and the
        record of the mail. All of it, and the record that makes a rerun skip
        the mail, is written together or not at all. The record gets its id
        (`undo <id>`) and what the mail changed (core.undo.record_changes),
        taken from exactly what is written.
        """
        with self._with_files() as (files, db):
            records = db.table(COMMANDS)
            record_docs = records.all()
            if any(d.get("key") == key for d in record_docs):
                return None
            if parsed:
                self._count_new(db, parsed, files)
            table = db.table(CONTACTS)
            docs = table.all()
            contacts = {str(d.get("email", "")): Contact.from_doc(d) for d in docs}
            intros = [Intro.from_doc(dict(d)) for d in db.table(INTROS).all()]
            decision = decide(contacts, intros, lambda: self._past(db, record_docs))
            if decision.changed:
                ids = _email_ids(docs)
                for email, c in decision.changed.items():
                    if email in ids:
                        table.update(_replace_with(c.to_doc()), doc_ids=[ids[email]])
            if decision.logs:
                db.table(LOGGED).insert_multiple(dataclasses.asdict(e) for e in decision.logs)
            if decision.intros:
                _put_intros(db, decision.intros)
            self._unlog(db, decision.unlogged)
            taken = {str(d.get("id") or CommandRecord.from_doc(dict(d)).id) for d in record_docs}
            record = dataclasses.replace(
                decision.record,
                id=core_undo.new_id(key, taken),
                changes=core_undo.record_changes(
                    contacts,
                    decision.changed,
                    decision.logs,
                    decision.unlogged,
                    intros,
                    decision.intros,
                )
                if decision.record.accepted
                else None,  # a refused mail changes nothing: no empty record of it
            )
            if decision.undone:
                undone = {str(d.get("key")): d for d in record_docs}
                record = dataclasses.replace(
                    record,
                    undoes=tuple(
                        CommandRecord.from_doc(dict(undone[k])).id
                        for k in decision.undone
                        if k in undone
                    ),
                )
                marks = {"undone_at": record.processed_at, "undone_by": f"mail {record.id}"}
                records.update(marks, doc_ids=[undone[k].doc_id for k in decision.undone])
            records.insert(record.to_doc())
            if not record.accepted:  # strangers' mail cannot grow the store without bound
                _remove_refused(records, before=None, keep=MAX_REFUSED)
        return record

    def undo_command(self, ident: str, when: str, *, dry_run: bool = False) -> core_undo.Restore:
        """Undo the command mail with id `ident` (`mailer commands undo`), in one transaction.

        All or nothing: UsageError when the id names nothing that can be undone,
        MailerError (exit 1) when a later change is in the way; then nothing is
        written. With `dry_run`, only what it would restore.
        """
        with self.transaction() as db:
            records = db.table(COMMANDS)
            record_docs = records.all()
            past = self._past(db, record_docs)
            contacts = {
                str(d.get("email", "")): Contact.from_doc(d) for d in db.table(CONTACTS).all()
            }
            intros = [Intro.from_doc(dict(d)) for d in db.table(INTROS).all()]
            try:
                record = core_undo.find(past.records, ident)
                restore = core_undo.plan(record, contacts, intros, past.logged, past.drafts)
            except core_undo.CannotUndo as e:
                raise (MailerError if e.later else UsageError)(str(e)) from None
            if dry_run:
                return restore
            table = db.table(CONTACTS)
            ids = _email_ids(table.all())
            for email, c in restore.contacts.items():
                table.update(_replace_with(c.to_doc()), doc_ids=[ids[email]])
            self._unlog(db, restore.unlogged)
            if restore.intros:
                _put_intros(db, restore.intros)
            mine = [d.doc_id for d in record_docs if d.get("key") == record.key]
            records.update({"undone_at": when, "undone_by": "mailer commands undo"}, doc_ids=mine)
        return restore

    def past(self) -> Past:
        """What an undo reads, as last committed (a dry run's view)."""
        with self.snapshot() as db:
            return self._past(db, db.table(COMMANDS).all())

    @staticmethod
    def _past(db: TinyDB, record_docs: Sequence[Any]) -> Past:
        """What an undo reads, from inside a transaction."""
        return Past(
            records=[CommandRecord.from_doc(dict(d)) for d in record_docs],
            logged=[log_entry(dict(d)) for d in db.table(LOGGED).all()],
            drafts={str(d.get("key")) for d in db.table(DRAFTS).all()},
        )

    @staticmethod
    def _unlog(db: TinyDB, entries: Sequence[LogEntry]) -> None:
        """Remove these logged exchanges, each once (two alike are two entries)."""
        if not entries:
            return
        wanted = list(entries)
        gone = []
        for d in db.table(LOGGED).all():
            entry = log_entry(dict(d))
            if entry in wanted:
                wanted.remove(entry)
                gone.append(d.doc_id)
        db.table(LOGGED).remove(doc_ids=gone)

    def command_records(self, since: str | None = None) -> list[CommandRecord]:
        """Handled command mails, oldest first; with `since`, those processed after it."""
        with self.snapshot() as db:  # read inside: a document of the wrong shape is named
            records = [CommandRecord.from_doc(dict(d)) for d in db.table(COMMANDS).all()]
        if since:
            records = [r for r in records if r.processed_at > since]
        return sorted(records, key=lambda r: r.processed_at)  # stable: then as handled

    def prune_refused(self, before: str | None, keep: int = MAX_REFUSED) -> int:
        """Forget refused command mail processed before `before` (ISO-8601 UTC) and
        all but the newest `keep` of the rest; how many were forgotten.

        Only refused mail: a record of applied mail is what keeps it from being
        applied twice, and what `undo` reads.
        """
        with self.transaction() as db:
            return _remove_refused(db.table(COMMANDS), before=before, keep=keep)

    def set_confirmed(self, key: str, confirmed: str) -> None:
        """Note whether the confirmation of a command mail went out (or why not)."""
        with self.transaction() as db:
            table = db.table(COMMANDS)
            ids = [d.doc_id for d in table.all() if d.get("key") == key]
            if ids:
                table.update({"confirmed": confirmed}, doc_ids=ids)

    def logged(self, email: str | None = None) -> list[LogEntry]:
        """Exchanges logged by command, oldest first (one contact's, or everyone's)."""
        fields = {f.name for f in dataclasses.fields(LogEntry)}
        with self.snapshot() as db:
            docs = db.table(LOGGED).all()
            entries = [LogEntry(**{k: v for k, v in d.items() if k in fields}) for d in docs]
        if email is not None:
            entries = [e for e in entries if e.email == email]
        return sorted(entries, key=lambda e: e.when)

    # -- introductions -------------------------------------------------------

    def intros(self) -> list[Intro]:
        """Every introduction, oldest ask first."""
        with self.snapshot() as db:
            intros = [Intro.from_doc(dict(d)) for d in db.table(INTROS).all()]
            return sorted(intros, key=lambda i: (i.asked_at, i.key))

    def update_intros(
        self, change: Callable[[Sequence[Intro]], Sequence[Intro]]
    ) -> Sequence[Intro]:
        """Read every intro, let `change` return those to store, store them: one transaction.

        For a transition that depends on the current state (an answer, an
        expiry), so two processes cannot both make it.
        """
        with self.transaction() as db:
            current = [Intro.from_doc(dict(d)) for d in db.table(INTROS).all()]
            changed = change(current)
            _put_intros(db, changed)
        return changed

    # -- status and small state ---------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counts for `mailer status`, read from one consistent snapshot."""
        data = self._committed()  # as stored: TinyDB's copies of every contact cost more

        def docs(table: str) -> list[dict[str, Any]]:
            return list((data.get(table) or {}).values())

        with _blame_the_data(self.path, data):
            contacts = docs(CONTACTS)
            refs = docs(KEYS)
            seen = int(refs[0].get("count", 0)) if refs else 0
            seen += sum(int(d.get("n", 0)) for d in docs(SEEN))  # not yet moved
            fail = _failures_doc(docs(FAILURES))
            folders = [_folder_from_doc(d) for d in docs(FOLDERS)]
            commands = docs(COMMANDS)
        refused = sorted(
            (r for r in commands if r.get("kind") == "refused"),
            key=lambda r: str(r.get("processed_at")),
        )
        by_status: dict[str, int] = {}
        for c in contacts:
            status = str(c.get("status", "seed"))
            by_status[status] = by_status.get(status, 0) + 1
        return {
            "contacts": len(contacts),
            "contacts_by_status": dict(sorted(by_status.items())),
            "messages_seen": seen,
            "parse_failures": int(fail.get("total", 0)),
            "last_failures": list(fail.get("recent", [])),
            "folders": [
                dataclasses.asdict(s) for s in sorted(folders, key=lambda s: (s.source, s.folder))
            ],
            "command_mails": {
                "handled": len(commands),
                "refused": len(refused),
                "last_refused": [  # read as records: a stranger's text comes out clean
                    {k: getattr(r, k) for k in ("processed_at", "sender", "subject", "reason")}
                    for r in map(CommandRecord.from_doc, refused[-5:])
                ],
            },
        }

    def compact(self) -> None:
        """Merge the log of message keys into a new base (housekeeping: loads stay quick),
        and remove key files of killed writers."""
        with self._with_files() as (files, db):
            files.keys.compact(db)

    # -- drafts ------------------------------------------------------------

    def drafts(self) -> list[DraftRecord]:
        """Every draft written, oldest first."""
        return self.contacts_and_drafts()[1]

    def contacts_and_drafts(self) -> tuple[list[Contact], list[DraftRecord]]:
        """Both, from one read of the file."""
        contacts, drafts, _ = self.planning()
        return contacts, drafts

    def planning(self) -> tuple[list[Contact], list[DraftRecord], set[str]]:
        """What judging everyone needs, from one read of the file: the contacts,
        the drafts written, and the draft keys last seen in the Drafts folder.

        The hot read path (`contacts list` at 10,000 contacts): it takes the
        documents straight from the decoded file, skipping TinyDB's per-document
        copies, which cost a fifth of the command's time.
        """
        data = self._committed()
        cached = _last_read.get("planning")
        if cached is not None and cached[0] is data:
            contacts, drafts, open_keys = cached[1]
            return list(contacts), list(drafts), set(open_keys)
        docs = (data.get(CONTACTS) or {}).values()
        draft_docs = (data.get(DRAFTS) or {}).values()
        open_keys = set()
        for doc in (data.get(META) or {}).values():
            if doc.get("key") == OPEN_DRAFTS:
                open_keys = set(doc.get("value") or ())
        with _blame_the_data(self.path, data):
            contacts = sorted((Contact.from_doc(d) for d in docs), key=lambda c: c.email)
            drafts = sorted((_draft(d) for d in draft_docs), key=lambda r: (r.written_at, r.key))
        _last_read["planning"] = (data, (tuple(contacts), tuple(drafts), frozenset(open_keys)))
        return contacts, drafts, open_keys

    def _committed(self) -> Data:
        """The file as last committed, decoded once per version of it: one command reads
        the store several times (`mailer status`: five; a scan between its batches).
        Read only: a transaction takes its own."""
        raw = _read_file(self.path)
        data = _take_decoded(self.path, raw, to_change=False)
        _keep_decoded(self.path, raw, data)
        return data

    def record_draft(self, record: DraftRecord) -> bool:
        """Remember a written draft; False (and no change) when its key is known."""
        with self.transaction() as db:
            table = db.table(DRAFTS)
            if any(d.get("key") == record.key for d in table.all()):
                return False
            table.insert(dataclasses.asdict(record))
            return True

    def open_draft_keys(self) -> set[str]:
        """The draft keys found in the Drafts folder when drafts were last written."""
        return set(self.meta_get(OPEN_DRAFTS) or ())

    def remember_open_drafts(self, keys: Iterable[str]) -> None:
        self.meta_set(OPEN_DRAFTS, sorted(keys))

    def meta_get(self, key: str, default: Any = None) -> Any:
        with self.snapshot() as db:
            for doc in db.table(META).all():
                if doc.get("key") == key:
                    return doc.get("value")
        return default

    def meta_set(self, key: str, value: Any) -> None:
        """Store a small JSON value under `key` (e.g. a job's last run time)."""
        with self.transaction() as db:
            table = db.table(META)
            ids = [d.doc_id for d in table.all() if d.get("key") == key]
            if ids:
                table.update(_replace_with({"key": key, "value": value}), doc_ids=ids[:1])
                if len(ids) > 1:
                    table.remove(doc_ids=ids[1:])
            else:
                table.insert({"key": key, "value": value})

    # -- rebuild (mailer.rebuild) --------------------------------------------

    def insert_contacts(self, contacts: Iterable[Contact]) -> None:
        """Add many new contacts in one pass (seeding a store built aside).

        UsageError if one of them exists already (nothing is written then).
        """
        contacts = list(contacts)
        docs = [c.to_doc() for c in contacts]
        with self._with_files() as (files, db):
            table = db.table(CONTACTS)
            known = set(_email_ids(table.all()))
            for doc in docs:
                if doc["email"] in known:
                    raise UsageError(f"contact {doc['email']} already exists")
                known.add(doc["email"])
            table.insert_multiple(docs)
            files.history.put(db, {c.email: c.months for c in contacts if c.months})

    def update_contacts(self, change: Callable[[list[Contact]], Sequence[Contact]]) -> None:
        """Read every contact, let `change` return the new or changed ones, write them.

        One transaction: a scan committing meanwhile waits, so neither loses
        the other's update (an address book import, say, decides from the
        contacts as they are under the lock). Written on the stored documents
        in one pass: TinyDB copies its whole table on every call, so a call per
        contact made an import of 50,000 take minutes.
        """
        with self._with_files() as (files, db):
            docs = _raw_docs(db, CONTACTS)
            changes = change([Contact.from_doc(d) for d in docs.values()])
            _put_contacts(db, docs, _contact_ids(docs), {c.email: c.to_doc() for c in changes})
            files.history.put(db, {c.email: c.months for c in changes if c.months})

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
        aside: Store,
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
        data = _decode(aside.path, _read_file(aside.path))
        aside_folders = [dict(d) for d in (data.get(FOLDERS) or {}).values()]
        aside_failures = [dict(d) for d in (data.get(FAILURES) or {}).values()]
        read = {d.get("source") for d in aside_folders}
        with self._with_files() as (files, db):
            docs = _raw_docs(db, CONTACTS)
            try:
                counted = {key_text(n) for n in files.keys(db)}
            except KeyFileError:
                counted = set()  # lost: the rebuild has counted everything again
            decided = decide(_with_months(docs.values(), files.history(db)), counted)
            if decided is None:
                return False
            contacts, seen = decided
            files.history.replace(db, {c.email: c.months for c in contacts})

            new = {c.email: c.to_doc() for c in contacts}
            ids = _contact_ids(docs)
            gone = [e for e in ids if e not in new]
            for email in gone:
                del docs[ids.pop(email)]
            if gone:
                _changed(db)
            _put_contacts(db, docs, ids, new)

            files.keys.replace(db, [key_number(k) for k in seen])
            folders = db.table(FOLDERS)
            unread = [dict(d) for d in folders.all() if d.get("source") not in read]
            folders.truncate()
            folders.insert_multiple([*aside_folders, *unread])
            failures = db.table(FAILURES)
            failures.truncate()
            failures.insert_multiple(aside_failures)
        return True


# -- helpers over raw documents (TinyDB stays in this module) ----------------


def refused_to_prune(
    records: Iterable[tuple[int, Mapping[str, Any]]], *, before: str | None, keep: int
) -> list[int]:
    """The ids of the refused records among `records` (id, document) to forget: those
    processed before `before`, and all but the newest `keep` of the rest (by when
    processed, then by id). Records of accepted mail are never among them."""
    refused = sorted(
        (str(doc.get("processed_at") or ""), doc_id)
        for doc_id, doc in records
        if doc.get("kind") == "refused"
    )
    old = [doc_id for at, doc_id in refused if before is not None and at < before]
    rest = [doc_id for at, doc_id in refused if before is None or at >= before]
    return old + rest[: max(len(rest) - keep, 0)]


def _remove_refused(table: Any, *, before: str | None, keep: int) -> int:
    gone = refused_to_prune(((d.doc_id, d) for d in table.all()), before=before, keep=keep)
    if gone:
        table.remove(doc_ids=gone)
    return len(gone)


def _raw_docs(db: TinyDB, table: str) -> dict[str, dict[str, Any]]:
    """The documents of `table` as stored (id -> document), read and changed in place
    without TinyDB's per-document copies. Call `_changed` after changing them, and do
    it before any TinyDB insert into the same table in the transaction (TinyDB keeps
    its next id)."""
    storage = db.storage
    assert isinstance(storage, _MemoryStorage)
    return storage.data.setdefault(table, {})


def _changed(db: TinyDB) -> None:
    storage = db.storage
    assert isinstance(storage, _MemoryStorage)
    storage.write(storage.data)


def _contact_ids(docs: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Stored contact id by lower-case email."""
    return {str(d.get("email", "")).lower(): doc_id for doc_id, d in docs.items()}


def _put_contacts(
    db: TinyDB,
    docs: dict[str, dict[str, Any]],
    ids: Mapping[str, str],
    new: Mapping[str, dict[str, Any]],
) -> tuple[int, int]:
    """Write `new` (email -> document) into the stored contacts `docs` (ids by email
    in `ids`), in one pass: a contact already there keeps its id, the others get the
    next ids in `new`'s order, as TinyDB gives them. (inserted, updated)."""
    if not new:
        return 0, 0
    inserted = updated = 0
    next_id = max(map(int, docs), default=0) + 1
    for email, doc in new.items():
        if email in ids:
            docs[ids[email]] = doc
            updated += 1
        else:
            docs[str(next_id)] = doc
            next_id += 1
            inserted += 1
    _changed(db)
    return inserted, updated


def _ref_of(path: Path, docs: Sequence[Mapping[str, Any]]) -> KeysRef | None:
    """The KeysRef the documents of the keys table name, if any."""
    if not docs:
        return None
    try:
        return KeysRef.from_doc(docs[0])
    except ValueError as e:
        raise _format_error(path, f"{KEYS} document does not name key files ({e})") from None


def _with_history(doc: Mapping[str, Any], months: Mapping[str, str]) -> Contact:
    """The contact of stored document `doc`, with its history from `months` (email ->
    history; a transaction's documents hold none: an old store's are moved first)."""
    return Contact.from_doc({**doc, "months": months.get(str(doc.get("email", "")), "")})


def _with_months(docs: Iterable[Mapping[str, Any]], months: Mapping[str, str]) -> list[Contact]:
    """Contacts from their documents, each with its history from `months`."""
    return [_with_history(doc, months) for doc in docs]


def _months_in_docs(data: Data) -> bool:
    return any("months" in d for d in (data.get(CONTACTS) or {}).values())


def _history_id(path: Path, docs: Sequence[Mapping[str, Any]]) -> str | None:
    """The id of the history file the documents of the history table name, if any."""
    if not docs:
        return None
    ident = docs[0].get("id")
    if not isinstance(ident, str) or not ident.isalnum():
        raise _format_error(path, f"{HISTORY} document does not name a history file")
    return ident


class _Beside:
    """The files beside the store file that one transaction reads or writes."""

    def __init__(self, store: Store) -> None:
        self.keys = _KeysWrite(store)
        self.history = _HistoryWrite(store)

    def committed(self) -> None:
        self.keys.committed()
        self.history.committed()


class _HistoryWrite:
    """The histories of one transaction: read when asked; a change is a new history
    file, written before the store file (which commits it by naming it)."""

    def __init__(self, store: Store) -> None:
        self._path = store.path
        self._files = store._histories
        self._months: dict[str, str] | None = None
        self._new: str | None = None

    def __call__(self, db: TinyDB) -> Mapping[str, str]:
        """Email -> history, as the store file names them (leftover files removed)."""
        if self._months is None:
            ident = _history_id(self._path, list(_raw_docs(db, HISTORY).values()))
            self._months = self._files.load(ident)
            self._files.remove_others(ident)
        return self._months

    def put(self, db: TinyDB, changed: Mapping[str, str], gone: Iterable[str] = ()) -> None:
        """Set the histories of `changed` (email -> history) and drop those of `gone`;
        with neither, the histories are not even read."""
        gone = list(gone)
        if not changed and not gone:
            return
        months = dict(self(db))
        months.update(changed)
        for email in gone:
            months.pop(email, None)
        self.replace(db, months)

    def replace(self, db: TinyDB, months: Mapping[str, str]) -> None:
        """Make `months` every history there is."""
        months = {e: m for e, m in months.items() if m}
        if months == self(db):
            return
        self._months = months
        self._new = self._files.write(months)
        table = db.table(HISTORY)
        table.truncate()
        table.insert({"id": self._new, "contacts": len(months)})

    def committed(self) -> None:
        if self._new is not None:
            self._files.remove_others(self._new)


class _KeysWrite:
    """The message keys of one transaction: read when asked, written before the store
    file (which commits them by naming them), remembered once committed."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._files: KeyFiles = store._keys
        self._ref: KeysRef | None = None
        self._keys: KeySet | None = None
        self._new: KeysRef | None = None
        self._added: list[int] = []
        self._replaced = False  # a new base: nothing of it is remembered

    def __call__(self, db: TinyDB) -> KeySet:
        """The keys the store file names (read under its lock; leftovers removed)."""
        if self._keys is None:
            self._ref = _ref_of(self._store.path, db.table(KEYS).all())
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


def _draft(doc: Any) -> DraftRecord:
    fields = {f.name for f in dataclasses.fields(DraftRecord)}
    return DraftRecord(**{k: v for k, v in doc.items() if k in fields})


def _email_ids(docs: Iterable[Any]) -> dict[str, int]:
    return {str(d.get("email", "")).lower(): d.doc_id for d in docs}


def _replace_with(new: Mapping[str, Any]) -> Any:
    def apply(doc: MutableMapping[str, Any]) -> None:
        doc.clear()
        doc.update(new)

    return apply


def _check_key(key: str) -> None:
    # Keys are stored space-separated in one string; one with blanks would split.
    if not key or len(key.split()) != 1 or key.strip() != key:
        raise ValueError(f"message key {key!r} must be non-empty and without blanks")


def _folder_from_doc(doc: Mapping[str, Any]) -> FolderState:
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
            return d.doc_id, _folder_from_doc(d)
    return None, None


def _put_folder(table: Any, doc_id: int | None, state: FolderState) -> None:
    doc = dataclasses.asdict(state)
    if doc_id is None:
        table.insert(doc)
    else:
        table.update(_replace_with(doc), doc_ids=[doc_id])


def _failures_doc(docs: list[Any]) -> dict[str, Any]:
    return dict(docs[0]) if docs else {"total": 0, "recent": []}


def _add_failures(db: TinyDB, state: FolderState, failures: list[dict[str, Any]]) -> int:
    """Record `failures` (a failure with the "key" of a message recorded before is
    left out: `scan --full` meets the same unreadable message again); how many."""
    table = db.table(FAILURES)
    docs = table.all()
    current = _failures_doc(docs)
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
        table.update(_replace_with(doc), doc_ids=[docs[0].doc_id])
    else:
        table.insert(doc)
    return added


def _put_intros(db: TinyDB, intros: Sequence[Intro]) -> None:
    table = db.table(INTROS)
    ids = {str(d.get("key")): d.doc_id for d in table.all()}
    for intro in intros:
        doc = intro.to_doc()
        if intro.key in ids:
            table.update(_replace_with(doc), doc_ids=[ids[intro.key]])
        else:
            ids[intro.key] = table.insert(doc)
