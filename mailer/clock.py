"""The one place that reads the clock, so `MAILER_NOW` can replace it everywhere."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from mailer.errors import UsageError


def now() -> datetime:
    """The current time in UTC, or `MAILER_NOW` (ISO-8601) when it is set."""
    text = os.environ.get("MAILER_NOW")
    if not text:
        return datetime.now(UTC)
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"MAILER_NOW={text!r} is not an ISO-8601 time", hint="e.g. 2026-03-01T08:30:00Z"
        ) from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
