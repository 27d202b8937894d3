"""IMAP IDLE: the INBOX watcher against a real Dovecot (`Daemon.trigger`: tests/unit).

Command mail should be applied within seconds, not at the next scan: the
watcher (mailer/sources/idle.py) IDLEs on INBOX and calls `on_new()`, which in
the daemon is `trigger("scan")`. These tests check that new mail is noticed,
that the watcher outlives a server stop and a crash without raising, that
`trigger` runs a job at once but leaves a job in backoff alone, and, end to
end, that `mailer run` applies an emailed command within seconds although it
scans only hourly.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mailer.config import load
from mailer.sources.idle import InboxWatcher
from tests.support.dovecot import Dovecot, ImapUser
from tests.support.scanhelp import PASSWORD_ENV, mailer, raw, write_config
from tests.unit.test_idle import wait_for

LOGGER = "mailer.test_idle"
COMMAND_ADDRESS = "me+mailer-k3x9q2@example.com"


def mail(n: int, sender: str = "Anna Berg <anna@a.example>") -> bytes:
    return raw(
        f"From: {sender}\nTo: Pat Doe <me@example.org>\nSubject: note {n}\n"
        f"Date: Mon, 02 Mar 2026 10:00:00 +0000\nMessage-ID: <idle{n}.{time.time_ns()}@test>"
    )


class Calls:
    """on_new's calls, with the time of each."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self) -> None:
        self.times.append(time.monotonic())

    @property
    def count(self) -> int:
        return len(self.times)


@pytest.fixture
def watch(tmp_path: Path) -> Iterator[Callable[..., tuple[InboxWatcher, Calls]]]:
    """Start a watcher for a user (fast backoff); every one is stopped at the end."""
    started: list[InboxWatcher] = []

    def start(user: ImapUser, **options: float) -> tuple[InboxWatcher, Calls]:
        account = load(str(write_config(tmp_path, user))).require_account()
        calls = Calls()
        options = {"min_backoff": 0.2, "max_backoff": 1.0, **options}
        watcher = InboxWatcher(
            account, calls, logging.getLogger(LOGGER), password=user.password, **options
        )
        started.append(watcher.start())
        wait_for(lambda: watcher.sessions >= 1, 15, "the watcher's first IDLE")
        return watcher, calls

    yield start
    for watcher in started:
        watcher.stop()


def stopped_promptly(watcher: InboxWatcher) -> None:
    # An IDLE lasts renew_seconds (minutes): ending within the join means stop()
    # broke it off. The join is generous so a loaded machine gives the same answer.
    watcher.stop(timeout=60)
    assert not watcher.alive


def test_new_mail_calls_on_new_within_seconds(
    imap_user: ImapUser,
    watch: Callable[..., tuple[InboxWatcher, Calls]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    watcher, calls = watch(imap_user)
    assert calls.count == 0  # the first connect is no news

    appended = time.monotonic()
    imap_user.append("INBOX", [mail(1)])
    wait_for(lambda: calls.count >= 1, 10, "on_new after an APPEND to INBOX")
    print(f"on_new {calls.times[0] - appended:.2f} s after the APPEND returned")

    # a burst (one MULTIAPPEND of 20) is told once, or twice if it spans the cap
    time.sleep(0.5)
    before = calls.count
    imap_user.append("INBOX", [mail(n) for n in range(2, 22)])
    wait_for(lambda: calls.count > before, 10, "on_new after a burst")
    time.sleep(1.0)
    assert 1 <= calls.count - before <= 2

    # mail into another folder is not INBOX's news
    before = calls.count
    imap_user.append("Sent", [mail(30)])
    time.sleep(1.0)
    assert calls.count == before

    stopped_promptly(watcher)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert any("watching INBOX for new mail" in r.getMessage() for r in caplog.records)


def test_watcher_outlives_a_server_stop_and_a_crash(
    private_dovecot: Dovecot,
    watch: Callable[..., tuple[InboxWatcher, Calls]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    user = private_dovecot.new_account()
    watcher, calls = watch(user)

    def warnings() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.levelno >= logging.WARNING]

    # a clean stop: the server says BYE
    private_dovecot.stop()
    wait_for(lambda: len(warnings()) >= 1, 5, "a warning after the server stopped")
    private_dovecot.start()
    wait_for(lambda: watcher.sessions >= 2, 15, "IDLE again after the restart")
    # a crash: no BYE, the connection just ends (idle_check swallows that EOF)
    seen = len(warnings())
    private_dovecot.kill()
    wait_for(lambda: len(warnings()) > seen, 5, "a warning after the server was killed")
    private_dovecot.start()
    wait_for(lambda: watcher.sessions >= 3, 15, "IDLE again after the crash")
    assert watcher.alive
    assert calls.count == 0  # INBOX did not change meanwhile: nothing to tell

    user.append("INBOX", [mail(1)])
    wait_for(lambda: calls.count >= 1, 10, "on_new after the restart")
    stopped_promptly(watcher)

    lines = [r.getMessage() for r in warnings()]
    print("\n".join(lines))
    # Dovecot's imap process says BYE, unless the SIGTERM to its group ends it first
    assert (
        "the server ended the session: Server shutting down;" in lines[0]
        or "watching INBOX failed: the server closed the connection" in lines[0]
    ), lines[0]
    assert all("reconnecting in" in line and "\n" not in line for line in lines)
    assert all(r.exc_info is None for r in caplog.records)  # expected errors: no traceback
    assert any("watching INBOX again" in r.getMessage() for r in caplog.records)


def test_mail_that_came_while_away_is_told_after_the_reconnect(
    private_dovecot: Dovecot, watch: Callable[..., tuple[InboxWatcher, Calls]]
) -> None:
    user = private_dovecot.new_account()
    watcher, calls = watch(user, min_backoff=1.0, max_backoff=1.0)
    private_dovecot.kill()
    private_dovecot.start()
    user.append("INBOX", [mail(1)])  # before the watcher is back (its backoff is 1 s)
    wait_for(lambda: watcher.sessions >= 2, 15, "IDLE again after the crash")
    wait_for(lambda: calls.count >= 1, 10, "on_new for the mail that came meanwhile")
    stopped_promptly(watcher)


# -- Daemon.trigger ------------------------------------------------------------------


# -- end to end ----------------------------------------------------------------------


def contact(config: Path, email: str) -> dict[str, object]:
    out = mailer(config, "contacts", "show", email, "--format", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    return data[0] if isinstance(data, list) else data


def test_daemon_applies_command_mail_within_seconds(imap_user: ImapUser, tmp_path: Path) -> None:
    imap_user.append("INBOX", [mail(1)])  # anna becomes a contact at the first scan
    config = write_config(
        tmp_path,
        imap_user,
        daemon={"scan_every_minutes": 60, "idle": True},
        commands={"address": COMMAND_ADDRESS, "confirm": False},
    )
    log = tmp_path / "daemon.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILER_NOW")}
    with open(log, "w") as err:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "mailer", "--config", str(config), "run"],
            env={**env, PASSWORD_ENV: imap_user.password},
            stdout=err,
            stderr=err,
        )
    try:
        wait_for(
            lambda: "scan ok" in log.read_text() and "idle: watching INBOX" in log.read_text(),
            20,
            "the daemon's first scan and IDLE",
        )
        assert contact(config, "anna@a.example")["snoozed_until"] is None
        command = raw(
            f"From: Pat Doe <me@example.org>\nTo: {COMMAND_ADDRESS}\nSubject: commands\n"
            f"Date: Mon, 02 Mar 2026 10:00:00 +0000\nMessage-ID: <cmd.{time.time_ns()}@test>",
            "snooze anna@a.example 2w\r\n",
        )
        imap_user.append("INBOX", [command])
        wait_for(
            lambda: contact(config, "anna@a.example")["snoozed_until"] is not None,
            20,
            f"the emailed snooze applied by the daemon; its log:\n{log.read_text()}",
        )
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=60)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait(5)
    text = log.read_text()
    print(text)
    assert code == 0, text
    assert "Traceback" not in text
    assert text.count("scan ok") >= 2  # the scan at start, and the one new mail triggered
