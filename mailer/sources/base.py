"""The one interface the scan sees: folders that hand over header bytes in UID order.

IMAP, mbox and Maildir each implement it, so the scan pipeline and its
contract tests are the same for all of them.

New mail is listed as a range of positions in the source's own numbering
(IMAP message sequence numbers), never as a list of UIDs: a folder of a
million messages then lists in a few small round trips, where a UID list
grows with the folder (a `SEARCH` answer over imaplib's 1,000,000-byte line
limit at about 160,000 messages).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mailer.errors import SourceError
from mailer.model import RawMessage


@dataclass(frozen=True, slots=True)
class FolderInfo:
    """A folder as opened for a scan. `uidvalidity` None means the source has no stable UIDs:
    every scan reads it whole and the store's message keys drop what it has seen."""

    name: str
    uidvalidity: int | None
    uidnext: int | None
    messages: int


@dataclass(frozen=True, slots=True)
class NewMessages:
    """Where a folder's new mail is: positions `first` to `last` (inclusive) of the
    source's own numbering, every message there with a UID above `after_uid`.

    `count` is exact when the listing was made, give or take one: a server
    that only says "the last message" when nothing is new is asked no more
    (`fetch` drops it by its UID)."""

    first: int
    last: int
    after_uid: int

    @property
    def count(self) -> int:
        return max(0, self.last - self.first + 1)


class FolderError(SourceError):
    """One folder cannot be read (missing, not selectable, deleted mid-scan):
    the scan reports it and goes on with the other folders."""


class Source(Protocol):
    id: str

    def scan_folders(self) -> list[str]:
        """The folders a scan reads, in order."""
        ...

    def open_folder(self, name: str) -> FolderInfo:
        """Select a folder; FolderError when it cannot be."""
        ...

    def new_messages(self, info: FolderInfo, last_uid: int) -> NewMessages:
        """Where the messages with a UID greater than `last_uid` are."""
        ...

    def fetch(self, info: FolderInfo, new: NewMessages, chunk: int) -> Iterator[list[RawMessage]]:
        """The header blocks of `new`, in UID order, at most `chunk` a list; a message
        gone since the listing is left out."""
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
