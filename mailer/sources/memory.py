"""A mailbox held in memory, behind the same edges as IMAP: Source, Drafts, CommandBox.

Unit tests of the scan, the drafts and the command mail run against it
instead of a hand-written fake or a Dovecot, and `tests/test_edges_contract.py`
holds it to the same contract as the real edges. It numbers mail as an IMAP
server does (UIDs that only grow, a UIDVALIDITY per folder, sequence numbers
as positions) and hands over only the header fields IMAP is asked for, so
code that works here does not lean on anything the server would not send.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mailer.core.headers import HEADER_FIELDS, header_block
from mailer.model import RawMessage
from mailer.sources.base import FolderError, FolderInfo, MailItem, NewMessages, draft_keys

# What ImapCommandBox fetches of a candidate (its _CMD_HEADER); the contract
# test checks both hand over the same fields.
COMMAND_FIELDS = (
    "From",
    "To",
    "Cc",
    "Bcc",
    "Delivered-To",
    "X-Original-To",
    "Message-ID",
    "Subject",
    "Date",
    "Content-Type",
    "Authentication-Results",
)
_ADDRESS_FIELDS = ("To", "Cc", "Bcc", "Delivered-To", "X-Original-To")  # searched for the stem


@dataclass(frozen=True, slots=True)
class _Mail:
    uid: int
    raw: bytes
    when: datetime | None


@dataclass(slots=True)
class _Folder:
    uidvalidity: int
    uidnext: int = 1
    mails: list[_Mail] = field(default_factory=list)


def header_fields(raw: bytes, names: Iterable[str]) -> bytes:
    """The lines of `names` in the header of `raw`, as `BODY[HEADER.FIELDS (...)]`
    returns them: in message order, continuation lines kept, ending in an empty line."""
    wanted = {n.lower() for n in names}
    lines = header_block(raw).splitlines(keepends=True)
    kept: list[bytes] = []
    keep = False
    for line in lines:
        if line[:1] not in (b" ", b"\t"):
            keep = line.split(b":", 1)[0].strip().lower().decode("ascii", "replace") in wanted
        if keep:
            kept.append(line)
    eol = b"\r\n" if lines and lines[0].endswith(b"\r\n") else b"\n"
    if kept and not kept[-1].endswith(b"\n"):
        kept[-1] += eol  # the header block's last line comes without its line end
    return b"".join(kept) + eol


class MemoryMailbox:
    """Folders of mail in memory; `source()`, `drafts()` and `command_box()` are its edges."""

    def __init__(self, id: str = "memory") -> None:
        self.id = id
        self._folders: dict[str, _Folder] = {}
        self._validity = itertools.count(1)

    def folders(self) -> list[str]:
        """The folders there are, in the order they were made."""
        return list(self._folders)

    def create(self, folder: str) -> None:
        if folder not in self._folders:
            self._folders[folder] = _Folder(uidvalidity=next(self._validity))

    def delete(self, folder: str) -> None:
        self._folders.pop(folder, None)

    def append(self, folder: str, raw: bytes, when: datetime | None = None) -> int:
        """Deliver `raw` into `folder` (created when missing); its new UID."""
        self.create(folder)
        box = self._folder(folder)
        box.mails.append(_Mail(box.uidnext, raw, when))
        box.uidnext += 1
        return box.uidnext - 1

    def expunge(self, folder: str, uids: Iterable[int]) -> None:
        gone = set(uids)
        box = self._folder(folder)
        box.mails = [m for m in box.mails if m.uid not in gone]

    def messages(self, folder: str) -> list[bytes]:
        """The raw mails of `folder` in UID order (none when it does not exist)."""
        return [m.raw for m in self._mails(folder)]

    def uids(self, folder: str) -> list[int]:
        return [m.uid for m in self._mails(folder)]

    def _mails(self, folder: str) -> list[_Mail]:
        box = self._folders.get(folder)
        return box.mails if box else []

    def _folder(self, name: str) -> _Folder:
        box = self._folders.get(name)
        if box is None:
            raise FolderError(f"{self.id}: folder {name!r} does not exist")
        return box

    def source(self, folders: Sequence[str] = ("INBOX", "Sent")) -> MemorySource:
        return MemorySource(self, folders)

    def drafts(self, folder: str = "Drafts") -> MemoryDrafts:
        return MemoryDrafts(self, folder)

    def command_box(self, inbox: str = "INBOX") -> MemoryCommandBox:
        return MemoryCommandBox(self, inbox)


class MemorySource:
    """The scan's view of a MemoryMailbox. As after an IMAP SELECT, an opened folder is
    read as it was when opened; mail expunged since is left out."""

    def __init__(self, mailbox: MemoryMailbox, folders: Sequence[str]) -> None:
        self.id = mailbox.id
        self._mailbox = mailbox
        self._folders = list(folders)
        self._opened: dict[str, list[_Mail]] = {}

    def scan_folders(self) -> list[str]:
        return list(self._folders)

    def open_folder(self, name: str) -> FolderInfo:
        box = self._mailbox._folder(name)
        self._opened[name] = list(box.mails)
        return FolderInfo(name, box.uidvalidity, box.uidnext, len(box.mails))

    def new_messages(self, info: FolderInfo, last_uid: int) -> NewMessages:
        mails = self._opened[info.name]
        first = next((i for i, m in enumerate(mails, 1) if m.uid > last_uid), len(mails) + 1)
        return NewMessages(first=first, last=len(mails), after_uid=last_uid)

    def fetch(self, info: FolderInfo, new: NewMessages, chunk: int) -> Iterator[list[RawMessage]]:
        mails = self._opened[info.name][new.first - 1 : new.last]
        for start in range(0, len(mails), chunk):
            # expunged since the listing: left out; the folder deleted: FolderError
            there = {m.uid for m in self._mailbox._folder(info.name).mails}
            yield [
                RawMessage(header_fields(m.raw, HEADER_FIELDS), m.when, m.uid)
                for m in mails[start : start + chunk]
                if m.uid > new.after_uid and m.uid in there
            ]

    def close(self) -> None:
        self._opened.clear()


class MemoryDrafts:
    """A Drafts folder of a MemoryMailbox."""

    def __init__(self, mailbox: MemoryMailbox, folder: str) -> None:
        self._mailbox, self.folder = mailbox, folder

    def existing_keys(self) -> set[str]:
        keys: set[str] = set()
        for raw in self._mailbox.messages(self.folder):
            keys.update(draft_keys(header_block(raw)))
        return keys

    def append(self, message: bytes, when: datetime) -> None:
        self._mailbox.append(self.folder, message, when)


class MemoryCommandBox:
    """INBOX of a MemoryMailbox as the command mail sees it: candidates by the
    command address's stem (as the IMAP SEARCH finds them), header fields first."""

    def __init__(self, mailbox: MemoryMailbox, inbox: str = "INBOX") -> None:
        self._mailbox, self._inbox = mailbox, inbox

    def candidates(self, address: str) -> list[MailItem]:
        from mailer.core.command_mail import command_stem  # as imap.py: the parser is heavy

        stem = command_stem(address).encode()
        return [
            MailItem(m.uid, header_fields(m.raw, COMMAND_FIELDS), len(m.raw), m.when)
            for m in self._mailbox._mails(self._inbox)
            if stem in header_fields(m.raw, _ADDRESS_FIELDS).lower()
        ]

    def body(self, item: MailItem) -> bytes:
        return next((m.raw for m in self._mailbox._mails(self._inbox) if m.uid == item.uid), b"")

    def move(self, uids: list[int], folder: str) -> None:
        if not uids:
            return
        self._mailbox.create(folder)
        moving = set(uids)
        for m in self._mailbox._mails(self._inbox):
            if m.uid in moving:
                self._mailbox.append(folder, m.raw, m.when)
        self._mailbox.expunge(self._inbox, moving)
