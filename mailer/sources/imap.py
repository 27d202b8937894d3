"""The owner's IMAP account as a scan source, through imapclient.

Everything imapclient returns (bytes-keyed dicts, its exceptions) is turned
into our types and our errors in this module and its three neighbours:
imap_session.py (connecting, TLS, login), imap_parse.py (FETCH responses)
and imap_boxes.py (the Drafts folder and the command box on the same
connection).

New mail is found and read by message sequence number, so no response grows
with the folder: after SELECT, the first new message's number comes from one
ESEARCH (RFC 4731) `MIN`, or, without ESEARCH, from a search over `FETCH n
(UID)` probes (a few round trips at a million messages; one when no mail
newer than the last scan was expunged); headers then come by ranges `a:b`.
`SEARCH UID n:*` listed every UID in one response line, over imaplib's
1,000,000-byte limit at about 160,000 messages.

A folder that cannot be read (missing, not selectable, deleted while it is
read) is a `FolderError`, which the scan reports and skips; a failing
connection or login stays a `SourceError` that stops the scan.
"""

from __future__ import annotations

import contextlib
import re
import ssl
from collections.abc import Callable, Iterator
from typing import Any

from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from mailer import net
from mailer.config import Account, Folders
from mailer.core.headers import HEADER_FIELDS
from mailer.errors import MailerError, SourceError, one_line
from mailer.model import RawMessage
from mailer.sources.base import FolderError, FolderInfo, NewMessages
from mailer.sources.imap_boxes import ImapCommandBox, ImapDrafts
from mailer.sources.imap_parse import aware, parse_fetch
from mailer.sources.imap_session import close_quietly, connect, guard, tls_context

# Re-exported: callers and tests take the IMAP edge from this module (and the
# IDLE watcher's `connect` from here, where a test replaces it).
__all__ = [
    "PROBES",
    "ImapCommandBox",
    "ImapDrafts",
    "ImapSource",
    "connect",
    "parse_fetch",
    "tls_context",
]

PROBES = 16  # sequence numbers a round trip asks the UID of, finding new mail without ESEARCH
_BODY = "BODY.PEEK[HEADER.FIELDS ({})]".format(" ".join(HEADER_FIELDS)).encode()
_SPECIAL = {"sent": rb"\Sent", "drafts": rb"\Drafts"}


_NOISE = re.compile(
    r"^[a-z]+ failed: "  # imapclient's "select failed: ", said by our message already
    r"|\s*\(\d+\.\d+ \+ \d+\.\d+(?: \+ \d+\.\d+)? secs\)\.?$",  # Dovecot's timing
    re.IGNORECASE,
)


def _refusal(error: Exception) -> str:
    """What the server said refusing a command, without the parts that change each time."""
    return _NOISE.sub("", net.reason(error)) or net.reason(error)


def _text(data: Any) -> str:
    """A tagged response's text (imaplib's list of bytes) as one line."""
    items = data if isinstance(data, list) else [data]
    return one_line(
        " ".join(i.decode("utf-8", "replace") if isinstance(i, bytes) else str(i) for i in items)
    )


def _folder_info(name: str, answer: dict[bytes, Any], count: bytes) -> FolderInfo:
    """A STATUS (`count` MESSAGES) or SELECT (EXISTS) answer as a FolderInfo."""
    return FolderInfo(
        name=name,
        uidvalidity=int(answer[b"UIDVALIDITY"]) if b"UIDVALIDITY" in answer else None,
        uidnext=int(answer[b"UIDNEXT"]) if b"UIDNEXT" in answer else None,
        messages=int(answer.get(count, 0)),
    )


def _nothing_after(info: FolderInfo, last_uid: int) -> bool:
    """No message with a UID above `last_uid` (every UID is below UIDNEXT)."""
    return info.messages == 0 or (info.uidnext is not None and info.uidnext <= last_uid + 1)


class ImapSource:
    """The account's folders as a scan `Source`.

    It is given [account] (its id and host in messages) and [folders] (which
    folders to read), no more. `reconnect` makes a new logged-in client: with
    it, a connection the server drops because the selected folder was deleted
    (Dovecot does) is replaced, and that folder alone is skipped.
    """

    def __init__(
        self,
        account: Account,
        folders: Folders,
        client: Any,
        reconnect: Callable[[], Any] | None = None,
    ) -> None:
        self.id = f"imap:{account.username}@{account.host}"
        self._account, self._folders = account, folders
        self._where = f"{account.host}:{account.port}"
        self._reconnect = reconnect
        self._esearch: bool | None = None  # the server has ESEARCH; asked once, before SELECT
        self._client = self._adopt(client)
        # The folder this connection has selected, if it knows: the command box and
        # the drafts folder select on it too, unknown to it.
        self._selected: str | None = None
        self._selection_known = True
        self._early: dict[str, FolderInfo] = {}  # INBOX opened before a LIST (scan_folders)

    @staticmethod
    def _adopt(client: Any) -> Any:
        imap = getattr(client, "_imap", None)
        if imap is not None:
            # imapclient turns imaplib's debug on and routes it to logging: a
            # formatted string and a logging call per response line, even unlogged.
            imap.debug = 0
        return client

    def _guard(self, what: str) -> contextlib.AbstractContextManager[None]:
        return guard(self._where, what)

    def folder(self, role: str) -> str | None:
        """The folder for `sent` or `drafts`: configured, else by special use or name."""
        configured = {"sent": self._folders.sent, "drafts": self._folders.drafts}[role]
        if configured:
            return configured
        with self._guard("listing folders"):
            found = self._client.find_special_folder(_SPECIAL[role])
        return str(found) if found else None

    def list_folders(self) -> list[tuple[str, tuple[str, ...]]]:
        with self._guard("listing folders"):
            rows = self._client.list_folders()
        return [
            (str(name), tuple(f.decode() if isinstance(f, bytes) else str(f) for f in flags))
            for flags, _delim, name in rows
        ]

    def scan_folders(self) -> list[str]:
        inbox = self._folders.inbox
        folders = [inbox]
        if not self._folders.sent and self._selection_known and not self._selected:
            # Finding Sent takes a LIST, after which Dovecot (Maildir) may answer for
            # INBOX slowly for the rest of the session. So INBOX is opened first.
            with contextlib.suppress(FolderError):  # open_folder says so in its turn
                self._early[inbox] = self.open_folder(inbox)
        sent = self.folder("sent")
        if sent:
            folders.append(sent)
        folders.extend(self._folders.extra)
        return list(dict.fromkeys(folders))

    def open_folder(self, name: str) -> FolderInfo:
        early = self._early.pop(name, None)
        if early is not None and self._selection_known and self._selected == name:
            return early  # opened by scan_folders just now, still selected
        if self._esearch is None:
            # asked before SELECT: a CAPABILITY command in a selected folder could
            # carry EXPUNGE responses and shift the sequence numbers listed below
            with self._guard("asking for capabilities"):
                self._esearch = bool(self._client.has_capability("ESEARCH"))
        if self._selection_known and self._selected is not None and name != self._selected:
            # The folders after the first are asked by STATUS, and selected only when
            # it says something is new: a no-op rescan of many folders stays a
            # round trip each. Never STATUS of the selected folder: its answer may
            # be stale there (RFC 3501 6.3.10), as Dovecot's is.
            return self._status(name)
        # The first folder (INBOX, where new mail lands) is selected at once: a
        # server syncs a folder with new mail on STATUS and again on SELECT
        # (Dovecot with Maildir: 1.3 s each at 400,000 messages), while SELECT of
        # a folder with nothing new costs what STATUS does (a few ms).
        return self._select(name)

    def _status(self, name: str) -> FolderInfo:
        with self._in_folder(name, f"opening folder {name!r}"):
            status = self._client.folder_status(name, [b"MESSAGES", b"UIDNEXT", b"UIDVALIDITY"])
        return _folder_info(name, status, b"MESSAGES")

    def _select(self, name: str) -> FolderInfo:
        with self._in_folder(name, f"opening folder {name!r}"):
            info = _folder_info(name, self._client.select_folder(name, readonly=True), b"EXISTS")
        self._selected, self._selection_known = name, True
        return info

    def new_messages(self, info: FolderInfo, last_uid: int) -> NewMessages:
        if _nothing_after(info, last_uid):  # no round trip: a no-op rescan stays cheap
            return NewMessages(first=info.messages + 1, last=info.messages, after_uid=last_uid)
        if self._selected != info.name:  # opened by STATUS: select it to read it
            selected = self._select(info.name)
            if selected.uidvalidity != info.uidvalidity:
                raise FolderError(
                    f"{self._where}: folder {info.name!r} was replaced while it was opened"
                    " (its UIDVALIDITY changed); the next scan reads it again"
                )
            info = selected
        n = info.messages
        if _nothing_after(info, last_uid):
            return NewMessages(first=n + 1, last=n, after_uid=last_uid)
        if last_uid == 0:
            return NewMessages(first=1, last=n, after_uid=0)
        with self._in_folder(info.name, f"listing new mail in {info.name!r}"):
            first = self._first_after(info, last_uid)
        return NewMessages(first=first, last=n, after_uid=last_uid)

    def _first_after(self, info: FolderInfo, last_uid: int) -> int:
        """The sequence number of the first message with a UID above `last_uid`
        (the number after the last message when there is none)."""
        n = info.messages
        # UIDs ascend with sequence numbers, each at least one above the one
        # before: message s has a UID of at least s and at most UIDNEXT-1-(n-s).
        # So the first new message is at `hi` = last_uid+1 at the latest, and no
        # earlier than `lo`, where it is when no mail newer than last_uid was
        # expunged (lo == hi when none was ever: no round trip at all).
        hi = min(n + 1, last_uid + 1)
        lo = max(1, n - (info.uidnext - 1 - last_uid) + 1) if info.uidnext else 1
        lo = min(lo, hi)
        if lo == hi:
            return lo
        if self._esearch and getattr(self._client, "_imap", None) is not None:
            return self._esearch_min(last_uid, n)
        return self._probe(lo, hi, last_uid)

    def _esearch_min(self, last_uid: int, n: int) -> int:
        """One ESEARCH: the lowest sequence number of a message with a UID above
        `last_uid`. `last_uid+1:*` also matches the last message when no UID is
        that high (RFC 3501 9: `*` is the highest UID in the folder); `fetch`
        drops that message again by its UID."""
        imap = self._client._imap
        typ, data = imap.xatom("SEARCH", "RETURN", "(MIN)", "UID", f"{last_uid + 1}:*")
        if typ != "OK":
            raise IMAPClientError(f"SEARCH failed: {_text(data)}")
        _, answers = imap.response("ESEARCH")
        for answer in reversed(answers):
            m = _ESEARCH_MIN.search(answer or b"")
            if m:
                return int(m.group(1))
        return n + 1  # no MIN: nothing matched

    def _probe(self, lo: int, hi: int, last_uid: int) -> int:
        """The first new message in [lo, hi] (hi: none before it), by the UIDs of up
        to PROBES sequence numbers a round trip; `lo` is asked first, so a folder
        where no mail newer than last_uid was expunged takes one round trip."""
        while lo < hi:
            span = hi - lo
            if span <= PROBES:
                probes = list(range(lo, hi))
            else:
                probes = [lo + span * i // PROBES for i in range(PROBES)]
            uids = self._uids_at(probes)
            for seq in probes:
                uid = uids.get(seq)
                if uid is None or uid > last_uid:  # unknown counts as new: fetch drops it
                    hi = seq
                    break
                lo = seq + 1
        return lo

    def _uids_at(self, seqs: list[int]) -> dict[int, int]:
        imap = getattr(self._client, "_imap", None)
        if imap is None:
            rows = self._seq_fetch_imapclient(seqs, [b"UID"])
            return {seq: int(row[b"UID"]) for seq, row in rows.items() if b"UID" in row}
        typ, data = imap.fetch(",".join(map(str, seqs)), "(UID)")
        if typ != "OK":
            raise IMAPClientError(f"FETCH failed: {_text(data)}")
        found: dict[int, int] = {}
        for item in data:
            m = _SEQ_UID.match(item if isinstance(item, bytes) else item[0])
            if m:
                found[int(m.group(1))] = int(m.group(2))
        return found

    def fetch(self, info: FolderInfo, new: NewMessages, chunk: int) -> Iterator[list[RawMessage]]:
        # Sequence numbers cannot shift while these FETCHes run: after SELECT
        # this session sends only FETCH and SEARCH, during which a server may
        # not send EXPUNGE (RFC 3501 7.4.1); mail another client expunges keeps
        # its number here, and comes back without its header (left out).
        for start in range(new.first, new.last + 1, chunk):
            end = min(start + chunk - 1, new.last)
            with self._in_folder(info.name, f"fetching headers from {info.name!r}"):
                got = self._fetch_range(start, end)
            got = [m for m in got if m.uid is not None and m.uid > new.after_uid]
            got.sort(key=lambda m: m.uid or 0)
            yield got

    def _fetch_range(self, first: int, last: int) -> list[RawMessage]:
        """One FETCH of header fields by sequence range, read through imaplib under imapclient.

        imapclient's own response parser reads about 25,000 messages/s here;
        imaplib's literal handling on the same connection is about 3x faster,
        and the rest of a FETCH response is simple enough to read with two
        regexes. `tests/test_scan.py` checks this against `IMAPClient.fetch`.
        """
        imap = getattr(self._client, "_imap", None)
        if imap is None:  # a future imapclient without it: take the slow, public road
            return self._fetch_range_imapclient(first, last)
        typ, data = imap.fetch(f"{first}:{last}", f"(UID INTERNALDATE {_BODY.decode()})")
        if typ != "OK":
            raise IMAPClientError(f"FETCH failed: {_text(data)}")
        return parse_fetch(data)

    def _fetch_range_imapclient(self, first: int, last: int) -> list[RawMessage]:
        rows = self._seq_fetch_imapclient(
            list(range(first, last + 1)), [b"UID", b"INTERNALDATE", _BODY]
        )
        out = []
        for _seq, row in sorted(rows.items()):
            header = next((v for k, v in row.items() if k.startswith(b"BODY[HEADER")), None)
            if header is None or b"UID" not in row:
                continue  # expunged by another client: its header is gone (NIL)
            out.append(
                RawMessage(
                    header=bytes(header),
                    internaldate=aware(row.get(b"INTERNALDATE")),
                    uid=int(row[b"UID"]),
                )
            )
        return out

    def _seq_fetch_imapclient(self, seqs: list[int], items: list[bytes]) -> dict[int, Any]:
        """imapclient's FETCH by sequence numbers (it speaks UIDs unless told)."""
        self._client.use_uid = False
        try:
            return dict(self._client.fetch(seqs, items))
        finally:
            self._client.use_uid = True

    @contextlib.contextmanager
    def _in_folder(self, name: str, what: str) -> Iterator[None]:
        """Failures while reading folder `name`: the server refusing it (NO: missing,
        not selectable) is a FolderError; a dropped connection is one when a new
        connection shows the folder gone (deleted under us), else a SourceError."""
        try:
            yield
        except (IMAPClientAbortError, OSError, ssl.SSLError) as e:
            why = net.reason(e)
            if self._vanished(name):
                raise FolderError(
                    f"{self._where}: folder {name!r} was deleted while it was read: {why}"
                ) from None
            raise SourceError(f"{self._where}: {what} failed: {why}") from None
        except IMAPClientError as e:
            raise FolderError(f"{self._where}: {what} failed: {_refusal(e)}") from None

    def _vanished(self, name: str) -> bool:
        """After a dropped connection: reconnect, and say whether `name` is gone."""
        if self._reconnect is None:
            return False
        try:
            client = self._adopt(self._reconnect())
        except MailerError:
            return False  # the server is down, or refuses us: not this folder's fault
        close_quietly(self._client)
        self._client = client
        self._selected, self._selection_known = None, True  # a new connection
        try:
            return not client.folder_exists(name)
        except (OSError, IMAPClientError, ssl.SSLError):
            return False

    def close(self) -> None:
        close_quietly(self._client)

    def command_box(self) -> ImapCommandBox:
        self._selection_known = False
        return ImapCommandBox(self._client, self._folders.inbox, self._where)

    def drafts(self) -> ImapDrafts:
        folder = self.folder("drafts")
        if not folder:
            raise SourceError(
                f"{self._where}: no Drafts folder found",
                hint="set folders.drafts to the name of your drafts folder",
            )
        self._selection_known = False
        return ImapDrafts(self._client, folder, self._where)


_SEQ_UID = re.compile(rb"(\d+) \(.*\bUID (\d+)")
_ESEARCH_MIN = re.compile(rb"\bMIN (\d+)")
