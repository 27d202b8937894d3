"""The scan pipeline: source -> parse -> store, one folder at a time, in batches.

Each batch is one store transaction that carries the folder's new position,
so a scan killed at any moment resumes where its last batch ended. The
store's message keys make a rescan (UIDVALIDITY change, `--full`, a second
import of the same mbox) count nothing twice.

Messages come from the source in chunks of at most `CHUNK`, and progress is
reported after each, so a bar moves smoothly however large `batch_size` is.
Each chunk is parsed and counted into the open batch (`store.scans.Batch`:
new keys, and tallies per person) as it arrives, and its messages are let go:
memory follows the people in a batch, not its messages. That lets batches be
large, and a commit's cost is per person touched (every touched contact's
history is merged and summed up again), so fewer, larger batches cost less:
a first scan of 500,000 messages over 20,000 people spent 29 s in commits of
20,000 messages and 9 s in commits of 100,000.

Two scans of one store at once (the daemon's and `mailer scan`) can count
the same message in both: the commit finds it counted meanwhile, writes
nothing, and the folder is read again from its committed position.

A folder that cannot be read (a `FolderError`: missing, not selectable,
deleted mid-scan) must not cost the owner the others: with `skip_faulty`,
it is reported in the `ScanReport`, recorded under the store's meta key
`FOLDER_FAULTS` for `mailer status` and the digest, and skipped; the record
goes when the folder scans again. A failing connection still ends the scan.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mailer.errors import SourceError
from mailer.model import FolderState, Parsed, RawMessage, iso
from mailer.sources.base import FolderError, FolderInfo, Source
from mailer.store import Store
from mailer.store.scans import Batch

if TYPE_CHECKING:
    from mailer.core.headers import Identity

Progress = Callable[[str, int, int], None]  # folder, done, total

COLLECT_AFTER = 5000  # a batch at least this large is followed by a garbage collection
CHUNK = 2000  # messages a fetch hands over at once: progress moves this often
FOLDER_FAULTS = "scan.folder_faults"  # meta: "source\tfolder" -> {error, since, at}


@dataclass
class FolderReport:
    folder: str
    fetched: int = 0
    new: int = 0
    duplicates: int = 0
    skipped: int = 0
    failed: int = 0
    rescanned: bool = False
    error: str | None = None  # why the folder was skipped (it could not be read)


@dataclass
class ScanReport:
    source: str
    folders: list[FolderReport] = field(default_factory=list)

    @property
    def fetched(self) -> int:
        return sum(f.fetched for f in self.folders)

    @property
    def failed(self) -> int:
        return sum(f.failed for f in self.folders)

    @property
    def faults(self) -> list[FolderReport]:
        """The folders skipped because they could not be read."""
        return [f for f in self.folders if f.error]


def scan(
    store: Store,
    source: Source,
    who: Identity,
    now: datetime,
    *,
    batch_size: int = 100_000,
    full: bool = False,
    progress: Progress | None = None,
    skip_faulty: bool = False,
) -> ScanReport:
    """Read what is new in every folder of `source` into `store`.

    `skip_faulty`: a folder that cannot be read is reported and skipped (and
    recorded, see the module docstring) instead of ending the scan with its
    FolderError; a rebuild, which must read everything, leaves it off.
    """
    report = ScanReport(source=source.id)
    states = store.folder_states()
    faults = _Faults(store, source.id, iso(now) or "") if skip_faulty else None
    for name in source.scan_folders():
        folder = FolderReport(folder=name)
        report.folders.append(folder)
        state, whole = states.get((source.id, name)), full
        try:
            for attempt in range(RACE_RETRIES + 1):
                try:
                    _scan_folder(
                        store, source, who, now, state, folder, whole, batch_size, progress
                    )
                    break
                except _Raced:  # read again what was not committed, from where the store says
                    if attempt == RACE_RETRIES:
                        raise FolderError(
                            f"another scan counted mail of {name!r} at the same time;"
                            " the next scan reads the rest"
                        ) from None
                    state, whole = store.folder_states().get((source.id, name)), False
        except FolderError as e:
            if faults is None:
                raise
            folder.error = str(e)
            faults.failed(name, folder.error)
            continue
        if faults is not None:
            faults.cleared(name)
    return report


class _Raced(Exception):
    """Another process counted some of a batch's messages while this scan read them."""


RACE_RETRIES = 2  # a folder raced this often in a row is left to the next scan


def _scan_folder(
    store: Store,
    source: Source,
    who: Identity,
    now: datetime,
    state: FolderState | None,
    folder: FolderReport,
    full: bool,
    batch_size: int,
    progress: Progress | None,
) -> None:
    from mailer.core.headers import parse_message  # here: `mailer status` reads faults only

    name, stamp = folder.folder, iso(now)
    info = source.open_folder(name)
    incremental = (
        not full
        and info.uidvalidity is not None
        and state is not None
        and state.uidvalidity == info.uidvalidity
    )
    folder.rescanned = folder.rescanned or (state is not None and not incremental)
    last_uid = state.last_uid if incremental and state else 0
    new = source.new_messages(info, last_uid)
    committed = False
    batch: Batch | None = None
    batch_uid = batch_skipped = 0

    # On the worker thread: messages are parsed and counted as they come
    # (a Batch holds what they say per person, not the messages), and a batch
    # is committed once it counted batch_size of them.
    def count(chunk: list[RawMessage]) -> None:
        nonlocal batch, batch_uid, batch_skipped
        if batch is None:
            batch = Batch(store.counted_keys())
        parsed = [parse_message(raw, who) for raw in chunk]
        batch.add(parsed, _failures(source.id, name, chunk, parsed, stamp))
        batch_uid = chunk[-1].uid or 0
        batch_skipped += sum(1 for p in parsed if p.skipped)
        if batch.messages >= batch_size:
            commit()

    def commit() -> None:
        nonlocal batch, batch_skipped, committed
        if batch is None:
            return
        position = FolderState(source.id, name, info.uidvalidity, batch_uid, stamp)
        result = store.commit_counted(position, batch)
        if result is None:
            raise _Raced
        folder.fetched += batch.messages
        folder.new += result.new
        folder.duplicates += result.duplicates
        folder.failed += len(batch.failures)
        folder.skipped += batch_skipped
        if batch.messages >= COLLECT_AFTER and not gc.isenabled():
            gc.collect()  # the CLI runs without the collector: see mailer.cli.base
        batch, batch_skipped, committed = None, 0, True

    if new.count:
        if progress:
            progress(name, 0, new.count)
        read = 0
        # Each chunk is parsed and counted on a thread of its own while the
        # next is fetched: the server's time and ours overlap. Never more than
        # one in flight, so memory holds two chunks at most and keeps their order.
        with ThreadPoolExecutor(1, thread_name_prefix="mailer-count") as worker:
            inflight: Future[None] | None = None

            def hand_over(work: Callable[[], None]) -> None:
                nonlocal inflight
                if inflight is not None:
                    inflight.result()  # a failed commit stops the scan here
                inflight = worker.submit(work)

            try:
                for chunk in source.fetch(info, new, min(CHUNK, batch_size)):
                    read += len(chunk)
                    if chunk:
                        hand_over(functools.partial(count, chunk))
                    if progress and chunk:
                        progress(name, read, new.count)
            except SourceError:  # the folder or the connection failed halfway: keep what was read
                hand_over(commit)
                if inflight is not None:
                    inflight.result()
                raise
            hand_over(commit)
            if inflight is not None:
                inflight.result()
    if not committed and not incremental:  # record the folder (and a new UIDVALIDITY) once
        _record_empty(store, source.id, info, last_uid, stamp)


def _failures(
    source: str, folder: str, batch: list[RawMessage], parsed: list[Parsed], stamp: str | None
) -> list[dict[str, Any]]:
    # the key: a rescan (`--full`, a second import) meets the same message again
    return [
        {"source": source, "folder": folder, "uid": raw.uid, "error": p.error, "at": stamp}
        | ({"key": p.key} if p.key else {})
        for raw, p in zip(batch, parsed, strict=True)
        if p.error
    ]


def _record_empty(
    store: Store, source: str, info: FolderInfo, last_uid: int, stamp: str | None
) -> None:
    store.commit_scan_batch(
        FolderState(source, info.name, info.uidvalidity, last_uid, stamp), [], []
    )


def fault_key(source: str, folder: str) -> str:
    return f"{source}\t{folder}"


def folder_faults(store: Store) -> list[dict[str, str]]:
    """The folders skipped by the last scans, oldest fault first: source, folder,
    error, since (the first failure in a row), at (the last try)."""
    faults = store.meta_get(FOLDER_FAULTS) or {}
    out = []
    for key, value in faults.items():
        source, _, folder = str(key).partition("\t")
        if isinstance(value, dict):
            out.append(
                {
                    "source": source,
                    "folder": folder,
                    "error": str(value.get("error") or ""),
                    "since": str(value.get("since") or value.get("at") or ""),
                    "at": str(value.get("at") or ""),
                }
            )
    return sorted(out, key=lambda f: (f["since"], f["source"], f["folder"]))


class _Faults:
    """The folder faults of one source, read once per scan and written when they change."""

    def __init__(self, store: Store, source: str, stamp: str) -> None:
        self._store, self._source, self._stamp = store, source, stamp
        self._known: dict[str, Any] = dict(store.meta_get(FOLDER_FAULTS) or {})

    def failed(self, folder: str, error: str) -> None:
        key = fault_key(self._source, folder)
        old = self._known.get(key)
        since = old.get("since") if isinstance(old, dict) else None
        self._write(key, {"error": error, "since": since or self._stamp, "at": self._stamp})

    def cleared(self, folder: str) -> None:
        key = fault_key(self._source, folder)
        if key in self._known:
            self._write(key, None)

    def _write(self, key: str, value: dict[str, str] | None) -> None:
        # read again just before writing: another scanner (the daemon's, a
        # second source) may have recorded its own folders since
        faults = dict(self._store.meta_get(FOLDER_FAULTS) or {})
        if value is None:
            faults.pop(key, None)
        else:
            faults[key] = value
        self._store.meta_set(FOLDER_FAULTS, faults)
        self._known = faults
