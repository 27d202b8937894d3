"""The one place that reads the clock, so `MAILER_NOW` can replace it everywhere.

`MAILER_NOW` (ISO-8601) fixes the time for a command. For the daemon, demos
and end-to-end tests may add `MAILER_NOW_RATE`: simulated seconds per real
second from the first reading of the clock, so "a week of the daemon" can run
in a minute. In-process tests use a `VirtualClock` instead: time moves only
when the daemon waits, by exactly what it waits, so a loaded machine gives
the same result as an idle one.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from mailer.errors import UsageError

_started: float | None = None  # when the simulated clock started running


class VirtualClock:
    """A clock that stands still until `advance`d (see the module docstring)."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)
        self._stop: tuple[datetime, Callable[[], None]] | None = None

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move on by `seconds`, or to the time given to `stop_at`, which then acts."""
        to = self._now + timedelta(seconds=max(0.0, seconds))
        if self._stop is not None and to >= self._stop[0]:
            (to, action), self._stop = self._stop, None
            self._now = to
            action()
            return
        self._now = to

    def stop_at(self, when: datetime, action: Callable[[], None]) -> None:
        """Call `action` (once) when the clock reaches `when`; it goes no further then."""
        self._stop = (when, action)


_virtual: VirtualClock | None = None


@contextlib.contextmanager
def virtual(start: datetime) -> Iterator[VirtualClock]:
    """The process's clock is a VirtualClock starting at `start`, for the block."""
    global _virtual
    before, _virtual = _virtual, VirtualClock(start)
    try:
        yield _virtual
    finally:
        _virtual = before


def virtual_clock() -> VirtualClock | None:
    """The VirtualClock in use, if any."""
    return _virtual


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
    if _virtual is not None:
        return _virtual.now()
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
    return _virtual is not None or bool(os.environ.get("MAILER_NOW"))


def rate() -> float:
    """Simulated seconds per real second: 1 for the real clock, 0 for a frozen one
    (a VirtualClock's seconds pass only while the daemon waits: see Daemon)."""
    if _virtual is not None:
        return 1.0
    return _rate() if simulated() else 1.0
