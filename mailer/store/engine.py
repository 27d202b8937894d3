"""The store file itself: one TinyDB file, made safe for a daemon and admin commands side by side.

Stock TinyDB rewrites its JSON file in place (a `kill -9` mid-write can leave it
unreadable), has no inter-process lock (two writers corrupt it), caches IDs and
queries per instance (stale once another process writes), and re-reads and
rewrites the whole file on every single insert or update (10,000 upserts take
minutes). This module fixes all four, once, for every table of the store:

- every read-modify-write runs in a `transaction()`: an exclusive `flock` on a
  side file `<store>.lock`, ONE read of the file into memory, TinyDB working on
  that memory through `MemoryStorage`, and at most ONE write at the end: a temp
  file in the same directory, fsync, `os.replace`, fsync of the directory. A
  kill at any moment leaves the old or the new file, never a broken one;
- a fresh `TinyDB` per transaction, so no cache outlives the lock;
- read-only views (`snapshot()`) skip the lock: the replace is atomic.

The tables (contacts.py, scans.py, commands.py, planning.py) build on
`StoreFile` and never open, lock or write the file themselves.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from tinydb import TinyDB

from mailer.errors import StoreError, StoreFormatError, one_line
from mailer.store.beside import (
    Beside,
    months_in_docs,
    move_months_to_history_file,
    move_seen_to_key_files,
)
from mailer.store.files import DIR_MODE, FILE_MODE, json_bytes, json_value, tmp_prefix, write_atomic
from mailer.store.histories import HistoryFiles
from mailer.store.keystore import KeyFiles
from mailer.store.memory import MemoryStorage
from mailer.store.schema import (
    HISTORY,
    SEEN,
    Data,
    blame_the_data,
    format_error,
    json_kind,
    shape_error,
)

T = TypeVar("T")

# The last version of a store file this process read or wrote: its bytes, decoded, and
# what was made of it (`derived`: the plan's reads). Decoding is most of what reading the
# store costs (0.3 s for 20,000 contacts), reading and comparing the bytes almost nothing,
# so a read reuses it when the file holds the same bytes. One store at a time.
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


def derived(data: Data, name: str, make: Callable[[], T]) -> T:
    """`make()` of the version `data` of the file, made once while it is the last one read
    (forgotten with it: a transaction that changes `data` in place drops it first)."""
    cached = _last_read.get(name)
    if cached is not None and cached[0] is data:
        value: T = cached[1]
        return value
    value = make()
    _last_read[name] = (data, value)
    return value


# Paths whose lock this thread holds: a nested transaction on the same store
# would wait on its own flock forever, so it is refused instead.
_held = threading.local()


def _read_file(path: Path) -> bytes | None:
    """The raw store file, or None when there is none yet.

    When it still holds the bytes last read or written, those same bytes: one
    command reads the store several times (`mailer status`: four), and a fresh
    read of an 8 MB file touches 2,000 pages of new memory, a page fault each
    (5 ms on the VM measured), where comparing it a piece at a time touches 16.
    """
    cached = _last_read.get("data")
    try:
        with open(path, "rb") as f:
            if cached is not None and cached[0] == path and _holds(f, cached[1]):
                return cached[1]  # type: ignore[no-any-return]
            f.seek(0)
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise StoreError(
            f"cannot read store {path}: {one_line(e.strerror or e)}",
            hint="check that the file and its directory are readable by this user",
        ) from e


_PIECE = 1 << 16  # bytes compared at a time: 16 pages of memory


def _holds(f: io.BufferedReader, raw: bytes) -> bool:
    """Whether the open file `f` holds exactly `raw`, read a piece at a time."""
    if os.fstat(f.fileno()).st_size != len(raw):
        return False
    piece = bytearray(_PIECE)
    view = memoryview(piece)
    at = 0
    while n := f.readinto(piece):
        if not raw.startswith(view[:n], at):
            return False
        at += n
    return at == len(raw)


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
            raise format_error(path, f"table {name!r} is {json_kind(table)}, not an object")
        if set(map(type, table.values())) - {dict}:
            doc_id, doc = next((i, d) for i, d in table.items() if type(d) is not dict)
            kind = json_kind(doc)
            raise format_error(path, f"{name} document {doc_id} is {kind}, not an object")
    return data


def read_aside(path: Path) -> Data:
    """The store file at `path`, decoded without the cache (which holds one store: this
    process's own, not one it only looks at)."""
    return _decode(path, _read_file(path))


def check_shape(path: str | os.PathLike[str]) -> StoreFormatError | None:
    """`shape_error` of the store file at `path` (None also when it cannot be read)."""
    real = Path(os.path.realpath(Path(path).expanduser()))
    try:
        return shape_error(real, read_aside(real))
    except StoreFormatError as e:
        return e
    except StoreError:
        return None


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


class StoreFile:
    """The store file at `path`, its lock, and the files beside it.

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
            storage = MemoryStorage(data, path=self.path, writable=True)
            if data.get(SEEN):
                move_seen_to_key_files(self.path, self._keys, data)
                storage.changed = True
            if HISTORY not in data and months_in_docs(data):  # a store from before histories
                move_months_to_history_file(self.path, self._histories, data)
                storage.changed = True
            try:
                with blame_the_data(self.path, data):
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

    @contextlib.contextmanager
    def _with_files(self) -> Iterator[tuple[Beside, TinyDB]]:
        """A transaction that reads or writes the files beside the store file: message
        keys (`KeysWrite`) and histories (`HistoryWrite`)."""
        files = Beside(self.path, self._keys, self._histories)
        with self.transaction(on_commit=files.committed) as db:
            yield files, db

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[TinyDB]:
        """A read-only TinyDB over the last committed state, without the lock."""
        data = self._committed()
        storage = MemoryStorage(data, path=self.path, writable=False)
        try:
            with blame_the_data(self.path, data):
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

    def _committed(self) -> Data:
        """The file as last committed, decoded once per version of it: one command reads
        the store several times (`mailer status`: five; a scan between its batches).
        Read only: a transaction takes its own."""
        raw = _read_file(self.path)
        data = _take_decoded(self.path, raw, to_change=False)
        _keep_decoded(self.path, raw, data)
        return data
