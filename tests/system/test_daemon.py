"""The daemon end to end: `mailer run` on a test-driven clock against a real Dovecot.

MAILER_NOW sets the start and MAILER_CLOCK_FENCE names a file holding the
time the daemon's clock may reach (mailer/clock.py, FencedClock): the test
moves the fence and waits until the daemon reports it has done all that was
due before it, so three days of the daemon give the same result on a loaded
machine as on an idle one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from mailer.model import parse_iso
from mailer.store import Store
from tests.support.dovecot import Dovecot
from tests.support.scanhelp import PASSWORD_ENV, mail_in, mail_out, mailer, utc, write_config
from tests.system.test_drafts import history

START = "2026-03-02T05:00:00Z"  # Monday, 06:00 in Berlin
HELD = 300.0  # real seconds a daemon may take to reach a fence before the test gives up


def reach(fence: Path, when: datetime, daemon: subprocess.Popen[bytes], log: Path) -> None:
    """Let the daemon's clock run to `when`; return once it has done all that was due before."""
    tmp = fence.with_name("fence.tmp")
    tmp.write_text(when.isoformat())
    os.replace(tmp, fence)
    at = fence.with_name(fence.name + ".at")
    deadline = time.monotonic() + HELD
    while not (at.exists() and parse_iso(at.read_text()) >= when):
        assert daemon.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"the daemon never reached {when}\n{log.read_text()}"
        time.sleep(0.05)


@pytest.mark.slow
def test_daemon_drafts_at_the_hour_survives_the_server_and_stops_cleanly(
    private_dovecot: Dovecot, tmp_path: Path
) -> None:
    user = private_dovecot.new_account()
    inbox, sent = history()
    # hana (tier inner, 30d) becomes due on Tuesday 3 March 00:00 UTC.
    inbox.append(mail_in("Hana Ito", "hana@h.example", utc(2026, 1, 31), 1))
    inbox.append(mail_in("Hana Ito", "hana@h.example", utc(2025, 10, 1), 2))
    sent.append(mail_out("hana@h.example", utc(2026, 2, 1), 1))
    sent.append(mail_out("hana@h.example", utc(2025, 10, 2), 2))
    user.append("INBOX", inbox)
    user.append("Sent", sent)
    config = write_config(
        tmp_path,
        user,
        rules={
            "draft_at": "08:30",
            "timezone": "Europe/Berlin",
            "jitter": "0d",
            "weekdays_only": True,
            "max_drafts_per_day": 5,
        },
        daemon={"scan_every_minutes": 360, "max_backoff_minutes": 30},
        digest={"every": "off"},  # this test counts contact drafts only
        **{"rules.tiers": {"inner": "30d", "network": "90d"}},
    )
    env = {**os.environ, PASSWORD_ENV: user.password, "MAILER_NOW": START}
    assert mailer(config, "scan", user=user, env={"MAILER_NOW": START}).returncode == 0
    for who, tier in (
        ("anna@a.example", "inner"),
        ("bert@b.example", "network"),
        ("hana@h.example", "inner"),
    ):
        mailer(config, "contacts", "set", who, "--tier", tier, env={"MAILER_NOW": START})

    log = tmp_path / "daemon.log"
    fence = tmp_path / "fence"
    with open(log, "w") as err:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "mailer", "--config", str(config), "run"],
            env={**env, "MAILER_CLOCK_FENCE": str(fence)},
            stdout=err,
            stderr=err,
        )
    try:
        reach(fence, utc(2026, 3, 2, 13), daemon, log)  # Monday afternoon: drafts are written
        second = mailer(config, "run", user=user, env={"MAILER_NOW": START})
        assert second.returncode == 1 and "another mailer daemon is running" in second.stderr
        private_dovecot.stop()  # the server goes away for 12 hours
        reach(fence, utc(2026, 3, 3, 1), daemon, log)
        private_dovecot.start()
        reach(fence, utc(2026, 3, 4, 5), daemon, log)  # into Wednesday
        assert daemon.poll() is None, log.read_text()
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=60)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    text = log.read_text()
    assert code == 0, text
    assert "Traceback" not in text
    assert "scan failed" in text and "cannot connect" in text  # the outage was seen ...
    records = Store(config.parent / "mailer.json").drafts()
    written = {r.email: parse_iso(r.written_at) for r in records}
    assert set(written) == {
        "anna@a.example",
        "bert@b.example",
        "dora@d.example",
        "hana@h.example",
    }, text
    monday, tuesday = utc(2026, 3, 2, 7, 30), utc(2026, 3, 3, 7, 30)  # 08:30 in Berlin
    for who in ("anna@a.example", "bert@b.example", "dora@d.example"):
        assert monday <= written[who] <= monday + timedelta(minutes=30), (who, written)
    assert tuesday <= written["hana@h.example"] <= tuesday + timedelta(minutes=30)
    # ... and survived: scans after the restart succeeded.
    status = json.loads(
        mailer(
            config, "status", "--format", "json", env={"MAILER_NOW": "2026-03-04T12:00:00Z"}
        ).stdout
    )
    scan_state = status["jobs"]["scan"]
    assert scan_state["last_ok"] and scan_state["last_ok"] > "2026-03-03"
    assert scan_state["last_error"]
    with user.connect() as c:
        c.select_folder("Drafts", readonly=True)
        assert len(c.search(["ALL"])) == 4


def test_run_once_runs_one_full_cycle(private_dovecot: Dovecot, tmp_path: Path) -> None:
    user = private_dovecot.new_account()
    inbox, sent = history()
    user.append("INBOX", inbox)
    user.append("Sent", sent)
    config = write_config(tmp_path, user, rules={"jitter": "0d", "weekdays_only": False})
    env = {"MAILER_NOW": "2026-03-04T09:00:00Z"}
    out = mailer(config, "run", "--once", user=user, env=env)
    assert out.returncode == 0, out.stderr
    for job in ("scan ok", "drafts ok", "housekeeping ok", "digest ok"):
        assert job in out.stderr, out.stderr
    status = json.loads(mailer(config, "status", "--format", "json", env=env).stdout)
    assert set(status["jobs"]) == {"scan", "drafts", "housekeeping", "digest"}
    assert all(j["last_ok"] == "2026-03-04T09:00:00Z" for j in status["jobs"].values())
    with user.connect() as c:
        c.select_folder("Drafts", readonly=True)
        assert len(c.search(["ALL"])) == len(Store(config.parent / "mailer.json").drafts()) > 0
