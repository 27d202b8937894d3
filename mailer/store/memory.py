"""TinyDB over a store file read once: how the engine gets one read and one write per transaction.

Stock TinyDB re-reads and rewrites its whole file on every insert or update;
here it works on data in memory, and the transaction or snapshot that owns
that data decides whether the file is written. The tables reach past
TinyDB's per-document copies (`raw_docs`) where those copies cost more than
the work itself, and must then say so (`mark_changed`).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage

from mailer.store.schema import Data


class MemoryStorage(Storage):
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


def raw_docs(db: TinyDB, table: str) -> dict[str, dict[str, Any]]:
    """The documents of `table` as stored (id -> document), read and changed in place
    without TinyDB's per-document copies. Call `mark_changed` after changing them, and do
    it before any TinyDB insert into the same table in the transaction (TinyDB keeps
    its next id)."""
    storage = db.storage
    assert isinstance(storage, MemoryStorage)
    return storage.data.setdefault(table, {})


def mark_changed(db: TinyDB) -> None:
    storage = db.storage
    assert isinstance(storage, MemoryStorage)
    storage.write(storage.data)


def replace_with(new: Mapping[str, Any]) -> Any:
    def apply(doc: MutableMapping[str, Any]) -> None:
        doc.clear()
        doc.update(new)

    return apply
