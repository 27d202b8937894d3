"""DraftRecord: a draft mailer wrote into the Drafts folder, so none is written twice."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DraftRecord:
    """A draft mailer wrote (or found already written) into the Drafts folder."""

    key: str  # the X-Mailer-Draft-Key header: kind, contact and cycle
    email: str  # the contact it is for (the first, for an introduction)
    kind: str  # reconnect | seed | intro_request | introduction | digest
    written_at: str  # ISO-8601 UTC
    message_id: str | None = None
    folder: str | None = None
    error: str | None = None  # set when it could not be written (e.g. an unusable address)
    subject: str | None = None  # as written (records of older versions have none)
