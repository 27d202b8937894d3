"""The daemon's scheduler edge with fake jobs, a temp store and a simulated clock.

Time comes from MAILER_NOW, standing still, or from a virtual clock
(`mailer.clock.VirtualClock`) that moves only while the daemon waits, by
exactly what it waits: a test gives the same result on a loaded machine as
on an idle one, and never sleeps.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import schedule

from mailer import clock
from mailer.daemon import Daemon, job_states
from mailer.daemonlock import single_instance
from mailer.errors import AuthError, ConnectError, MailerError, SourceError
from mailer.jobtimes import JobSpec, due_at_start, install_clock_shim, next_run
from mailer.store import Store

BERLIN = ZoneInfo("Europe/Berlin")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """sim(when): the clock stands at `when`; sim(when, virtual=True): it starts
    there and moves as the daemon waits (see `run_until`)."""
    with contextlib.ExitStack() as stack:

        def set_clock(when: str, virtual: bool = False) -> None:
            monkeypatch.setenv("MAILER_NOW", when)
            monkeypatch.delenv("MAILER_NOW_RATE", raising=False)
            clock.reset()
            if virtual:
                start = datetime.fromisoformat(when.replace("Z", "+00:00"))
                stack.enter_context(clock.virtual(start))

        yield set_clock


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "mailer.json")


def ok(runs: list[tuple[str, datetime]], name: str) -> Callable[[datetime], None]:
    def run(now: datetime) -> None:
        runs.append((name, now))

    return run


def stop_after_start(store: Store, jobs: list[JobSpec]) -> Daemon:
    """A daemon whose last job, a probe that is always due, ends it after start-up."""
    cell: list[Daemon] = []
    probe = JobSpec("probe", lambda now: cell[0].stop(), every_minutes=1)
    daemon = Daemon(store, [*jobs, probe], max_backoff=timedelta(minutes=30), log=lambda _: None)
    cell.append(daemon)
    return daemon


def run_until(daemon: Daemon, until: datetime) -> int:
    """Run the daemon on the virtual clock until it reaches `until`."""
    virtual = clock.virtual_clock()
    assert virtual is not None, "sim(..., virtual=True) first"
    virtual.stop_at(until, daemon.stop)
    return daemon.run()


# -- pure schedule arithmetic ---------------------------------------------------


def test_due_at_start_interval() -> None:
    spec = JobSpec("scan", lambda now: None, every_minutes=15)
    now = utc("2026-03-01T12:00:00")
    assert due_at_start(spec, None, now)
    assert not due_at_start(spec, now - timedelta(minutes=14, seconds=59), now)
    assert due_at_start(spec, now - timedelta(minutes=15), now)
    assert next_run(spec, now - timedelta(minutes=5), now) == now + timedelta(minutes=10)
    assert next_run(spec, now - timedelta(hours=3), now) == now  # overdue: now


def test_due_at_start_daily_across_dst_in_berlin() -> None:
    spec = JobSpec("drafts", lambda now: None, at="08:30", timezone="Europe/Berlin")
    # Spring forward (29 March 2026): 08:30 was 07:30Z the day before, 06:30Z that day.
    ran = utc("2026-03-28T07:30:05")
    assert not due_at_start(spec, ran, utc("2026-03-29T06:20:00"))  # 08:20 CEST
    assert due_at_start(spec, ran, utc("2026-03-29T06:31:00"))  # 08:31 CEST, not 24 h later
    assert next_run(spec, ran, utc("2026-03-28T12:00:00")) == utc("2026-03-29T06:30:00")
    # Fall back (25 October 2026): 08:30 is 06:30Z the day before, 07:30Z that day.
    ran = utc("2026-10-24T06:30:05")
    assert not due_at_start(spec, ran, utc("2026-10-25T07:20:00"))  # 08:20 CET
    assert due_at_start(spec, ran, utc("2026-10-25T07:31:00"))
    assert next_run(spec, ran, utc("2026-10-24T12:00:00")) == utc("2026-10-25T07:30:00")
    # Missed yesterday's run (machine asleep, daemon down): due before today's.
    assert due_at_start(spec, utc("2026-03-20T07:31:00"), utc("2026-03-22T06:00:00"))
    # Never run: a daily job waits for its time rather than running at start.
    assert not due_at_start(spec, None, utc("2026-03-22T06:00:00"))


def test_daily_time_in_the_dst_gap_runs_an_hour_later() -> None:
    spec = JobSpec("night", lambda now: None, at="02:30", timezone="Europe/Berlin")
    # 02:30 does not exist on 29 March 2026: 03:30 CEST = 01:30Z, as schedule does.
    assert next_run(spec, utc("2026-03-28T01:31:00"), utc("2026-03-28T12:00:00")) == utc(
        "2026-03-29T01:30:00"
    )


def test_jobspec_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        JobSpec("x", lambda now: None)
    with pytest.raises(ValueError, match="HH:MM"):
        JobSpec("x", lambda now: None, at="8h30")
    with pytest.raises(ValueError, match="time zone"):
        JobSpec("x", lambda now: None, at="08:30", timezone="Mars/Olympus")


def test_schedule_reads_mailers_clock(sim: Callable[..., None]) -> None:
    sim("2026-03-01T08:30:00Z")
    install_clock_shim()
    install_clock_shim()  # idempotent
    shimmed = schedule.datetime.datetime
    assert shimmed.now() == utc("2026-03-01T08:30:00").astimezone().replace(tzinfo=None)
    assert shimmed.now(BERLIN) == utc("2026-03-01T08:30:00")
    assert shimmed.now(BERLIN).utcoffset() == timedelta(hours=1)


# -- restarts ---------------------------------------------------------------------


def test_restarts_more_often_than_the_interval_still_run_the_job(
    sim: Callable[..., None], store: Store
) -> None:
    runs: list[tuple[str, datetime]] = []
    start = utc("2026-03-01T12:00:00")
    for minute in range(0, 100, 10):  # a restart every 10 minutes, interval 15
        sim((start + timedelta(minutes=minute)).isoformat())
        daemon = stop_after_start(store, [JobSpec("scan", ok(runs, "scan"), every_minutes=15)])
        assert daemon.run() == 0
    minutes = [int((when - start).total_seconds() // 60) for name, when in runs if name == "scan"]
    assert minutes == [0, 20, 40, 60, 80]
    assert job_states(store)["scan"]["last_run"] == "2026-03-01T13:20:00Z"


# -- failures and backoff --------------------------------------------------------


def test_failures_are_contained_recorded_and_retried_with_backoff(
    sim: Callable[..., None], store: Store
) -> None:
    attempts: dict[str, list[datetime]] = {"scan": [], "login": [], "tick": []}
    lines: list[str] = []

    def scan(now: datetime) -> None:
        attempts["scan"].append(now)
        if len(attempts["scan"]) <= 7:
            raise ConnectError("cannot reach imap.example.com:993: connection refused")

    def login(now: datetime) -> None:
        attempts["login"].append(now)
        raise AuthError("imap.example.com refused the login of me")

    def tick(now: datetime) -> None:
        attempts["tick"].append(now)

    sim("2026-03-01T12:00:00Z", virtual=True)
    jobs = [
        JobSpec("scan", scan, every_minutes=10),
        JobSpec("login", login, every_minutes=10),
        JobSpec("tick", tick, every_minutes=5),
    ]
    daemon = Daemon(
        store, jobs, max_backoff=timedelta(minutes=20), log=lines.append, step_seconds=0.05
    )
    start = clock.now()
    assert run_until(daemon, start + timedelta(minutes=95)) == 0

    def gaps(name: str) -> list[float]:
        times = attempts[name]
        return [(b - a).total_seconds() / 60 for a, b in itertools.pairwise(times)]

    # backoff doubles from 1 minute, capped at max_backoff; then a success
    scan_gaps = gaps("scan")
    assert scan_gaps[:7] == [1, 2, 4, 8, 16, 20, 20]
    # after the success, the normal interval again
    assert scan_gaps[7:] and all(g == 10 for g in scan_gaps[7:])
    # a refused login is retried slowly from the start
    assert gaps("login") == [20, 20, 20, 20]
    # the healthy job kept its pace throughout: minutes 0, 5, ..., 90
    assert [(t - start).total_seconds() / 60 for t in attempts["tick"]] == list(range(0, 95, 5))

    states = job_states(store)
    assert states["scan"]["failures"] == 0
    # the last error stays on record after the success, older than the last good run
    assert "connection refused" in states["scan"]["last_error"]
    assert states["scan"]["last_ok"] > states["scan"]["last_error_at"]
    login_state = states["login"]
    assert login_state["failures"] == 5
    assert login_state["last_ok"] is None
    assert "refused the login" in login_state["last_error"]
    assert login_state["last_error_at"] == login_state["last_run"]
    assert login_state["next_run"] > login_state["last_run"]

    failed = [line for line in lines if " scan failed: " in line]
    assert len(failed) == 7
    assert "connection refused; retrying in 1 min" in failed[0]
    assert "retrying in 20 min" in failed[-1]
    login_line = next(line for line in lines if " login failed: " in line)
    assert "refused the login of me; fix the account password" in login_line
    assert "retrying in 20 min" in login_line
    assert any(line.endswith(" tick ok in 0.0 s") for line in lines)


def test_a_failing_job_keeps_its_backoff_across_a_restart(
    sim: Callable[..., None], store: Store
) -> None:
    calls: list[datetime] = []

    def scan(now: datetime) -> None:
        calls.append(now)
        raise SourceError("server said BYE")

    sim("2026-03-01T12:00:00Z")
    jobs = [JobSpec("scan", scan, every_minutes=15)]
    daemon = Daemon(store, jobs, max_backoff=timedelta(minutes=30), log=lambda line: None)
    assert daemon.run(once=True) == 1
    assert daemon.run(once=True) == 1
    state = job_states(store)["scan"]
    assert state["failures"] == 2
    assert state["next_run"] == "2026-03-01T12:02:00Z"  # frozen clock: now + 2 min

    # a restart one minute later waits for the retry instead of running at once
    sim("2026-03-01T12:01:00Z")
    daemon = stop_after_start(store, [JobSpec("scan", scan, every_minutes=15)])
    assert daemon.run() == 0
    assert len(calls) == 2


# -- once, stop, logging ----------------------------------------------------------


def test_once_runs_every_job_once_in_order(
    sim: Callable[..., None], store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    sim("2026-03-01T12:00:00Z")
    runs: list[tuple[str, datetime]] = []

    def broken(now: datetime) -> None:
        runs.append(("drafts", now))
        raise RuntimeError("template missing")

    jobs = [
        JobSpec("scan", ok(runs, "scan"), every_minutes=15),
        JobSpec("drafts", broken, at="08:30", timezone="Europe/Berlin"),
        JobSpec("housekeeping", ok(runs, "housekeeping"), at="03:30"),
    ]
    log = logging.getLogger("mailer.test_daemon")
    daemon = Daemon(store, jobs, max_backoff=timedelta(minutes=30), log=log)
    with caplog.at_level(logging.INFO, logger="mailer.test_daemon"):
        assert daemon.run(once=True) == 1  # a job failed: runtime failure
    assert [name for name, _ in runs] == ["scan", "drafts", "housekeeping"]
    assert all(when == utc("2026-03-01T12:00:00") for _, when in runs)
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "2026-03-01T12:00:00Z scan ok in 0.0 s"
    assert messages[1].startswith(
        "2026-03-01T12:00:00Z drafts failed: RuntimeError: template missing;"
    )
    assert caplog.records[1].levelno == logging.WARNING
    assert set(job_states(store)) == {"scan", "drafts", "housekeeping"}
    assert job_states(store)["drafts"]["last_error"] == "RuntimeError: template missing"


def test_stop_from_another_thread_ends_run_within_a_step(
    sim: Callable[..., None], store: Store
) -> None:
    sim("2026-03-01T12:00:00Z")
    started = threading.Event()
    release = threading.Event()
    runs: list[tuple[str, datetime]] = []

    def slow(now: datetime) -> None:
        started.set()
        release.wait(60)
        runs.append(("slow", now))

    jobs = [
        JobSpec("slow", slow, every_minutes=15),
        JobSpec("after", ok(runs, "after"), every_minutes=15),
    ]
    daemon = Daemon(store, jobs, max_backoff=timedelta(minutes=30), log=lambda line: None)
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(daemon.run()))
    thread.start()
    assert started.wait(60)
    daemon.stop()  # while a job runs: it finishes, nothing new starts
    release.set()
    thread.join(60)
    assert result == [0]
    assert [name for name, _ in runs] == ["slow"]
    assert job_states(store)["slow"]["failures"] == 0

    # an idle daemon (frozen clock: it waits whole steps of an hour) is woken by stop()
    daemon = Daemon(
        store, jobs, max_backoff=timedelta(minutes=30), log=lambda line: None, step_seconds=3600
    )
    release.set()
    thread = threading.Thread(target=lambda: result.append(daemon.run()))
    thread.start()
    time.sleep(0.2)  # most likely waiting by now; a stop before the wait ends it too
    daemon.stop()
    thread.join(60)
    assert not thread.is_alive()
    assert result == [0, 0]


def test_sigterm_stops_run_in_the_main_thread(sim: Callable[..., None], store: Store) -> None:
    sim("2026-03-01T12:00:00Z")
    jobs = [JobSpec("scan", lambda now: None, every_minutes=15)]
    daemon = Daemon(
        store, jobs, max_backoff=timedelta(minutes=30), log=lambda line: None, step_seconds=3600
    )
    before = signal.getsignal(signal.SIGTERM)
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
    fallback = threading.Timer(120, daemon.stop)  # only if SIGTERM did not wake it
    fallback.start()
    assert daemon.run() == 0
    assert fallback.is_alive()  # woke by the signal, not after the hour's step or the fallback
    fallback.cancel()
    assert signal.getsignal(signal.SIGTERM) == before


# -- one daemon per store -------------------------------------------------------


def test_single_instance_refuses_a_second_holder_in_process(tmp_path: Path) -> None:
    path = tmp_path / "mailer.json"
    with single_instance(path):
        with pytest.raises(MailerError) as caught, single_instance(path):
            pass
        assert str(caught.value) == (
            f"another mailer daemon is running on {path} (pid {os.getpid()})"
        )
        assert caught.value.exit_code == 1
    with single_instance(path):  # released
        pass


# -- a few simulated days ----------------------------------------------------------


def test_simulated_days_run_daily_at_local_time_and_intervals_on_pace(
    sim: Callable[..., None], store: Store
) -> None:
    runs: list[tuple[str, datetime]] = []
    # 28-30 March 2026 spans the spring-forward change in Berlin (29 March).
    sim("2026-03-28T00:00:00Z", virtual=True)
    jobs = [
        JobSpec("drafts", ok(runs, "drafts"), at="08:30", timezone="Europe/Berlin"),
        JobSpec("scan", ok(runs, "scan"), every_minutes=60),
    ]
    daemon = Daemon(store, jobs, max_backoff=timedelta(minutes=30), log=lambda line: None)
    start = clock.now()
    end = utc("2026-03-30T09:00:00")
    assert run_until(daemon, end) == 0

    drafts = [when for name, when in runs if name == "drafts"]
    # Never ran before: the first run waits for 08:30 rather than running at start.
    later = [when.astimezone(BERLIN) for when in drafts]
    assert [d.date().isoformat() for d in later] == ["2026-03-28", "2026-03-29", "2026-03-30"]
    for local in later:  # 08:30 local on both sides of the change
        assert (local.hour, local.minute, local.second) == (8, 30, 0)
    assert job_states(store)["drafts"]["last_run"].startswith("2026-03-30T06:3")

    scans = [when for name, when in runs if name == "scan"]
    hours = (end - start) // timedelta(minutes=60)
    assert scans == [start + timedelta(hours=h) for h in range(hours)]


def test_housekeeping_forgets_refused_mail_after_keep_refused(tmp_path: Path) -> None:
    from mailer import config as cfg
    from mailer import jobs
    from mailer.app import App
    from mailer.model import CommandRecord
    from mailer.store import Decision

    config = cfg.from_dict(
        {
            "me": {"addresses": ["me@example.org"]},
            "store": {"path": str(tmp_path / "mailer.json")},
            "commands": {"keep_refused": "30d"},
        }
    )
    store = Store(config.store_path)
    for n, (kind, at) in enumerate(
        [("refused", "2026-01-10"), ("commands", "2026-01-10"), ("refused", "2026-02-20")]
    ):
        record = CommandRecord(f"k{n}", None, "x@x.org", "", None, f"{at}T09:00:00Z", kind, "")
        store.apply_command_mail(record.key, (), lambda *_, r=record: Decision(r, {}))
    (housekeeping,) = [j for j in jobs.specs(App(config)) if j.name == "housekeeping"]
    housekeeping.run(utc("2026-03-04T03:30:00"))  # keeps what came after 2026-02-02
    assert [(r.key, r.kind) for r in store.command_records()] == [
        ("k1", "commands"),
        ("k2", "refused"),
    ]


def test_a_fenced_clock_runs_to_the_fence_reports_and_stands_still(tmp_path: Path) -> None:
    fence = tmp_path / "fence"
    start = datetime(2026, 3, 2, 5, tzinfo=UTC)
    fenced = clock.FencedClock(start, fence)
    fenced.POLL = 0.0
    fenced.advance(3600)  # no fence yet: time stands still, and says where
    assert fenced.now() == start
    assert (tmp_path / "fence.at").read_text() == "2026-03-02T05:00:00+00:00"
    fence.write_text("2026-03-02T07:00:00Z")
    fenced.advance(3600)
    assert fenced.now() == start + timedelta(hours=1)
    assert (tmp_path / "fence.at").read_text() == "2026-03-02T05:00:00+00:00"
    fenced.advance(3 * 3600)  # past the fence: held there, and says so
    assert fenced.now() == start + timedelta(hours=2)
    assert (tmp_path / "fence.at").read_text() == "2026-03-02T07:00:00+00:00"
    fenced.advance(60)
    assert fenced.now() == start + timedelta(hours=2)
    fence.write_text("not a time")  # half written: stand still, never fail
    fenced.advance(60)
    assert fenced.now() == start + timedelta(hours=2)
