"""When the daemon's jobs run: their specs and run times, on mailer's clock.

Apart from the loop (mailer.daemon) because `mailer status` needs the same
answers without a daemon: when a job is due (`due_at_start`, `next_run`,
DST-correct in the job's time zone). And `schedule`, which the loop hands the
jobs to, is made to read mailer's clock here (`install_clock_shim`).
"""

from __future__ import annotations

import threading
import types
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import schedule

from mailer import clock


@dataclass(frozen=True)
class JobSpec:
    """One job: exactly one of `every_minutes` (interval) or `at` (daily, local time)."""

    name: str  # "scan", "drafts", "housekeeping", ...
    run: Callable[[datetime], None]  # gets mailer.clock.now(); raises on failure
    every_minutes: int | None = None
    at: str | None = None  # "HH:MM", daily, local time in `timezone`
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if (self.every_minutes is None) == (self.at is None):
            raise ValueError(f"job {self.name}: give exactly one of every_minutes or at")
        if self.every_minutes is not None and self.every_minutes < 1:
            raise ValueError(f"job {self.name}: every_minutes must be >= 1")
        if self.at is not None:
            _at_time(self)  # validates
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"job {self.name}: unknown time zone {self.timezone!r}") from None


def _at_time(spec: JobSpec) -> time:
    try:
        hh, mm = (spec.at or "").split(":")
        return time(int(hh), int(mm))
    except ValueError:
        raise ValueError(f"job {spec.name}: at={spec.at!r} is not HH:MM") from None


def _last_scheduled(spec: JobSpec, now: datetime) -> datetime:
    """The most recent daily run time at or before `now` (UTC), DST-correct.

    A wall time that does not exist (spring forward) resolves to the hour
    after, like `schedule` does; a repeated one (fall back) to the first.
    """
    tz = ZoneInfo(spec.timezone)
    at = _at_time(spec)
    day = now.astimezone(tz).date()
    for d in (day, day - timedelta(days=1), day - timedelta(days=2)):
        candidate = datetime.combine(d, at, tzinfo=tz).astimezone(UTC)
        if candidate <= now:
            return candidate
    raise AssertionError("unreachable: yesterday's run time is always in the past")


def _next_scheduled(spec: JobSpec, now: datetime) -> datetime:
    """The first daily run time strictly after `now` (UTC)."""
    tz = ZoneInfo(spec.timezone)
    at = _at_time(spec)
    day = now.astimezone(tz).date()
    for d in (day, day + timedelta(days=1), day + timedelta(days=2)):
        candidate = datetime.combine(d, at, tzinfo=tz).astimezone(UTC)
        if candidate > now:
            return candidate
    raise AssertionError("unreachable: tomorrow's run time is always in the future")


def due_at_start(spec: JobSpec, last_run: datetime | None, now: datetime) -> bool:
    """Was a run missed while the daemon was not running?

    A job that never ran is due at once when it runs at intervals; a daily
    job waits for its time of day, so a first start at noon does not write
    the morning's drafts at noon.
    """
    if spec.every_minutes is not None:
        return last_run is None or now - last_run >= timedelta(minutes=spec.every_minutes)
    return last_run is not None and _last_scheduled(spec, now) > last_run


def next_run(spec: JobSpec, last_run: datetime | None, now: datetime) -> datetime:
    """When the job runs next if all goes well: `now` when it is overdue."""
    if due_at_start(spec, last_run, now):
        return now
    if spec.every_minutes is not None:
        assert last_run is not None  # not due, so it has run
        return last_run + timedelta(minutes=spec.every_minutes)
    return _next_scheduled(spec, now)


# -- schedule reads mailer's clock -------------------------------------------


class _ClockDatetime(datetime):
    """`datetime` whose `now()` is `mailer.clock.now()`, for `schedule` only."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        current = clock.now()
        if tz is None:
            # schedule keeps naive local times (its next_run is naive local).
            return current.astimezone().replace(tzinfo=None)
        return current.astimezone(tz)


_shim_lock = threading.Lock()


def install_clock_shim() -> None:
    """Make `schedule` read `mailer.clock.now()` instead of the wall clock.

    schedule calls `datetime.datetime.now()` / `.now(tz)` through its own
    reference to the `datetime` module, so replacing that module attribute
    (`schedule.datetime`) with a namespace whose `datetime` is `_ClockDatetime`
    changes what it reads without patching the real `datetime` for anyone
    else. schedule 1.2 uses `datetime.datetime`, `.timedelta` and `.time`;
    `date`, `tzinfo` and `timezone` are there for safety. One limit:
    `isinstance(x, datetime.datetime)` inside schedule (only in `Job.until`,
    which we do not use) sees the subclass. Idempotent; it affects every
    scheduler in the process, which is intended: one clock for everything.
    """
    with _shim_lock:
        current = getattr(schedule, "datetime", None)
        if getattr(current, "datetime", None) is _ClockDatetime:
            return
        shim = types.SimpleNamespace(
            datetime=_ClockDatetime,
            timedelta=timedelta,
            time=time,
            date=date,
            tzinfo=tzinfo,
            timezone=timezone,
        )
        setattr(schedule, "datetime", shim)  # noqa: B010 (mypy: module attribute)


def _naive_local(dt: datetime) -> datetime:
    """A UTC time as schedule keeps it: naive, in the process's local zone."""
    return dt.astimezone().replace(tzinfo=None)
