"""What became of each draft mailer wrote: still in Drafts, sent, or deleted unsent.

mailer never sees a draft leave the folder; it knows three things: the draft
keys in the Drafts folder at the last look (and when that was), the time it
wrote each draft, and the newest mail the owner sent each contact (the Sent
scan). A state follows from those alone, so this is pure and `drafts list`,
the dashboard or a test ask it alike:

- `not_written`: recorded with an error (an address no header can carry).
- `delivered`: a digest, to the owner (by SMTP or into Drafts); not followed.
- `sent`: the owner wrote to the contact after the draft was written (the
  draft, or a mail of their own: either way the draft did its job), unless a
  look after that mail still saw the draft in Drafts.
- `in_drafts`: its key was in the folder at the last look, or it was written
  since (nothing has looked since to say otherwise).
- `deleted`: a draft of the rules' kinds, gone at the last look, not sent.
- `written`: an introduction's draft, not sent yet; mailer does not look for
  these in Drafts, so it cannot tell waiting from deleted.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from mailer.core.rules import DRAFT_KINDS
from mailer.core.times import stored_time
from mailer.model import Contact, DraftRecord

STATES = ("in_drafts", "sent", "deleted", "not_written", "written", "delivered")
DIGEST = "digest"


def draft_state(
    record: DraftRecord,
    open_keys: Collection[str],
    looked_at: str | None,
    last_outbound: str | None,
) -> str:
    """One draft's state (module docstring); times are stored ISO-8601 UTC strings."""
    if record.error:
        return "not_written"
    if record.kind == DIGEST:
        return "delivered"
    written = stored_time(record.written_at)
    look = stored_time(looked_at)
    out = stored_time(last_outbound)
    tracked = record.kind in DRAFT_KINDS
    seen = tracked and (
        record.key in open_keys or (written is not None and look is not None and written >= look)
    )
    sent = written is not None and out is not None and out > written
    if sent and not (seen and look is not None and out is not None and look > out):
        return "sent"
    if seen:
        return "in_drafts"
    return "deleted" if tracked else "written"


def draft_rows(
    records: Iterable[DraftRecord],
    contacts: Mapping[str, Contact],
    open_keys: Collection[str],
    looked_at: str | None,
) -> list[dict[str, Any]]:
    """Every draft as a `drafts list` row, newest first (ties by key)."""
    rows = []
    for r in records:
        c = contacts.get(r.email)
        rows.append(
            {
                "written_at": r.written_at,
                "kind": r.kind,
                "to": r.email,
                "name": c.name if c else None,
                "subject": r.subject,
                "state": draft_state(r, open_keys, looked_at, c.last_outbound if c else None),
                "key": r.key,
                "folder": r.folder,
                "message_id": r.message_id,
                "error": r.error,
            }
        )
    rows.sort(key=lambda row: (row["written_at"], row["key"]), reverse=True)
    return rows


__all__ = ["STATES", "draft_rows", "draft_state"]
