"""The contacts' monthly histories, kept in files of their own beside the store.

A contact's history (`core.history`: mail in and out per month) grows with
the years of mail behind it: at a million messages it was more than half of
the TinyDB file, which every command reads whole. What judging a contact
needs of it (rhythm, weights) is stored with the contact, so only the scan's
fold, a merge, a rebuild and `contacts show` read the histories themselves,
and a scan of a few new messages reads only the histories of the people they
are from or to.

- `<store>.history-<id>`, the base, written once (temp file, fsync, rename) and
  never changed; its id is a digest of its content. A JSON object (email ->
  history) that a reader of every history decodes in one go, then an index of
  where each history is in it (by a hash of the email, with a CRC-32 of each),
  then a trailer (the JSON's length and CRC-32, the number of histories). A
  scan that counts 100 messages reads the index and its few people's entries,
  not the 11 MB of histories of a million messages.
- `<store>.history-<id>.log`: the histories changed since, appended as records
  (a length, a JSON object email -> history, "" for one removed, a CRC-32),
  fsync'd before the store file is written. A scan that counts 100 messages
  appends their few contacts' histories: it no longer rewrites the base.

As with the key files (`keystore`), the store file is the commit point: its
`history` table names the base and how many bytes of its log are committed
(`HistoryRef`). Log bytes beyond that were appended by a transaction killed
before it wrote the store file; they are ignored, and cut off by the next
append. Once the log outgrows a share of the base, a write makes a new base
instead, and files of other ids are removed by the next transaction that
reads the histories. A base of the first format (the JSON object alone, no
index) is read whole, and replaced by an indexed one at the next change. Use
only under the store's lock.
"""

from __future__ import annotations

import bisect
import os
import struct
import sys
import zlib
from array import array
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
    text_hash,
    write_atomic,
)

FORMAT = "mailer-history-2"  # with an index; "mailer-history-1" bases are read whole
FORMATS = ("mailer-history-1", FORMAT)
MAGIC = b"MLRHIST2"
_TRAILER = struct.Struct("<QIQ8s")  # the JSON's length, its CRC-32, entries, MAGIC
_ENTRY = 20  # bytes of index per history: hash (8), offset, length, CRC-32 (4 each)
_LEN = struct.Struct(">I")  # a log record's length, and its CRC-32 at the end
MIN_LOG_BYTES = 1 << 20  # the log may hold this much, or an eighth of the base if more
POINT_READS = 512  # entries read one by one before a base is read whole instead


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


def encode_base(months: Mapping[str, str]) -> bytearray:
    """A base of `months` (email -> history, none empty): JSON, index, trailer. Built
    in one buffer, each entry let go once copied in: at a million messages the
    histories are 11 MB, and a first scan writes a base at its peak of memory."""
    out = bytearray(json_bytes({"format": FORMAT, "months": {}})[:-2])  # to the months' "{"
    entries = []
    for email, text in sorted(months.items()):
        pair = json_bytes({email: text})[1:-1]  # '"email":"history"'
        entries.append((text_hash(email), len(out), len(pair), zlib.crc32(pair)))
        out += pair
        out += b","
    if entries:
        del out[-1]
    out += b"}}"
    json_len, json_crc = len(out), zlib.crc32(out)
    entries.sort()
    for n, code in enumerate("QIII"):
        column = array(code, [entry[n] for entry in entries])
        if sys.byteorder != "little":
            column.byteswap()
        out += column.tobytes()
    out += _TRAILER.pack(json_len, json_crc, len(entries), MAGIC)
    return out


class Base:
    """The histories of one base file: read entry by entry through its index, or whole
    (a base of the first format, or once many entries were asked for)."""

    def __init__(self, path: Path | None, months: dict[str, str] | None = None) -> None:
        self.path = path
        self._months = months  # every history, once read whole
        self._index: tuple[array[int], array[int], array[int], array[int]] | None = None
        self._json = 0  # the JSON's length and CRC-32, from the trailer
        self._crc = 0
        self._read: dict[str, str] = {}  # entries read one by one

    @classmethod
    def of(cls, months: dict[str, str]) -> Base:
        return cls(None, months)

    @classmethod
    def open(cls, path: Path) -> Base:
        """The base at `path`: its index read (the whole of a first-format base)."""
        base = cls(path)
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                f.seek(max(0, size - _TRAILER.size))
                trailer = f.read(_TRAILER.size)
                if len(trailer) != _TRAILER.size or trailer[-len(MAGIC) :] != MAGIC:
                    f.seek(0)
                    base._months = _decode(f.read(), path)
                    return base
        except FileNotFoundError:
            raise damaged(path, "it is missing") from None
        except OSError as e:
            raise damaged(path, one_line(e.strerror or e)) from None
        json_len, crc, count, _ = _TRAILER.unpack(trailer)
        if json_len + _ENTRY * count + _TRAILER.size != size:
            raise damaged(path, f"its index of {count} histories does not fit it")
        raw = read_log(path, json_len, json_len + _ENTRY * count, damaged)
        columns = []
        at = 0
        for code, width in (("Q", 8), ("I", 4), ("I", 4), ("I", 4)):
            column = array(code)
            column.frombytes(raw[at : at + width * count])
            if sys.byteorder != "little":
                column.byteswap()
            columns.append(column)
            at += width * count
        hashes, offsets, lengths, crcs = columns
        base._index = (hashes, offsets, lengths, crcs)
        base._json, base._crc = json_len, crc
        return base

    @property
    def indexed(self) -> bool:
        """Whether its file has an index (a first-format base is replaced at a change)."""
        return self._index is not None or (self.path is None)

    def get(self, email: str) -> str:
        """The history of `email` in this base ("" for none)."""
        if self._months is not None:
            return self._months.get(email, "")
        found = self._read.get(email)
        if found is not None:
            return found
        if len(self._read) >= POINT_READS:
            return self.all().get(email, "")
        found = self._read[email] = self._lookup(email)
        return found

    def _lookup(self, email: str) -> str:
        assert self._index is not None and self.path is not None
        hashes, offsets, lengths, crcs = self._index
        h = text_hash(email)
        i = bisect.bisect_left(hashes, h)
        if i == len(hashes) or hashes[i] != h:
            return ""
        path = self.path
        while i < len(hashes) and hashes[i] == h:  # another email of the same hash: rare
            start, end = offsets[i], offsets[i] + lengths[i]
            if end > self._json:
                raise damaged(path, f"its index points past its histories ({start})")
            pair = read_log(path, start, end, damaged)
            if zlib.crc32(pair) != crcs[i]:
                raise damaged(path, f"its history at byte {start} does not match")
            try:
                entry = json_value(b"{" + pair + b"}")
            except (ValueError, RecursionError) as e:
                raise damaged(path, one_line(e)) from None
            text = entry.get(email) if isinstance(entry, dict) else None
            if text is not None:
                if type(text) is not str:
                    raise damaged(path, "a history is not a string")
                return text
            i += 1
        return ""

    def all(self) -> dict[str, str]:
        """Every history of the base (the caller may not change it)."""
        if self._months is None:
            assert self.path is not None
            raw = read_log(self.path, 0, self._json, damaged)
            if zlib.crc32(raw) != self._crc:
                raise damaged(self.path, "its checksum does not match")
            self._months = _decode(raw, self.path)
            self._read.clear()
        return self._months


def _decode(raw: bytes, path: Path) -> dict[str, str]:
    """The histories of a base's JSON object."""
    try:
        data = json_value(raw)
    except (ValueError, RecursionError) as e:
        raise damaged(path, one_line(e)) from None
    months = data.get("months") if isinstance(data, dict) else None
    if not isinstance(months, dict) or data.get("format") not in FORMATS:
        raise damaged(path, f"it is not a {FORMAT} file")
    if not all(type(v) is str for v in months.values()):
        raise damaged(path, "a history is not a string")
    return months


class Histories:
    """Email -> history as a ref names them: its base's, under the changes of its log
    (and of the transaction). Asked one email at a time, it reads a base's entries
    one by one; `all()` reads everything."""

    def __init__(self, base: Base, changes: dict[str, str]) -> None:
        self._base = base
        self._changes = changes  # email -> history, "" for one removed
        self._all: dict[str, str] | None = None

    @classmethod
    def empty(cls) -> Histories:
        return cls(Base.of({}), {})

    def get(self, email: str, default: str = "") -> str:
        text = self._changes.get(email)
        if text is None:
            text = self._base.get(email)
        return text or default

    def updated(self, changed: Mapping[str, str]) -> Histories:
        """These histories with `changed` set ("" removes one)."""
        return Histories(self._base, {**self._changes, **changed})

    @property
    def indexed(self) -> bool:
        return self._base.indexed

    def all(self) -> dict[str, str]:
        """Every history, email -> history (the caller may not change it)."""
        if self._all is None:
            months = self._base.all()
            if self._changes:
                months = dict(months)
                _apply(months, self._changes)
            self._all = months
        return self._all


def encode_record(changed: Mapping[str, str]) -> bytes:
    payload = json_bytes(dict(sorted(changed.items())))
    return _LEN.pack(len(payload)) + payload + _LEN.pack(zlib.crc32(payload))


def log_changes(data: bytes, where: Path) -> dict[str, str]:
    """What the records of committed log bytes `data` set, in order ("": removed)."""
    changes: dict[str, str] = {}
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
        changes.update(record)
        at = end + _LEN.size
    return changes


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
        self._cache: tuple[HistoryRef, Histories] | None = None

    def path(self, ident: str) -> Path:
        return self.store_path.with_name(f"{self.store_path.name}.history-{ident}")

    def log_path(self, ident: str) -> Path:
        return self.store_path.with_name(f"{self.store_path.name}.history-{ident}.log")

    def load(self, ref: HistoryRef | None) -> Histories:
        """The histories `ref` names (none for None)."""
        if ref is None:
            return Histories.empty()
        cached = self._cache
        if cached is not None and cached[0].id == ref.id and cached[0].log <= ref.log:
            old, months = cached
            if old.log < ref.log:
                months = months.updated(self._read_log(ref, old.log))
        else:
            months = Histories(Base.open(self.path(ref.id)), {})
            if ref.log:
                months = months.updated(self._read_log(ref, 0))
        self._cache = (ref, months)
        return months

    def _read_log(self, ref: HistoryRef, start: int) -> dict[str, str]:
        path = self.log_path(ref.id)
        return log_changes(read_log(path, start, ref.log, damaged), path)

    def write(self, months: Mapping[str, str]) -> tuple[HistoryRef, Histories]:
        """A new base of `months` (empty histories left out), with an empty log; its ref
        and the histories it names."""
        kept = {e: m for e, m in months.items() if m}
        payload = encode_base(kept)
        # Named by its content: the same histories make the same store file, byte for byte.
        ref = HistoryRef(blake2b(payload, digest_size=6).hexdigest())
        write_atomic(self.path(ref.id), payload)
        written = Histories(Base.of(kept), {})
        self._cache = (ref, written)
        return ref, written

    def add(
        self, ref: HistoryRef | None, months: Histories, changed: Mapping[str, str]
    ) -> tuple[HistoryRef, Histories]:
        """Write `changed` (email -> history, "" to remove one) onto `months`, the
        histories `ref` names; the ref that commits them once the store file names it,
        and the histories it names. Appends to the log, or writes a new base of all
        histories when the log would outgrow its share (or the base has no index)."""
        after = months.updated(changed)
        if ref is None or not months.indexed:
            return self.write(after.all())
        try:
            base = os.stat(self.path(ref.id)).st_size
        except OSError:
            base = 0
        room = max(MIN_LOG_BYTES, base // 8) - ref.log
        # the histories alone overflow it (a first scan's batch changes most): no record
        if sum(map(len, changed.values())) > room:
            return self.write(after.all())
        record = encode_record(changed)
        if len(record) > room:
            return self.write(after.all())
        new = HistoryRef(ref.id, append_at(self.log_path(ref.id), ref.log, record))
        return new, after

    def remember(self, ref: HistoryRef, months: Histories) -> None:
        """The store file now names `ref`, whose histories are `months`."""
        self._cache = (ref, months)

    def remove_others(self, ref: HistoryRef | None) -> None:
        """Remove history files not of `ref` (replaced ones, leftovers of killed writers)."""
        keep = () if ref is None else (self.path(ref.id).name, self.log_path(ref.id).name)
        remove_beside(self.store_path, f"{self.store_path.name}.history-", keep)
