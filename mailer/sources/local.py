"""Local mailboxes (mbox files and Maildir folders) as scan sources.

They serve history imports and trying mailer without an account. They have no
stable UIDs, so each import reads them whole; the store's message keys make a
repeated import count nothing twice.
"""

from __future__ import annotations

import contextlib
import itertools
import mailbox
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from mailer.core.headers import HEADER_LIMIT, header_block
from mailer.errors import UsageError
from mailer.model import RawMessage
from mailer.sources.base import FolderError, FolderInfo, NewMessages, draft_keys

_DELIVERIES = itertools.count()  # Maildir unique names: deliveries by this process


def _from_line_date(line: bytes) -> datetime | None:
    # "From sender Tue Jul  1 10:52:37 2003": the delivery date, like INTERNALDATE
    parts = line.decode("ascii", "replace").split()
    if len(parts) < 7:
        return None
    try:
        dt = parsedate_to_datetime(" ".join(parts[2:7]))
    except (TypeError, ValueError, IndexError):
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _chunked(items: Iterator[RawMessage], size: int) -> Iterator[list[RawMessage]]:
    chunk: list[RawMessage] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _positions(total: int, last_uid: int) -> NewMessages:
    # a local folder's UIDs are its positions: everything after last_uid is new
    return NewMessages(first=last_uid + 1, last=total, after_uid=last_uid)


class MboxSource:
    """One mbox file; UIDs are message positions, counted from 1."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise UsageError(f"{path} is not an mbox file")
        self.path = path
        self.id = f"mbox:{path.resolve()}"
        try:
            self._box = mailbox.mbox(path, create=False)
            self._keys = list(self._box.iterkeys())
        except (OSError, mailbox.Error) as e:
            raise UsageError(f"cannot read mbox {path}: {e}") from None
        if not self._keys and path.stat().st_size > 0:
            raise UsageError(
                f"{path} holds no mbox messages",
                hint="in an mbox file each message starts with a 'From ' line",
            )

    def scan_folders(self) -> list[str]:
        return [str(self.path)]

    def open_folder(self, name: str) -> FolderInfo:
        if name != str(self.path):  # an mbox file is one folder
            raise FolderError(f"{self.path} has no folder {name!r}")
        return FolderInfo(name=name, uidvalidity=None, uidnext=None, messages=len(self._keys))

    def new_messages(self, info: FolderInfo, last_uid: int) -> NewMessages:
        return _positions(len(self._keys), last_uid)

    def _messages(self, uids: range) -> Iterator[RawMessage]:
        for uid in uids:
            data = self._box.get_bytes(self._keys[uid - 1], from_=True)
            first, _, rest = data.partition(b"\n")
            when = None
            if first.startswith(b"From "):
                when, data = _from_line_date(first), rest
            yield RawMessage(header=header_block(data), internaldate=when, uid=uid)

    def fetch(self, info: FolderInfo, new: NewMessages, chunk: int) -> Iterator[list[RawMessage]]:
        return _chunked(self._messages(range(new.first, new.last + 1)), chunk)

    def close(self) -> None:
        self._box.close()


class MaildirSource:
    """A Maildir and its Maildir++ subfolders (`.Sent`, `.Archive`, ...).

    UIDs are positions in the sorted file list of one import."""

    def __init__(self, path: Path) -> None:
        if not (path / "cur").is_dir() and not (path / "new").is_dir():
            raise UsageError(f"{path} is not a Maildir (it has no cur/ or new/ folder)")
        self.path = path
        self.id = f"maildir:{path.resolve()}"
        self._listing: dict[str, list[Path]] = {}

    def scan_folders(self) -> list[str]:
        subs = sorted(
            p.name for p in self.path.iterdir() if p.name.startswith(".") and (p / "cur").is_dir()
        )
        return ["INBOX", *subs]

    def open_folder(self, name: str) -> FolderInfo:
        base = self.path if name == "INBOX" else self.path / name
        if not (base / "cur").is_dir() and not (base / "new").is_dir():
            # deleted since it was listed, or never there: reported, not counted empty
            raise FolderError(f"{self.path}: no Maildir folder {name!r}")
        files: list[Path] = []
        for sub in ("cur", "new"):
            d = base / sub
            if d.is_dir():
                files.extend(p for p in d.iterdir() if not p.name.startswith("."))
        self._listing[name] = sorted(files)
        return FolderInfo(name=name, uidvalidity=None, uidnext=None, messages=len(files))

    def new_messages(self, info: FolderInfo, last_uid: int) -> NewMessages:
        return _positions(len(self._listing[info.name]), last_uid)

    def _messages(self, files: list[Path], uids: range) -> Iterator[RawMessage]:
        for uid in uids:
            try:
                with open(files[uid - 1], "rb") as f:
                    data = f.read(HEADER_LIMIT)
                    mtime = os.fstat(f.fileno()).st_mtime
            except OSError:
                continue  # moved away while we read: not ours to fail on
            when = datetime.fromtimestamp(mtime, UTC)
            yield RawMessage(header=header_block(data), internaldate=when, uid=uid)

    def fetch(self, info: FolderInfo, new: NewMessages, chunk: int) -> Iterator[list[RawMessage]]:
        uids = range(new.first, new.last + 1)
        return _chunked(self._messages(self._listing[info.name], uids), chunk)

    def close(self) -> None:
        pass


class MaildirDrafts:
    """A local Maildir as the Drafts folder (for setups synced by mbsync and the like,
    and for the demo): drafts go into its `cur/` with the Draft and Seen flags."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.folder = str(path)

    def existing_keys(self) -> set[str]:
        keys: set[str] = set()
        for sub in ("cur", "new"):
            d = self.path / sub
            if d.is_dir():
                for file in d.iterdir():
                    with contextlib.suppress(OSError):
                        keys.update(draft_keys(header_block(file.read_bytes())))
        return keys

    def append(self, message: bytes, when: datetime) -> None:
        """Deliver `message` into `cur/` the Maildir way (write in `tmp/`, then rename),
        its file 0600 whatever the umask: a draft is private mail, and
        `mailbox.Maildir.add` would leave it readable by everyone (0644)."""
        os.makedirs(self.path, mode=0o700, exist_ok=True)
        for sub in ("tmp", "new", "cur"):
            os.makedirs(self.path / sub, mode=0o700, exist_ok=True)
        host = socket.gethostname().replace("/", r"\057").replace(":", r"\072")
        stamp = time.time_ns()  # a unique name, not a date: the mtime carries `when`
        seconds, micro = stamp // 10**9, stamp // 1000 % 10**6
        unique = f"{seconds}.M{micro}P{os.getpid()}Q{next(_DELIVERIES)}.{host}"
        tmp = self.path / "tmp" / unique
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(message.replace(b"\r\n", b"\n"))  # Maildir files end lines with LF
                f.flush()
                os.fsync(f.fileno())
            os.utime(tmp, (when.timestamp(), when.timestamp()))
            os.rename(tmp, self.path / "cur" / f"{unique}:2,DS")  # Draft, Seen
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
