"""The IMAP account's Drafts folder and its INBOX as the command box.

Both work on the scan's connection (ImapSource.drafts, .command_box) but read
the folders otherwise than a scan: drafts by their key header, command mail
by a SEARCH for the command address; so they live apart from the scan source.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from imapclient.exceptions import IMAPClientError

from mailer.sources.base import DRAFT_KEY_HEADER, MailItem, draft_keys
from mailer.sources.imap_parse import aware
from mailer.sources.imap_session import guard

FETCH_CHUNK = 2000  # UIDs per FETCH of draft keys: Dovecot's command lines stop at 64 KB
_KEY_FIELD = f"BODY.PEEK[HEADER.FIELDS ({DRAFT_KEY_HEADER.upper()})]".encode()
# Everything a command mail is judged by (address, sender, the server's
# verdict) and recorded with, so a refused mail's body is never fetched.
_CMD_HEADER = (
    b"BODY.PEEK[HEADER.FIELDS (FROM TO CC BCC DELIVERED-TO X-ORIGINAL-TO MESSAGE-ID"
    b" SUBJECT DATE CONTENT-TYPE AUTHENTICATION-RESULTS)]"
)


def _header_of(row: dict[bytes, Any]) -> bytes:
    """The header fields of one imapclient FETCH row (its key echoes the field list)."""
    return next((v for k, v in row.items() if k.startswith(b"BODY[HEADER")), None) or b""


class ImapDrafts:
    """The account's Drafts folder: where drafts go, and where their keys are looked up."""

    def __init__(self, client: Any, folder: str, where: str) -> None:
        self._client, self.folder, self._where = client, folder, where

    def existing_keys(self) -> set[str]:
        """The X-Mailer-Draft-Key of every draft in the folder, in two round trips."""
        with guard(self._where, f"reading {self.folder!r}"):
            self._client.select_folder(self.folder, readonly=True)
            uids = self._client.search(["HEADER", DRAFT_KEY_HEADER, ""])
            keys: set[str] = set()
            for start in range(0, len(uids), FETCH_CHUNK):
                rows = self._client.fetch(uids[start : start + FETCH_CHUNK], [_KEY_FIELD])
                for row in rows.values():
                    keys.update(draft_keys(_header_of(row)))
        return keys

    def append(self, message: bytes, when: datetime) -> None:
        with guard(self._where, f"writing a draft to {self.folder!r}"):
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
        from mailer.core.command_mail import command_stem

        stem = command_stem(address)
        criteria: list[Any] = ["NOT", "DELETED"]
        for name in ("To", "Cc", "Bcc", "Delivered-To"):
            criteria += ["OR", "HEADER", name, stem]
        criteria += ["HEADER", "X-Original-To", stem]
        with guard(self._where, f"searching {self._inbox!r} for command mail"):
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
                internaldate=aware(rows[uid].get(b"INTERNALDATE")),
            )
            for uid in uids
            if uid in rows
        ]

    def body(self, item: MailItem) -> bytes:
        with guard(self._where, f"fetching command mail {item.uid}"):
            rows = self._client.fetch([item.uid], [b"BODY.PEEK[]"])
        row = rows.get(item.uid) or {}
        return bytes(row.get(b"BODY[]") or b"")

    def move(self, uids: list[int], folder: str) -> None:
        if not uids:
            return
        with guard(self._where, f"moving command mail to {folder!r}"):
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
