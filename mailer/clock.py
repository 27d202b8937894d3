"""The one place that reads the clock, so `MAILER_NOW` can replace it everywhere.

`MAILER_NOW` (ISO-8601) fixes the time for a command. For the daemon, demos
and end-to-end tests may add `MAILER_NOW_RATE`: simulated seconds per real
second from the first reading of the clock, so "a week of the daemon" can run
in a minute. In-process tests use a `VirtualClock` instead: time moves only
when the daemon waits, by exactly what it waits, so a loaded machine gives
the same result as an idle one. End-to-end tests drive a daemon in another
process the same way with `MAILER_CLOCK_FENCE` (see `FencedClock`).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

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


class FencedClock(VirtualClock):
    """A VirtualClock that another process drives through a file: the fence.

    The fence file holds an ISO time; the clock moves on as the daemon waits,
    but never past the fence. On reaching it the clock writes that time to
    `<fence>.at` ("everything due before it is done") and time stands still
    until the test writes a later fence. So what a test sees at a fence does
    not depend on how fast the machine ran the daemon's jobs.
    """

    POLL = 0.02  # real seconds between looks at the fence while held there

    def __init__(self, start: datetime, fence: Path) -> None:
        super().__init__(start)
        self._fence = fence
        self._reported: datetime | None = None

    def advance(self, seconds: float) -> None:
        limit = self._limit()
        target = self._now + timedelta(seconds=max(0.0, seconds))
        if target <= limit:
            self._now = target
            return
        self._now = max(self._now, limit)
        if self._reported != self._now:
            at = self._fence.with_name(self._fence.name + ".at")
            tmp = at.with_name(at.name + ".tmp")
            tmp.write_text(self._now.isoformat())
            os.replace(tmp, at)  # the test never reads half a time
            self._reported = self._now
        # Return after a short real pause, not when the fence moves: the daemon's
        # loop then sees a stop request (SIGTERM) as it does on any clock.
        time.sleep(self.POLL)

    def _limit(self) -> datetime:
        try:
            return _parse(self._fence.read_text())
        except (FileNotFoundError, UsageError):
            return self._now  # no fence (yet), or one being written: stand still


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
    if _virtual is None and os.environ.get("MAILER_CLOCK_FENCE"):
        now()  # a fenced clock starts at its first reading
    return _virtual


def reset() -> None:
    """Start the simulated clock again at MAILER_NOW (for tests)."""
    global _started, _virtual
    _started = None
    if isinstance(_virtual, FencedClock):
        _virtual = None


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
    global _virtual
    if _virtual is not None:
        return _virtual.now()
    text = os.environ.get("MAILER_NOW")
    if not text:
        return datetime.now(UTC)
    fence = os.environ.get("MAILER_CLOCK_FENCE")
    if fence:
        _virtual = FencedClock(_parse(text), Path(fence))
        return _virtual.now()
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
