"""The one timestamp format of the store: ISO-8601 UTC with a trailing Z.

Apart from the types: every part of mailer reads and writes these strings,
and none of the types needs them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime


def iso(dt: datetime | None) -> str | None:
    """ISO-8601 UTC with a trailing Z, the one timestamp format of the store."""
    if dt is None:
        return None
    if dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    # Per interaction a scan counts and per contact a listing shows: built from the
    # fields, 2.6 times as fast as isoformat, which formats each number with sprintf
    # and then the UTC offset this cuts off. Microseconds are dropped, as ever.
    return f"{day_text(dt)}T{_TWO[dt.hour]}:{_TWO[dt.minute]}:{_TWO[dt.second]}Z"


def day_text(day: date) -> str:
    """`2026-03-04`, as `day.isoformat()` (of a date) writes it, faster (see `iso`)."""
    y = day.year
    return f"{y if y >= 1000 else f'{y:04d}'}-{_TWO[day.month]}-{_TWO[day.day]}"


_TWO = tuple(f"{n:02d}" for n in range(60))


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)
