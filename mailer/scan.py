"""The scan pipeline: source -> parse -> store, one folder at a time, in batches.

Each batch is one store transaction that carries the folder's new position,
so a scan killed at any moment resumes where its last batch ended. The
store's message keys make a rescan (UIDVALIDITY change, `--full`, a second
import of the same mbox) count nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from mailer.core.headers import Identity, parse_message
from mailer.model import FolderState, iso
from mailer.sources.base import Source
from mailer.store import Store

Progress = Callable[[str, int, int], None]  # folder, done, total


@dataclass
class FolderReport:
    folder: str
    fetched: int = 0
    new: int = 0
    duplicates: int = 0
    skipped: int = 0
    failed: int = 0
    rescanned: bool = False


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


def scan(
    store: Store,
    source: Source,
    who: Identity,
    now: datetime,
    *,
    batch_size: int = 20_000,
    full: bool = False,
    progress: Progress | None = None,
) -> ScanReport:
    report = ScanReport(source=source.id)
    states = store.folder_states()
    stamp = iso(now)
    for name in source.scan_folders():
        info = source.open_folder(name)
        state = states.get((source.id, name))
        incremental = (
            not full
            and info.uidvalidity is not None
            and state is not None
            and state.uidvalidity == info.uidvalidity
        )
        folder = FolderReport(folder=name, rescanned=state is not None and not incremental)
        report.folders.append(folder)
        last_uid = state.last_uid if incremental and state else 0
        uids = source.new_uids(info, last_uid)
        if not uids:
            if not incremental:  # record the folder (and a new UIDVALIDITY) once
                store.commit_scan_batch(
                    FolderState(source.id, name, info.uidvalidity, last_uid, stamp), [], []
                )
            continue
        if progress:
            progress(name, 0, len(uids))
        for batch in source.fetch(info, uids, batch_size):
            parsed = [parse_message(raw, who) for raw in batch]
            failures = [
                {"source": source.id, "folder": name, "uid": raw.uid, "error": p.error, "at": stamp}
                for raw, p in zip(batch, parsed, strict=True)
                if p.error
            ]
            position = FolderState(source.id, name, info.uidvalidity, batch[-1].uid or 0, stamp)
            result = store.commit_scan_batch(position, parsed, failures)
            folder.fetched += len(batch)
            folder.new += result.new
            folder.duplicates += result.duplicates
            folder.failed += len(failures)
            folder.skipped += sum(1 for p in parsed if p.skipped)
            if progress:
                progress(name, folder.fetched, len(uids))
    return report
