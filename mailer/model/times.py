"""The one timestamp format of the store: ISO-8601 UTC with a trailing Z.

Apart from the types: every part of mailer reads and writes these strings,
and none of the types needs them.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso(dt: datetime | None) -> str | None:
    """ISO-8601 UTC with a trailing Z, the one timestamp format of the store."""
    if dt is None:
        return None
    if dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    if dt.microsecond:
        dt = dt.replace(microsecond=0)
    # isoformat is several times faster than strftime, and this runs per interaction;
    # cut before its "+00:00"
    return dt.isoformat()[:19] + "Z"


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)
