"""The daemon's scheduler edge: runs named jobs on time, survives their failures.

`schedule` (1.2) decides when interval and daily jobs are due, but measured
against this daemon's needs it falls short in ways this module makes up for:

- it catches no exception: one failing job stops the loop, or starves the jobs
  behind it. Every job here is wrapped: a failure is one log line and a record
  in the store, and the job is retried with backoff (1, 2, 4 ... minutes up to
  `max_backoff`; a refused login goes straight to `max_backoff`);
- it keeps no state: a daemon restarted more often than a job's interval never
  runs that job, and runs missed while the machine slept or the daemon was down
  are never made up. Each job's last run is kept in the store (`job:<name>` in
  the meta table) and overdue jobs run once at start (`due_at_start`);
- a long job delays all others: jobs must bound their own work (the real ones
  open, work in batches and close); the log line names the jobs a run delayed;
- `.at(time, tz)` needs pytz (zoneinfo is used for our own computations);
- it reads the wall clock itself (`datetime.datetime.now()`), so `MAILER_NOW`
  and `MAILER_NOW_RATE` would not reach it. `install_clock_shim` gives it
  mailer's clock instead; see there (mailer.jobtimes).

While a job is failing its next attempt is the backoff's (now + backoff, kept in
the store across restarts); scheduled runs before that are skipped, so a bad
password is not retried every scan interval. schedule keeps naive times in the
process's local zone; under a local zone with DST, a run near the change may
shift by that hour (servers usually run in UTC).

The loop sleeps in short real-time steps (never past the next due run, scaled
by `clock.rate()`), so a stop request or a simulated clock is noticed quickly.

`trigger(name)` runs a job out of schedule, from any thread: the IMAP IDLE
watcher (mailer/sources/idle.py) calls it when mail arrives, so command mail
is read within seconds rather than at the next scan. The job runs as soon as
the loop is free (a trigger during its run gives one more run after it), and
the run counts as a normal one: the interval restarts from it. A job in
backoff ignores triggers: its retry comes at the backoff's time, so new mail
does not hammer a server that is down.

Beside this module: mailer.jobtimes (the jobs' specs and when they are due)
and mailer.daemonlock (one daemon per store).
"""

from __future__ import annotations

import importlib.util
import logging
import signal
import threading
import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import schedule

from mailer import clock
from mailer.errors import AuthError, MailerError, describe
from mailer.jobtimes import JobSpec, _naive_local, due_at_start, install_clock_shim, next_run
from mailer.model import iso, parse_iso
from mailer.store import Store

MIN_BACKOFF = timedelta(minutes=1)
STATE_PREFIX = "job:"

Log = Callable[[str], None] | logging.Logger


def job_states(store: Store) -> dict[str, dict[str, Any]]:
    """Every job's recorded state, by job name (for `mailer status`)."""
    states = store.meta_items(STATE_PREFIX)
    return {key[len(STATE_PREFIX) :]: dict(value or {}) for key, value in states.items()}


# -- the daemon ------------------------------------------------------------------


@dataclass
class _State:
    last_run: datetime | None = None
    last_ok: str | None = None  # as stored
    failures: int = 0
    retry_at: datetime | None = None  # set while failing: the next attempt
    last_error: str | None = None  # kept after a success: `mailer status` shows what went wrong
    last_error_at: str | None = None


def _load_state(value: Any) -> _State:
    if not isinstance(value, dict):
        return _State()
    try:
        failures = int(value.get("failures") or 0)
        last_run = parse_iso(value.get("last_run"))
        last_ok = value.get("last_ok") if isinstance(value.get("last_ok"), str) else None
        # a failing job's stored next_run is its retry time: keep the backoff across restarts
        retry_at = parse_iso(value.get("next_run")) if failures else None
    except (TypeError, ValueError):
        return _State()
    error, error_at = value.get("last_error"), value.get("last_error_at")
    return _State(
        last_run=last_run,
        last_ok=last_ok,
        failures=failures,
        retry_at=retry_at,
        last_error=error if isinstance(error, str) else None,
        last_error_at=error_at if isinstance(error_at, str) else None,
    )


class Daemon:
    """Runs `jobs` on their schedules until `stop()`; see the module docstring."""

    def __init__(
        self,
        store: Store,
        jobs: list[JobSpec],
        *,
        max_backoff: timedelta,
        log: Log,
        step_seconds: float = 1.0,
    ) -> None:
        names = [j.name for j in jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"job names must be unique: {names}")
        self.store = store
        self.jobs = list(jobs)
        self._names = frozenset(names)
        self.max_backoff = max(max_backoff, MIN_BACKOFF)
        self.step_seconds = step_seconds
        self._log = log
        self._stopping = False
        self._wake = threading.Event()  # cuts a sleep short on stop() and trigger()
        # name -> True, set by trigger() and popped by the loop: single dict
        # operations, atomic under the GIL, so no lock a signal handler could block on
        self._triggered: dict[str, bool] = {}
        self._states: dict[str, _State] = {}
        self._scheduled: dict[str, schedule.Job] = {}
        if any(j.at for j in jobs) and importlib.util.find_spec("pytz") is None:
            raise MailerError(
                "the daemon needs pytz for daily jobs (schedule's .at with a time zone)",
                hint="pip install pytz",
            )
        install_clock_shim()
        self.scheduler = schedule.Scheduler()

    def stop(self) -> None:
        """Ask run() to return 0 once the current job has finished (signal-safe)."""
        self._stopping = True  # a plain flag: what every check reads
        self._wake_up("mailer-stop")

    def trigger(self, name: str) -> None:
        """Run job `name` as soon as the loop is free, unless it is in backoff.

        Callable from any thread (and from a signal handler); does nothing
        with `run(once=True)` or after stop().
        """
        if name not in self._names:
            raise ValueError(f"no job named {name!r}")
        self._triggered[name] = True
        self._wake_up("mailer-trigger")

    def _wake_up(self, thread_name: str) -> None:
        if threading.current_thread() is threading.main_thread():
            # Maybe a signal handler: the interrupted main thread may hold the
            # Event's internal lock (inside wait), so set it from another thread.
            threading.Thread(target=self._wake.set, name=thread_name, daemon=True).start()
        else:
            self._wake.set()

    def run(self, once: bool = False) -> int:
        """Run until stop(), then 0; with `once`, every job one time in order.

        With `once` the exit code is that of the worst failure (1 for a
        runtime fault, a MailerError's own code otherwise), or 0.
        """
        restore = self._install_signal_handlers()
        try:
            for spec in self.jobs:
                self._states[spec.name] = _load_state(self.store.meta_get(STATE_PREFIX + spec.name))
            if once:
                return self._run_once()
            self._start()
            while not self._stopping:
                self.scheduler.run_pending()
                self._run_retries()
                self._run_triggered()
                self._pause()
                # cleared after the wait, never before it: a trigger or stop() that
                # came since the checks above keeps the Event set and skips the sleep;
                # one that comes after this is seen by the next round's checks
                self._wake.clear()
            return 0
        finally:
            restore()
            self.scheduler.clear()
            self._scheduled.clear()

    # -- the steps

    def _run_once(self) -> int:
        code = 0
        for spec in self.jobs:
            if self._stopping:
                break
            error = self._run(spec)
            if error is not None:
                code = max(code, error.exit_code if isinstance(error, MailerError) else 1)
        return code

    def _start(self) -> None:
        """Run what was missed while we were down, then hand each job to schedule."""
        for spec in self.jobs:
            if self._stopping:
                return
            state = self._states[spec.name]
            now = clock.now()
            if state.retry_at is not None:
                pass  # a failing job keeps its backoff; the loop retries it
            elif due_at_start(spec, state.last_run, now):
                self._run(spec)
            self._register(spec)

    def _register(self, spec: JobSpec) -> None:
        def wrapped() -> None:
            state = self._states[spec.name]
            if self._stopping:
                return
            if state.retry_at is not None and clock.now() < state.retry_at:
                return  # failing: the next attempt is the backoff's, not the schedule's
            self._run(spec)

        if spec.every_minutes is not None:
            job = self.scheduler.every(spec.every_minutes).minutes.do(wrapped)
            last = self._states[spec.name].last_run
            if last is not None:
                # schedule counts from registration; the interval counts from the last run
                due = _naive_local(last + timedelta(minutes=spec.every_minutes))
                if job.next_run is None or due < job.next_run:
                    job.next_run = due
        else:
            job = self.scheduler.every().day.at(spec.at or "", spec.timezone).do(wrapped)
        self._scheduled[spec.name] = job

    def _run_retries(self) -> None:
        for spec in self.jobs:
            if self._stopping:
                return
            retry_at = self._states[spec.name].retry_at
            if retry_at is not None and clock.now() >= retry_at:
                self._run_out_of_schedule(spec)

    def _run_triggered(self) -> None:
        for spec in self.jobs:
            if self._stopping:
                return
            if not self._triggered.pop(spec.name, False):
                continue
            retry_at = self._states[spec.name].retry_at
            if retry_at is not None and clock.now() < retry_at:
                continue  # in backoff: dropped, the retry will run it
            self._run_out_of_schedule(spec)

    def _run_out_of_schedule(self, spec: JobSpec) -> None:
        """A retry or a triggered run; the regular interval restarts from it."""
        started = clock.now()
        self._run(spec)
        job = self._scheduled.get(spec.name)
        if job is not None and spec.every_minutes is not None:
            job.next_run = _naive_local(started + timedelta(minutes=spec.every_minutes))

    def _pause(self) -> None:
        """Wait until a run is due, a step at most (real seconds), or a wake-up.

        On a VirtualClock the wait is the clock moving on to when the next run
        is due, at once: the test that drives it decides when to stop.
        """
        due = self._due_in()
        virtual = clock.virtual_clock()
        if virtual is not None:
            if not self._wake.is_set():
                virtual.advance(self.step_seconds if due is None else due)
            return
        rate = clock.rate()
        if due is None or rate <= 0:
            self._wake.wait(self.step_seconds)  # frozen clock: nothing becomes due by waiting
        else:
            self._wake.wait(max(0.0, min(self.step_seconds, due / rate)))

    def _due_in(self) -> float | None:
        """Simulated seconds until the next run is due (0: now); None: nothing is."""
        if self._triggered:
            return 0.0
        now = clock.now()
        waits: list[float] = []
        idle = self.scheduler.idle_seconds
        if idle is not None:
            waits.append(idle)
        waits += [
            (s.retry_at - now).total_seconds()
            for s in self._states.values()
            if s.retry_at is not None
        ]
        return max(0.0, min(waits)) if waits else None

    # -- one job run

    def _run(self, spec: JobSpec) -> Exception | None:
        """Run one job, log one line, record its state; never raises an Exception."""
        state = self._states.setdefault(spec.name, _State())
        started = clock.now()
        started_real = _time.monotonic()
        error: Exception | None = None
        try:
            spec.run(started)
        except Exception as e:  # the point of the wrapper: no job stops the daemon
            error = e
        seconds = _time.monotonic() - started_real
        now = clock.now()
        state.last_run = started
        message = None if error is None else describe(error)
        if error is None:
            state.failures = 0
            state.retry_at = None
            self._emit(now, f"{spec.name} ok in {seconds:.1f} s{self._delayed(spec, started)}")
        else:
            state.failures += 1
            auth = isinstance(error, AuthError)
            backoff = self._backoff(state.failures, auth)
            state.retry_at = now + backoff
            # a refused login must say what to fix (unless its hint already does)
            fix = ""
            if isinstance(error, AuthError) and not error.hint:
                fix = "; fix the account password or username"
            self._emit(
                now,
                f"{spec.name} failed: {message}{fix}; retrying in {_minutes(backoff)}",
                warning=True,
                error=None if isinstance(error, MailerError) else error,
            )
        self._record(spec, state, started, message)
        return error

    def _backoff(self, failures: int, auth: bool) -> timedelta:
        if auth:
            return self.max_backoff  # a wrong password does not fix itself: retry slowly
        return min(MIN_BACKOFF * (1 << min(failures - 1, 20)), self.max_backoff)

    def _delayed(self, spec: JobSpec, started: datetime) -> str:
        """' (delayed: drafts)' when other jobs fell due while this one ran."""
        since, until = _naive_local(started), _naive_local(clock.now())
        late = [
            name
            for name, job in self._scheduled.items()
            if name != spec.name and job.next_run is not None and since < job.next_run <= until
        ]
        return f" (delayed: {', '.join(late)})" if late else ""

    def _record(self, spec: JobSpec, state: _State, started: datetime, error: str | None) -> None:
        if error is None:
            state.last_ok = iso(started)
        else:
            state.last_error, state.last_error_at = error, iso(started)
        upcoming = state.retry_at or next_run(spec, started, clock.now())
        value = {
            "last_run": iso(started),
            "last_ok": state.last_ok,
            "last_error": state.last_error,
            "last_error_at": state.last_error_at,
            "next_run": iso(upcoming),
            "failures": state.failures,
        }
        try:
            self.store.meta_set(STATE_PREFIX + spec.name, value)
        except Exception as e:  # a full disk must not stop the daemon either
            self._emit(clock.now(), f"{spec.name}: cannot record its state: {e}", warning=True)

    def _emit(
        self, now: datetime, line: str, *, warning: bool = False, error: Exception | None = None
    ) -> None:
        text = f"{iso(now)} {line}"
        if isinstance(self._log, logging.Logger):
            self._log.log(logging.WARNING if warning else logging.INFO, "%s", text)
            if error is not None:  # an unexpected error is a bug: its traceback, for -v
                self._log.debug("traceback of the %s error", type(error).__name__, exc_info=error)
        else:
            self._log(text)

    # -- signals

    def _install_signal_handlers(self) -> Callable[[], None]:
        """SIGTERM/SIGINT call stop(); only the main thread may set handlers."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        for sig in previous:
            signal.signal(sig, lambda _signum, _frame: self.stop())

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore


def _minutes(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"
