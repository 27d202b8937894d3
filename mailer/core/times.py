"""Stored timestamps and the owner's day, read one way by the rules, the plan and the digest.

The store keeps ISO-8601 UTC strings. A damaged one reads as absent here, so
one bad record never stops a plan or a digest for everyone else.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from mailer.model.times import day_text


def stored_time(text: str | None) -> datetime | None:
    """Parse a stored timestamp as UTC; a damaged value counts as absent."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None  # one bad record must not stop the plan for everyone else
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt if dt.tzinfo is UTC else dt.astimezone(UTC)


def utc(now: datetime) -> datetime:
    if now.tzinfo is UTC:
        return now
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now.astimezone(UTC)


def zone(name: str) -> tzinfo:
    return UTC if name.upper() in ("UTC", "Z") else ZoneInfo(name)


def date_text(when: datetime) -> str:
    """`2026-03-04`: the UTC date of `when`, as keys and reasons show it."""
    return day_text(when)
