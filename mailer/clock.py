"""The one place that reads the clock, so `MAILER_NOW` can replace it everywhere.

`MAILER_NOW` (ISO-8601) fixes the time for a command. For the daemon, tests
and demos may add `MAILER_NOW_RATE`: simulated seconds per real second from
the first reading of the clock, so "a week of the daemon" can run in a minute.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

from mailer.errors import UsageError

_started: float | None = None  # when the simulated clock started running


def reset() -> None:
    """Start the simulated clock again at MAILER_NOW (for tests)."""
    global _started
    _started = None


def _parse(text: str) -> datetime:
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"MAILER_NOW={text!r} is not an ISO-8601 time", hint="e.g. 2026-03-01T08:30:00Z"
        ) from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _rate() -> float:
    text = os.environ.get("MAILER_NOW_RATE", "0")
    try:
        rate = float(text)
    except ValueError:
        rate = -1.0
    if rate < 0:
        raise UsageError(f"MAILER_NOW_RATE={text!r} is not a number >= 0")
    return rate


def now() -> datetime:
    """The current time in UTC, or the simulated one of `MAILER_NOW`."""
    text = os.environ.get("MAILER_NOW")
    if not text:
        return datetime.now(UTC)
    base = _parse(text)
    rate = _rate()
    if rate:
        global _started
        if _started is None:
            _started = time.monotonic()
        base += timedelta(seconds=(time.monotonic() - _started) * rate)
    return base


def simulated() -> bool:
    return bool(os.environ.get("MAILER_NOW"))


def rate() -> float:
    """Simulated seconds per real second: 1 for the real clock, 0 for a frozen one."""
    return _rate() if simulated() else 1.0
