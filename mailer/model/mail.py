"""What a scan learns from mail: messages as sources hand them over, and what they mean.

The types the scan passes from the sources (mailer.sources) through the
header reader (mailer.core.headers) to the store, apart from the contacts
they update.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Direction = Literal["in", "out", "group"]  # group: outbound to too many to be personal


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One message as a source hands it over: header bytes and what the server knows."""

    header: bytes
    internaldate: datetime | None = None  # timezone-aware, or None (local files)
    uid: int | None = None


@dataclass(frozen=True, slots=True)
class Interaction:
    """One exchange with one contact, learned from one message."""

    email: str  # lower-case
    name: str | None
    when: datetime  # UTC, aware
    direction: Direction
    subject: str | None = None


@dataclass(frozen=True, slots=True)
class Parsed:
    """What one message means: a stable key and the interactions it carries.

    `skipped` names why a message carries none (automated, mass mail, ...);
    mass mail still carries "group" interactions: hints, never counted;
    `error` is set when the header could not be understood at all.
    """

    key: str
    interactions: tuple[Interaction, ...] = ()
    skipped: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class FolderState:
    """Where the incremental scan of one folder stands."""

    source: str  # e.g. "imap:me@example.com@imap.example.com" or "mbox:/path"
    folder: str
    uidvalidity: int | None
    last_uid: int
    scanned_at: str | None = None
