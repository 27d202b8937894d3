"""The owner's IMAP account as a scan source, through imapclient.

Everything imapclient returns (bytes-keyed dicts, its exceptions) is turned
into our types and our errors here. TLS is verified by default; plain text
is allowed only to a loopback address.
"""

from __future__ import annotations

import contextlib
import re
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import imapclient
from imapclient.exceptions import IMAPClientError, LoginError

from mailer import net
from mailer.config import Account, Config
from mailer.core.headers import HEADER_FIELDS
from mailer.errors import AuthError, ConfigError, ConnectError, SourceError
from mailer.model import RawMessage
from mailer.sources.base import DRAFT_KEY_HEADER, FolderInfo, MailItem, draft_keys

FETCH_CHUNK = 2000  # UIDs per FETCH: imapclient 4 refuses ranges; Dovecot lines stop at 64 KB
_BODY = "BODY.PEEK[HEADER.FIELDS ({})]".format(" ".join(HEADER_FIELDS)).encode()
_KEY_FIELD = f"BODY.PEEK[HEADER.FIELDS ({DRAFT_KEY_HEADER.upper()})]".encode()
# Everything a command mail is judged by (address, sender, the server's
# verdict) and recorded with, so a refused mail's body is never fetched.
_CMD_HEADER = (
    b"BODY.PEEK[HEADER.FIELDS (FROM TO CC BCC DELIVERED-TO X-ORIGINAL-TO MESSAGE-ID"
    b" SUBJECT DATE CONTENT-TYPE AUTHENTICATION-RESULTS)]"
)
_SPECIAL = {"sent": rb"\Sent", "drafts": rb"\Drafts"}


def tls_context(account: Account) -> ssl.SSLContext:
    return net.tls_context(account.ca_file, "account.ca_file")


def connect(account: Account, password: str | None, oauth2_token: str | None = None) -> Any:
    """A logged-in IMAPClient, or a MailerError that says what to fix."""
    where = f"{account.host}:{account.port}"
    if account.security == "none" and not net.is_loopback(account.host):
        raise ConfigError(
            f"account.security = none sends your password in plain text to {account.host}",
            hint="use tls or starttls; none is allowed only to a loopback address",
        )
    ctx = tls_context(account) if account.security != "none" else None
    try:
        client = imapclient.IMAPClient(
            account.host,
            port=account.port,
            ssl=account.security == "tls",
            ssl_context=ctx,
            timeout=account.timeout,
        )
        if account.security == "starttls":
            client.starttls(ctx)
    except ssl.SSLCertVerificationError as e:
        raise ConnectError(
            f"the TLS certificate of {where} does not verify: {net.reason(e)}",
            hint="if the server uses its own CA, set account.ca_file to it",
        ) from None
    except (OSError, IMAPClientError, ssl.SSLError) as e:
        raise ConnectError(
            f"cannot connect to {where}: {net.reason(e)}",
            hint="check account.host, account.port and account.security, and that the server is up",
        ) from None
    client.normalise_times = False
    try:
        if oauth2_token:
            client.oauth2_login(account.username, oauth2_token)
        else:
            client.login(account.username, password or "")
    except LoginError as e:
        _close(client)
        raise AuthError(
            f"{where} refused the login of {account.username}: {net.reason(e)}",
            hint="check account.username and the password",
        ) from None
    except (OSError, IMAPClientError) as e:
        _close(client)
        raise ConnectError(f"lost the connection to {where} at login: {net.reason(e)}") from None
    return client


def _close(client: Any) -> None:
    # a dying connection has nothing more to tell
    try:
        client.logout()
    except Exception:
        with contextlib.suppress(Exception):
            client.shutdown()


def _header_of(row: dict[bytes, Any]) -> bytes:
    """The header fields of one imapclient FETCH row (its key echoes the field list)."""
    return next((v for k, v in row.items() if k.startswith(b"BODY[HEADER")), None) or b""


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ImapSource:
    def __init__(self, config: Config, client: Any) -> None:
        account = config.require_account()
        self.id = f"imap:{account.username}@{account.host}"
        self._config = config
        self._client = client
        self._where = f"{account.host}:{account.port}"
        imap = getattr(client, "_imap", None)
        if imap is not None:
            # imapclient turns imaplib's debug on and routes it to logging: a
            # formatted string and a logging call per response line, even unlogged.
            imap.debug = 0

    def _guard(self, what: str) -> contextlib.AbstractContextManager[None]:
        return _guard(self._where, what)

    def folder(self, role: str) -> str | None:
        """The folder for `sent` or `drafts`: configured, else by special use or name."""
        configured = self._config.get(f"folders.{role}")
        if configured:
            return str(configured)
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
        folders = [self._config.get("folders.inbox")]
        sent = self.folder("sent")
        if sent:
            folders.append(sent)
        folders.extend(self._config.get("folders.extra"))
        return list(dict.fromkeys(folders))

    def open_folder(self, name: str) -> FolderInfo:
        with self._guard(f"opening folder {name!r}"):
            info = self._client.select_folder(name, readonly=True)
        return FolderInfo(
            name=name,
            uidvalidity=int(info[b"UIDVALIDITY"]) if b"UIDVALIDITY" in info else None,
            uidnext=int(info[b"UIDNEXT"]) if b"UIDNEXT" in info else None,
            messages=int(info.get(b"EXISTS", 0)),
        )

    def new_uids(self, info: FolderInfo, last_uid: int) -> list[int]:
        if info.messages == 0 or (info.uidnext is not None and info.uidnext <= last_uid + 1):
            return []  # nothing new: no SEARCH round trip, keeps a no-op rescan cheap
        with self._guard(f"searching {info.name!r}"):
            uids = self._client.search(["UID", f"{last_uid + 1}:*"])
        # "n:*" always matches the highest UID, even when it is below n
        return sorted(int(u) for u in uids if int(u) > last_uid)

    def fetch(
        self, info: FolderInfo, uids: list[int], batch_size: int
    ) -> Iterator[list[RawMessage]]:
        batch: list[RawMessage] = []
        step = min(FETCH_CHUNK, batch_size)
        for start in range(0, len(uids), step):
            chunk = uids[start : start + step]
            with self._guard(f"fetching headers from {info.name!r}"):
                batch.extend(self._fetch_chunk(chunk))
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _fetch_chunk(self, uids: list[int]) -> list[RawMessage]:
        """One UID FETCH of header fields, read through imaplib under imapclient.

        imapclient's own response parser reads about 25,000 messages/s here;
        imaplib's literal handling on the same connection is about 3x faster,
        and the rest of a FETCH response is simple enough to read with two
        regexes. `tests/test_imap.py` checks this against `IMAPClient.fetch`.
        """
        imap = getattr(self._client, "_imap", None)
        if imap is None:  # a future imapclient without it: take the slow, public road
            return self._fetch_chunk_imapclient(uids)
        typ, data = imap.uid("FETCH", uid_set(uids), f"(UID INTERNALDATE {_BODY.decode()})")
        if typ != "OK":
            raise SourceError(f"{self._where}: FETCH failed: {data!r}")
        return parse_fetch(data)

    def _fetch_chunk_imapclient(self, uids: list[int]) -> list[RawMessage]:
        rows = self._client.fetch(uids, [b"INTERNALDATE", _BODY])
        out = []
        for uid in uids:
            row = rows.get(uid)
            if row is None:
                continue  # expunged between SEARCH and FETCH
            out.append(
                RawMessage(
                    header=_header_of(row), internaldate=_aware(row.get(b"INTERNALDATE")), uid=uid
                )
            )
        return out

    def close(self) -> None:
        _close(self._client)

    def command_box(self) -> ImapCommandBox:
        return ImapCommandBox(self._client, self._config.get("folders.inbox"), self._where)

    def drafts(self) -> ImapDrafts:
        folder = self.folder("drafts")
        if not folder:
            raise SourceError(
                f"{self._where}: no Drafts folder found",
                hint="set folders.drafts to the name of your drafts folder",
            )
        return ImapDrafts(self._client, folder, self._where)


class ImapDrafts:
    """The account's Drafts folder: where drafts go, and where their keys are looked up."""

    def __init__(self, client: Any, folder: str, where: str) -> None:
        self._client, self.folder, self._where = client, folder, where

    def existing_keys(self) -> set[str]:
        """The X-Mailer-Draft-Key of every draft in the folder, in two round trips."""
        with _guard(self._where, f"reading {self.folder!r}"):
            self._client.select_folder(self.folder, readonly=True)
            uids = self._client.search(["HEADER", DRAFT_KEY_HEADER, ""])
            keys: set[str] = set()
            for start in range(0, len(uids), FETCH_CHUNK):
                rows = self._client.fetch(uids[start : start + FETCH_CHUNK], [_KEY_FIELD])
                for row in rows.values():
                    keys.update(draft_keys(_header_of(row)))
        return keys

    def append(self, message: bytes, when: datetime) -> None:
        with _guard(self._where, f"writing a draft to {self.folder!r}"):
            self._client.append(self.folder, message, flags=(rb"\Draft", rb"\Seen"), msg_time=when)


class ImapCommandBox:
    """INBOX, searched for mail to the command address; handled mail moves out of it.

    The server's SEARCH narrows INBOX down to mail whose address headers
    contain the address's stem (`me+mailer` of `me+mailer-k3x9q2@...`), so
    look-alike tags are found too; which mails really are command mail, and
    whether they are accepted, is decided from their header fields by the
    pure core, and only accepted ones are fetched whole (`body`).
    """

    def __init__(self, client: Any, inbox: str, where: str) -> None:
        self._client, self._inbox, self._where = client, inbox, where

    def candidates(self, address: str) -> list[MailItem]:
        from mailer.core.commands import command_stem

        stem = command_stem(address)
        criteria: list[Any] = ["NOT", "DELETED"]
        for name in ("To", "Cc", "Bcc", "Delivered-To"):
            criteria += ["OR", "HEADER", name, stem]
        criteria += ["HEADER", "X-Original-To", stem]
        with _guard(self._where, f"searching {self._inbox!r} for command mail"):
            self._client.select_folder(self._inbox)  # read-write: handled mail is moved
            uids = sorted(self._client.search(criteria, charset="UTF-8"))
            if not uids:
                return []
            rows = self._client.fetch(uids, [b"RFC822.SIZE", b"INTERNALDATE", _CMD_HEADER])
        return [
            MailItem(
                uid=uid,
                header=_header_of(rows[uid]),
                size=int(rows[uid].get(b"RFC822.SIZE") or 0),
                internaldate=_aware(rows[uid].get(b"INTERNALDATE")),
            )
            for uid in uids
            if uid in rows
        ]

    def body(self, item: MailItem) -> bytes:
        with _guard(self._where, f"fetching command mail {item.uid}"):
            rows = self._client.fetch([item.uid], [b"BODY.PEEK[]"])
        row = rows.get(item.uid) or {}
        return bytes(row.get(b"BODY[]") or b"")

    def move(self, uids: list[int], folder: str) -> None:
        if not uids:
            return
        with _guard(self._where, f"moving command mail to {folder!r}"):
            if not self._client.folder_exists(folder):
                self._client.create_folder(folder)
                with contextlib.suppress(IMAPClientError):
                    self._client.subscribe_folder(folder)
            if self._client.has_capability("MOVE"):
                self._client.move(uids, folder)
            else:
                # COPY, then delete: a crash in between leaves a copy in both (harmless,
                # the store knows the mail was applied), never none. Without UIDPLUS
                # nothing is expunged: EXPUNGE would also remove mail the owner's own
                # client marked deleted; the search skips \Deleted mail instead.
                self._client.copy(uids, folder)
                self._client.delete_messages(uids)
                if self._client.has_capability("UIDPLUS"):
                    self._client.uid_expunge(uids)


def uid_set(uids: list[int]) -> str:
    """`[1, 2, 3, 7]` -> `"1:3,7"`: short command lines even for large chunks."""
    parts: list[str] = []
    run_start = prev = uids[0]
    for uid in uids[1:]:
        if uid != prev + 1:
            parts.append(f"{run_start}:{prev}" if prev != run_start else str(prev))
            run_start = uid
        prev = uid
    parts.append(f"{run_start}:{prev}" if prev != run_start else str(prev))
    return ",".join(parts)


_START = re.compile(rb"\d+ \(")  # "5 (UID ...": a new message; the rest continue one
_UID = re.compile(rb"\bUID (\d+)")
_INTERNALDATE = re.compile(
    rb'INTERNALDATE "\s*(\d{1,2})-(\w{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([-+])(\d\d)(\d\d)"'
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        (
            b"Jan",
            b"Feb",
            b"Mar",
            b"Apr",
            b"May",
            b"Jun",
            b"Jul",
            b"Aug",
            b"Sep",
            b"Oct",
            b"Nov",
            b"Dec",
        ),
        start=1,
    )
}


def _internaldate(text: bytes) -> datetime | None:
    m = _INTERNALDATE.search(text)
    if not m:
        return None
    day, mon, year, hh, mm, ss, sign, oh, om = m.groups()
    month = _MONTHS.get(mon.capitalize())
    if month is None:
        return None
    offset = timedelta(hours=int(oh), minutes=int(om))
    try:
        local = datetime(int(year), month, int(day), int(hh), int(mm), int(ss), tzinfo=UTC)
    except ValueError:
        return None
    return local - offset if sign == b"+" else local + offset


def parse_fetch(data: list[Any]) -> list[RawMessage]:
    """imaplib's FETCH data -> RawMessages.

    Each message is a `(prefix, literal)` tuple followed by the bytes that close
    it; a header fetched as "" or NIL comes as plain bytes with no literal.
    UID and INTERNALDATE may stand before or after the literal.
    """
    out: list[RawMessage] = []
    pending: list[bytes] = []  # the response text of the message being read
    header = b""

    def flush() -> None:
        if not pending:
            return
        text = b" ".join(pending)
        m = _UID.search(text)
        if m:
            out.append(
                RawMessage(header=header, internaldate=_internaldate(text), uid=int(m.group(1)))
            )

    for item in data:
        if isinstance(item, tuple):
            flush()
            pending, header = [item[0]], item[1] or b""
        elif isinstance(item, bytes):
            if _START.match(item):
                flush()  # a whole message without a literal
                pending, header = [item], b""
            else:
                pending.append(item)
    flush()
    return out


@contextlib.contextmanager
def _guard(where: str, what: str) -> Iterator[None]:
    """Turn imapclient and socket failures mid-session into a SourceError."""
    try:
        yield
    except (OSError, IMAPClientError, ssl.SSLError) as e:
        raise SourceError(f"{where}: {what} failed: {net.reason(e)}") from None
