"""`Daemon.trigger` and the watcher's reconnect, without a server.

`trigger` runs a job at once but leaves a job in backoff alone. The IDLE
watcher against a real Dovecot is tested in tests/system/test_idle.py.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from mailer import clock
from mailer.config import load
from mailer.daemon import Daemon
from mailer.errors import ConnectError
from mailer.jobtimes import JobSpec
from mailer.sources.idle import InboxWatcher
from mailer.store import Store
from tests.support.scanhelp import write_config

SLACK = 6


def wait_for(condition: Callable[[], object], seconds: float, what: str) -> None:
    """Wait for an asynchronous event; fail naming it after `seconds` times SLACK.

    The deadline only catches a hung test: it costs nothing when the event comes,
    and SLACK keeps a busy 2-core machine from failing what an idle one passes.
    """
    seconds *= SLACK
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds} s: {what}")
        time.sleep(0.02)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """A clock that stands still: no interval ever falls due by waiting."""
    monkeypatch.setenv("MAILER_NOW", "2026-03-01T12:00:00Z")
    monkeypatch.setenv("MAILER_NOW_RATE", "0")
    clock.reset()


def test_trigger_runs_a_job_at_once_unless_it_is_in_backoff(frozen: None, tmp_path: Path) -> None:
    runs: dict[str, list[datetime]] = {"failing": [], "scan": []}

    def failing(now: datetime) -> None:
        runs["failing"].append(now)
        raise ConnectError("cannot connect to imap.example.com:993: connection refused")

    jobs = [
        JobSpec("failing", failing, every_minutes=60),
        JobSpec("scan", lambda now: runs["scan"].append(now), every_minutes=60),
    ]
    # 30 s steps: only a trigger can make anything happen within the test
    daemon = Daemon(
        Store(tmp_path / "mailer.json"),
        jobs,
        max_backoff=timedelta(minutes=30),
        log=lambda line: None,
        step_seconds=30,
    )
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(daemon.run()), daemon=True)
    thread.start()
    try:
        wait_for(lambda: len(runs["scan"]) == 1, 5, "the runs at start")
        assert len(runs["failing"]) == 1  # and it is now in backoff

        threading.Thread(target=daemon.trigger, args=("scan",)).start()
        wait_for(lambda: len(runs["scan"]) == 2, 10, "the triggered run")

        # the job in backoff is passed over; the loop takes jobs in order, so once
        # the later "scan" has run, the trigger of "failing" has been dealt with
        daemon.trigger("failing")
        daemon.trigger("scan")
        wait_for(lambda: len(runs["scan"]) == 3, 10, "the second triggered run")
        assert len(runs["failing"]) == 1

        with pytest.raises(ValueError, match="no job named 'digest'"):
            daemon.trigger("digest")
    finally:
        daemon.stop()
        thread.join(60)
    assert not thread.is_alive()
    assert result == [0]


def test_a_trigger_during_the_run_gives_one_more_run(frozen: None, tmp_path: Path) -> None:
    started = threading.Event()
    release = threading.Event()
    runs: list[datetime] = []

    def scan(now: datetime) -> None:
        runs.append(now)
        if len(runs) == 2:
            started.set()
            release.wait(60)

    daemon = Daemon(
        Store(tmp_path / "mailer.json"),
        [JobSpec("scan", scan, every_minutes=60)],
        max_backoff=timedelta(minutes=30),
        log=lambda line: None,
        step_seconds=30,
    )
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: len(runs) == 1, 5, "the run at start")
        daemon.trigger("scan")
        assert started.wait(60)
        daemon.trigger("scan")  # mail came while the scan ran: it may have missed it
        daemon.trigger("scan")  # ... twice: still one more run, not two
        release.set()
        wait_for(lambda: len(runs) == 3, 10, "the run after the run")
        time.sleep(0.3)
        assert len(runs) == 3
    finally:
        release.set()
        daemon.stop()
        thread.join(60)
    assert not thread.is_alive()


def test_an_oauth2_token_is_fetched_again_for_each_reconnect(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Access tokens expire; the first one must not be reused for every reconnect."""
    import mailer.sources.imap as imap

    used: list[str | None] = []

    def refuse(account: object, password: str | None, token: str | None = None) -> None:
        used.append(token)
        raise ConnectError("server down")

    monkeypatch.setattr(imap, "connect", refuse)
    config = load(str(write_config(tmp_path, None, account={"host": "127.0.0.1", "username": "u"})))
    tokens = iter(["t2", "t3", "t4"])
    watcher = InboxWatcher(
        config.require_account(),
        lambda: None,
        logging.getLogger("test-idle"),
        password=None,
        oauth2_token="t1",
        min_backoff=0.01,
        max_backoff=0.01,
        token_source=lambda: next(tokens),
    ).start()
    deadline = time.monotonic() + 10
    while len(used) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    watcher.stop()
    assert used[:3] == ["t1", "t2", "t3"]
