"""Which messages were counted: their keys, kept apart from the TinyDB file.

Every message counted leaves an 8-byte key (`core.headers` hashes its
Message-ID) so that no copy of it, in another folder, a rescan or an mbox
import, is counted twice. A mailbox of a million messages has a million of
them. Kept in the JSON file, they made every transaction, `contacts list`
included, read and rewrite 17 MB it did not need. So they live in two files
beside the store, and only the scan and rebuild read them:

- `<store>.keys-<id>`, the base: a header, the keys sorted as 8-byte
  big-endian numbers, and a digest of both, checked at load. Written once
  (temp file, fsync, rename), never changed.
- `<store>.keys-<id>.log`: keys added since, appended as records (a count,
  the keys, a CRC-32 of both), fsync'd before the store file is written.

The store file is the commit point: its `keys` table says which base is
current, how many bytes of its log are committed, and how many keys there are
(`KeysRef`). Log bytes beyond that were appended by a transaction killed
before it wrote the store file; they are ignored, and cut off by the next
append, so the keys and the contacts they were counted into always agree.
Once the log outgrows a share of the base, a write makes a new base of all
keys instead (a new id), and files of other ids are removed by the next
transaction that reads the keys: a kill at any moment leaves the named base
and log intact. All of this runs under the store's lock.
"""

from __future__ import annotations

import bisect
import contextlib
import heapq
import struct
import sys
import zlib
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from mailer.errors import StoreFormatError, one_line
from mailer.store.files import (
    append_at,
    blake2b,
    read_log,
    remove_beside,
    text_hash,
    write_atomic,
)

MAGIC = b"MLRKEYS1"
_HEADER = struct.Struct(">8sQ")  # magic, count
_DIGEST = 16  # blake2b digest of header and keys, at the end of a base
_RECORD = struct.Struct(">I")  # a log record's count, and its CRC-32 at the end
MIN_LOG_KEYS = 65_536  # the log may hold this many keys, or an eighth of the base if more


@dataclass(frozen=True, slots=True)
class KeysRef:
    """What the store file says of the keys: base `id`, committed `log` bytes, `count`."""

    id: str
    log: int
    count: int

    def to_doc(self) -> dict[str, object]:
        return {"id": self.id, "log": self.log, "count": self.count}

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> KeysRef:
        ident, log, count = doc.get("id"), doc.get("log"), doc.get("count")
        if not isinstance(ident, str) or not ident.isalnum():
            raise ValueError(f"keys id {ident!r}")
        if not isinstance(log, int) or not isinstance(count, int) or log < 0 or count < 0:
            raise ValueError(f"keys log {log!r} / count {count!r}")
        return cls(ident, log, count)


def key_number(key: str) -> int:
    """A message key as the 64-bit number stored: its 16 hex digits, else a hash of it."""
    if len(key) == 16:
        with contextlib.suppress(ValueError):
            return int(key, 16)
    return text_hash(key)


def key_text(number: int) -> str:
    return f"{number:016x}"


class KeySet:
    """The committed keys, for membership tests: a sorted array and a small set."""

    def __init__(self, base: array[int], added: set[int]) -> None:
        self._base = base
        self._added = added

    @classmethod
    def empty(cls) -> KeySet:
        return cls(array("Q"), set())

    def __contains__(self, number: object) -> bool:
        if number in self._added:
            return True
        base = self._base
        i = bisect.bisect_left(base, number)  # type: ignore[call-overload]
        return i < len(base) and bool(base[i] == number)

    def __len__(self) -> int:
        return len(self._base) + len(self._added)

    def __iter__(self) -> Iterator[int]:
        yield from self._base
        yield from self._added

    @property
    def log_keys(self) -> int:
        """How many keys came from the log (the rest from the base)."""
        return len(self._added)

    def merged(self, new: Iterable[int]) -> array[int]:
        """Every key and `new` ones, sorted, as one array: at a million keys, without a
        list or set of them all (a merge of the sorted base with the few others)."""
        others = sorted(self._added.union(new))
        out = array("Q")
        last = -1
        for number in heapq.merge(self._base, others):
            if number != last:
                out.append(number)
                last = number
        return out

    def add_all(self, numbers: Iterable[int]) -> None:
        """Keys this process appended and committed to the log."""
        self._added.update(numbers)


def encode_base(numbers: Iterable[int]) -> bytearray:
    return _encode_sorted(array("Q", sorted(set(numbers))))


def _encode_sorted(keys: array[int]) -> bytearray:
    """A base of `keys`, sorted and distinct already (changed in place). Built in one
    buffer: at a million keys each copy of them is 8 MB more at the scan's peak."""
    if sys.byteorder == "little":
        keys.byteswap()
    out = bytearray(_HEADER.pack(MAGIC, len(keys)))
    out += memoryview(keys).cast("B")
    out += blake2b(out, digest_size=_DIGEST).digest()
    return out


def decode_base(data: bytes, where: Path) -> array[int]:
    """The sorted keys of a base file; StoreFormatError when it is damaged."""
    size = _HEADER.size
    if len(data) < size + _DIGEST:
        raise damaged(where, "it is too short")
    magic, count = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise damaged(where, "it is no mailer key file")
    if len(data) != size + 8 * count + _DIGEST:
        raise damaged(where, f"it should hold {count} keys")
    view = memoryview(data)  # slices of it copy nothing (8 MB at a million keys)
    if blake2b(view[:-_DIGEST], digest_size=_DIGEST).digest() != data[-_DIGEST:]:
        raise damaged(where, "its checksum does not match")
    keys = array("Q")
    keys.frombytes(view[size:-_DIGEST])
    if sys.byteorder == "little":
        keys.byteswap()
    return keys


def encode_record(numbers: list[int]) -> bytes:
    body = _RECORD.pack(len(numbers)) + struct.pack(f">{len(numbers)}Q", *numbers)
    return body + _RECORD.pack(zlib.crc32(body))


def decode_log(data: bytes, where: Path) -> list[int]:
    """Every key of the committed log bytes `data`; StoreFormatError when damaged."""
    out: list[int] = []
    at = 0
    while at < len(data):
        if at + 2 * _RECORD.size > len(data):
            raise damaged(where, f"a record at byte {at} is cut short")
        (count,) = _RECORD.unpack_from(data, at)
        end = at + _RECORD.size + 8 * count
        if end + _RECORD.size > len(data):
            raise damaged(where, f"a record at byte {at} is cut short")
        (crc,) = _RECORD.unpack_from(data, end)
        if zlib.crc32(data[at:end]) != crc:
            raise damaged(where, f"the record at byte {at} does not match its checksum")
        out.extend(struct.unpack_from(f">{count}Q", data, at + _RECORD.size))
        at = end + _RECORD.size
    return out


class KeyFileError(StoreFormatError):
    """A key file is missing or damaged: which messages were counted is not known."""


def damaged(where: Path, why: str) -> KeyFileError:
    return KeyFileError(
        f"message key file {where} is damaged: {why}",
        hint="run `mailer rebuild` to count your mail again from its sources,"
        " or restore the store with its key files from a backup",
    )


class KeyFiles:
    """The key files of the store at `store_path`. Use only under the store's lock."""

    def __init__(self, store_path: Path) -> None:
        self.store_path = store_path
        # The keys as last committed by this process: (ref, set), read again only in part.
        self._cache: tuple[KeysRef, KeySet] | None = None

    def base_path(self, ident: str) -> Path:
        return self.store_path.with_name(f"{self.store_path.name}.keys-{ident}")

    def log_path(self, ident: str) -> Path:
        return self.store_path.with_name(f"{self.store_path.name}.keys-{ident}.log")

    def load(self, ref: KeysRef | None) -> KeySet:
        """The keys `ref` names (none for None), reading only what this process lacks."""
        if ref is None:
            return KeySet.empty()
        cached = self._cache
        if cached is not None and cached[0].id == ref.id and cached[0].log <= ref.log:
            old, keys = cached
            if old.log < ref.log:
                keys.add_all(self._read_log(ref, old.log))
        else:
            base = decode_base(self._read(self.base_path(ref.id)), self.base_path(ref.id))
            keys = KeySet(base, set(self._read_log(ref, 0)))
        self._cache = (ref, keys)
        return keys

    def _read(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise damaged(path, "it is missing") from None
        except OSError as e:
            raise damaged(path, one_line(e.strerror or e)) from None

    def _read_log(self, ref: KeysRef, start: int) -> list[int]:
        if ref.log == start:
            return []
        path = self.log_path(ref.id)
        return decode_log(read_log(path, start, ref.log, damaged), path)

    def add(self, ref: KeysRef | None, keys: KeySet, new: list[int]) -> KeysRef:
        """Write `new` keys (none of them in `keys`, the set `ref` names) and return the
        ref that commits them once the store file names it. Appends to the log, or
        writes a new base of all keys when the log would outgrow its share."""
        if not new:
            return ref if ref is not None else self.replace([])
        if ref is None or keys.log_keys + len(new) > max(MIN_LOG_KEYS, len(keys) // 8):
            return self._write_base(_encode_sorted(keys.merged(new)))
        log = append_at(self.log_path(ref.id), ref.log, encode_record(new))
        return KeysRef(ref.id, log, ref.count + len(new))

    def replace(self, numbers: Iterable[int]) -> KeysRef:
        """A new base holding exactly `numbers`, with an empty log (the caller commits it)."""
        return self._write_base(encode_base(numbers))

    def merge(self, keys: KeySet) -> KeysRef:
        """A new base of `keys`, its log merged in (the caller commits it)."""
        return self._write_base(_encode_sorted(keys.merged(())))

    def _write_base(self, payload: bytes | bytearray) -> KeysRef:
        # named by its content: the same keys make the same file (a rebuild that finds
        # nothing new leaves every byte of the store as it was)
        ident = payload[-_DIGEST:][:6].hex()
        write_atomic(self.base_path(ident), payload)
        return KeysRef(ident, 0, (len(payload) - _HEADER.size - _DIGEST) // 8)

    def remember(self, ref: KeysRef, keys: KeySet) -> None:
        """The store file now names `ref`, whose keys are `keys`: the next load reads
        only what other processes add after it."""
        self._cache = (ref, keys)

    def forget(self) -> None:
        """Drop what this process remembers (a transaction that did not commit)."""
        self._cache = None

    def remove_others(self, ref: KeysRef | None) -> None:
        """Remove key files and temp files not of `ref` (leftovers of killed writers)."""
        keep = () if ref is None else (self.base_path(ref.id).name, self.log_path(ref.id).name)
        remove_beside(self.store_path, f"{self.store_path.name}.keys-", keep)
