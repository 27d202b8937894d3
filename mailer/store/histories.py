"""The contacts' monthly histories, kept in a file of their own beside the store.

A contact's history (`core.history`: mail in and out per month) grows with
the years of mail behind it: at a million messages it was more than half of
the TinyDB file, which every command reads whole. What judging a contact
needs of it (rhythm, weights) is stored with the contact, so only the scan's
fold, a merge, a rebuild and `contacts show` read the histories themselves.

`<store>.history-<id>` is a JSON object, email -> history string, written
once (temp file, fsync, rename) and never changed; a change writes a new file
under a new id (a digest of its content). As with the key files (`keystore`), the store file is the
commit point: its `history` table names the current id, so a writer killed
before it wrote the store file leaves the old file named and in force, and
files of other ids are removed by the next transaction that reads the
histories. Use only under the store's lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from mailer.errors import StoreFormatError, one_line
from mailer.store.files import json_bytes, json_value, remove_beside, write_atomic

FORMAT = "mailer-history-1"


class HistoryFileError(StoreFormatError):
    """The history file the store names is missing or damaged."""


def damaged(where: Path, why: str) -> HistoryFileError:
    return HistoryFileError(
        f"history file {where} is damaged: {why}",
        hint="run `mailer rebuild` to derive the histories from your mail again,"
        " or restore the store with the files beside it from a backup",
    )


class HistoryFiles:
    """The history files of the store at `store_path`."""

    def __init__(self, store_path: Path) -> None:
        self.store_path = store_path
        self._cache: tuple[str, dict[str, str]] | None = None  # files never change: by id

    def path(self, ident: str) -> Path:
        return self.store_path.with_name(f"{self.store_path.name}.history-{ident}")

    def load(self, ident: str | None) -> dict[str, str]:
        """The histories of file `ident` (none for None); the caller may not change them."""
        if ident is None:
            return {}
        if self._cache is not None and self._cache[0] == ident:
            return self._cache[1]
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
        self._cache = (ident, months)
        return months

    def write(self, months: Mapping[str, str]) -> str:
        """A new file of `months` (empty histories left out); its id."""
        kept = {e: m for e, m in sorted(months.items()) if m}
        data = {"format": FORMAT, "months": kept}
        payload = json_bytes(data)
        # Named by its content: the same histories make the same store file, byte for byte.
        ident = hashlib.blake2b(payload, digest_size=6).hexdigest()
        write_atomic(self.path(ident), payload)
        self._cache = (ident, kept)
        return ident

    def remove_others(self, ident: str | None) -> None:
        """Remove history files not of `ident` (replaced ones, leftovers of killed writers)."""
        keep = () if ident is None else (self.path(ident).name,)
        remove_beside(self.store_path, f"{self.store_path.name}.history-", keep)
