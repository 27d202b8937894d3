"""The one interface the scan sees: folders that hand over header bytes in UID order.

IMAP, mbox and Maildir each implement it, so the scan pipeline and its
contract tests are the same for all of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mailer.model import RawMessage


@dataclass(frozen=True, slots=True)
class FolderInfo:
    """A selected folder. `uidvalidity` None means the source has no stable UIDs:
    every scan reads it whole and the store's message keys drop what it has seen."""

    name: str
    uidvalidity: int | None
    uidnext: int | None
    messages: int


class Source(Protocol):
    id: str

    def scan_folders(self) -> list[str]:
        """The folders a scan reads, in order."""
        ...

    def open_folder(self, name: str) -> FolderInfo: ...

    def new_uids(self, info: FolderInfo, last_uid: int) -> list[int]:
        """UIDs greater than `last_uid`, ascending."""
        ...

    def fetch(
        self, info: FolderInfo, uids: list[int], batch_size: int
    ) -> Iterator[list[RawMessage]]:
        """The header blocks of `uids`, in that order, in batches."""
        ...

    def close(self) -> None: ...


DRAFT_KEY_HEADER = "X-Mailer-Draft-Key"
_DRAFT_KEY_RE = re.compile(r"(?im)^x-mailer-draft-key:[ \t]*(\S+)")


def draft_keys(header: bytes) -> list[str]:
    """The X-Mailer-Draft-Key values in a header block."""
    return _DRAFT_KEY_RE.findall(header.decode("utf-8", "replace"))


class Drafts(Protocol):
    """Where drafts are written: the IMAP Drafts folder, or a local Maildir."""

    folder: str

    def existing_keys(self) -> set[str]:
        """The draft keys already in the folder, so nothing is written twice."""
        ...

    def append(self, message: bytes, when: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class MailItem:
    """One mail in INBOX that may be for the command address."""

    uid: int
    header: bytes
    size: int
    internaldate: datetime | None = None


class CommandBox(Protocol):
    """INBOX as command mail arrives there, and the folder it is moved to once handled."""

    def candidates(self, address: str) -> list[MailItem]:
        """Mails that may be addressed to `address` (or to a look-alike), by UID."""
        ...

    def body(self, item: MailItem) -> bytes:
        """The whole raw mail."""
        ...

    def move(self, uids: list[int], folder: str) -> None:
        """Move handled mails out of INBOX into `folder`, creating it when missing."""
        ...
