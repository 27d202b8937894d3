"""The contacts' monthly histories, kept in files of their own beside the store.

A contact's history (`core.history`: mail in and out per month) grows with
the years of mail behind it: at a million messages it was more than half of
the TinyDB file, which every command reads whole. What judging a contact
needs of it (rhythm, weights) is stored with the contact, so only the scan's
fold, a merge, a rebuild and `contacts show` read the histories themselves.

- `<store>.history-<id>`, the base: a JSON object, email -> history string,
  written once (temp file, fsync, rename) and never changed; its id is a
  digest of its content.
- `<store>.history-<id>.log`: the histories changed since, appended as records
  (a length, a JSON object email -> history, "" for one removed, a CRC-32),
  fsync'd before the store file is written. A scan that counts 100 messages
  appends their few contacts' histories: it no longer rewrites 6 MB (at
  500,000 messages) or 11 MB (at a million) of histories it did not change.

As with the key files (`keystore`), the store file is the commit point: its
`history` table names the base and how many bytes of its log are committed
(`HistoryRef`). Log bytes beyond that were appended by a transaction killed
before it wrote the store file; they are ignored, and cut off by the next
append. Once the log outgrows a share of the base, a write makes a new base
instead, and files of other ids are removed by the next transaction that
reads the histories. Use only under the store's lock.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mailer.errors import StoreFormatError, one_line
from mailer.store.files import (
    append_at,
    blake2b,
    json_bytes,
    json_value,
    read_log,
    remove_beside,
    write_atomic,
)

FORMAT = "mailer-history-1"
_LEN = struct.Struct(">I")  # a log record's length, and its CRC-32 at the end
MIN_LOG_BYTES = 1 << 20  # the log may hold this much, or an eighth of the base if more


@dataclass(frozen=True, slots=True)
class HistoryRef:
    """What the store file says of the histories: base `id`, committed `log` bytes."""

    id: str
    log: int = 0


class HistoryFileError(StoreFormatError):
    """The history file the store names is missing or damaged."""


def damaged(where: Path, why: str) -> HistoryFileError:
    return HistoryFileError(
        f"history file {where} is damaged: {why}",
        hint="run `mailer rebuild` to derive the histories from your mail again,"
        " or restore the store with the files beside it from a backup",
    )


def encode_record(changed: Mapping[str, str]) -> bytes:
    payload = json_bytes(dict(sorted(changed.items())))
    return _LEN.pack(len(payload)) + payload + _LEN.pack(zlib.crc32(payload))


def apply_log(months: dict[str, str], data: bytes, where: Path) -> None:
    """Apply the records of committed log bytes `data` to `months`, in order."""
    at = 0
    while at < len(data):
        if at + 2 * _LEN.size > len(data):
            raise damaged(where, f"a record at byte {at} is cut short")
        (size,) = _LEN.unpack_from(data, at)
        end = at + _LEN.size + size
        if end + _LEN.size > len(data):
            raise damaged(where, f"a record at byte {at} is cut short")
        payload = data[at + _LEN.size : end]
        if zlib.crc32(payload) != _LEN.unpack_from(data, end)[0]:
            raise damaged(where, f"the record at byte {at} does not match its checksum")
        try:
            record = json_value(payload)
        except (ValueError, RecursionError) as e:
            raise damaged(where, one_line(e)) from None
        if not isinstance(record, dict) or not all(type(v) is str for v in record.values()):
            raise damaged(where, f"the record at byte {at} is not of histories")
        _apply(months, record)
        at = end + _LEN.size


def _apply(months: dict[str, str], changed: Mapping[str, str]) -> None:
    """Set the histories of `changed` in `months`; "" removes one."""
    for email, text in changed.items():
        if text:
            months[email] = text
        else:
            months.pop(email, None)


class HistoryFiles:
    """The history files of the store at `store_path`."""

    def __init__(self, store_path: Path) -> None:
        self.store_path = store_path
        # The histories as last read or committed by this process; a base never
        # changes and its log only grows, so a later ref reads only the log's new end.
        self._cache: tuple[HistoryRef, dict[str, str]] | None = None

    def path(self, ident: str) -> Path:
        return self.store_path.with_name(f"{self.store_path.name}.history-{ident}")

    def log_path(self, ident: str) -> Path:
        return self.store_path.with_name(f"{self.store_path.name}.history-{ident}.log")

    def load(self, ref: HistoryRef | None) -> dict[str, str]:
        """The histories `ref` names (none for None); the caller may not change them."""
        if ref is None:
            return {}
        cached = self._cache
        if cached is not None and cached[0].id == ref.id and cached[0].log <= ref.log:
            old, months = cached
            if old.log < ref.log:
                months = dict(months)  # the cached one may be held by a caller
                apply_log(months, self._read_log(ref, old.log), self.log_path(ref.id))
        else:
            months = self._read_base(ref.id)
            if ref.log:
                apply_log(months, self._read_log(ref, 0), self.log_path(ref.id))
        self._cache = (ref, months)
        return months

    def _read_base(self, ident: str) -> dict[str, str]:
        path = self.path(ident)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise damaged(path, "it is missing") from None
        except OSError as e:
            raise damaged(path, one_line(e.strerror or e)) from None
        try:
            data = json_value(raw)
        except (ValueError, RecursionError) as e:
            raise damaged(path, one_line(e)) from None
        months = data.get("months") if isinstance(data, dict) else None
        if data.get("format") != FORMAT or not isinstance(months, dict):
            raise damaged(path, f"it is not a {FORMAT} file")
        if not all(type(v) is str for v in months.values()):
            raise damaged(path, "a history is not a string")
        return months

    def _read_log(self, ref: HistoryRef, start: int) -> bytes:
        return read_log(self.log_path(ref.id), start, ref.log, damaged)

    def write(self, months: Mapping[str, str]) -> HistoryRef:
        """A new base of `months` (empty histories left out), with an empty log."""
        kept = {e: m for e, m in sorted(months.items()) if m}
        data = {"format": FORMAT, "months": kept}
        payload = json_bytes(data)
        # Named by its content: the same histories make the same store file, byte for byte.
        ref = HistoryRef(blake2b(payload, digest_size=6).hexdigest())
        write_atomic(self.path(ref.id), payload)
        self._cache = (ref, kept)
        return ref

    def add(
        self, ref: HistoryRef | None, months: Mapping[str, str], changed: Mapping[str, str]
    ) -> tuple[HistoryRef, dict[str, str]]:
        """Write `changed` (email -> history, "" to remove one) onto `months`, the
        histories `ref` names; the ref that commits them once the store file names it,
        and the histories it names. Appends to the log, or writes a new base of all
        histories when the log would outgrow its share."""
        after = dict(months)
        _apply(after, changed)
        if ref is None:
            return self.write(after), after
        try:
            base = os.stat(self.path(ref.id)).st_size
        except OSError:
            base = 0
        room = max(MIN_LOG_BYTES, base // 8) - ref.log
        # the histories alone overflow it (a first scan's batch changes most): no record
        if sum(map(len, changed.values())) > room:
            return self.write(after), after
        record = encode_record(changed)
        if len(record) > room:
            return self.write(after), after
        new = HistoryRef(ref.id, append_at(self.log_path(ref.id), ref.log, record))
        return new, after

    def remember(self, ref: HistoryRef, months: dict[str, str]) -> None:
        """The store file now names `ref`, whose histories are `months`."""
        self._cache = (ref, months)

    def remove_others(self, ref: HistoryRef | None) -> None:
        """Remove history files not of `ref` (replaced ones, leftovers of killed writers)."""
        keep = () if ref is None else (self.path(ref.id).name, self.log_path(ref.id).name)
        remove_beside(self.store_path, f"{self.store_path.name}.history-", keep)
