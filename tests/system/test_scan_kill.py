"""A scan killed at any moment, or racing `contacts set`, loses nothing.

These run the real `mailer scan` in a child process against Dovecot and
SIGKILL it at random moments (SPEC section 4).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mailer.model import Contact
from mailer.store import Store
from tests.support.dovecot import ImapUser
from tests.support.mailgen import OWNER, bulk
from tests.support.scanhelp import PASSWORD_ENV, contacts_json, mailer, write_config

MESSAGES = 12_000
ENV = {"MAILER_NOW": "2026-11-01T00:00:00Z"}


def _load(user: ImapUser) -> None:
    msgs = bulk(MESSAGES, contacts=1500, seed=3)
    outbound = [m for m in msgs if m.startswith(f"From: Pat Doe <{OWNER}>".encode())]
    inbound = [m for m in msgs if not m.startswith(f"From: Pat Doe <{OWNER}>".encode())]
    user.write_maildir("INBOX", inbound)
    user.write_maildir("Sent", outbound)


def _config(tmp: Path, user: ImapUser, name: str) -> Path:
    d = tmp / name
    d.mkdir()
    return write_config(d, user, me={"addresses": [OWNER]}, scan={"batch_size": 300})


def _start_scan(config: Path, user: ImapUser) -> subprocess.Popen[str]:
    env = {**os.environ, **ENV, PASSWORD_ENV: user.password}
    return subprocess.Popen(
        [sys.executable, "-m", "mailer", "--config", str(config), "scan"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _position(store: Path) -> int:
    """How many messages the store has committed (sum of folder positions)."""
    data = json.loads(store.read_text()) if store.exists() else {}
    return sum(doc["last_uid"] for doc in data.get("folders", {}).values())


@pytest.fixture
def mailbox(imap_user: ImapUser) -> ImapUser:
    _load(imap_user)
    return imap_user


def _reference(tmp_path: Path, user: ImapUser) -> tuple[list[dict[str, Any]], float]:
    config = _config(tmp_path, user, "reference")
    started = time.monotonic()
    out = mailer(config, "scan", user=user, env=ENV)
    took = time.monotonic() - started
    assert out.returncode == 0, out.stderr
    return contacts_json(config), took


@pytest.mark.slow
def test_kill_9_at_any_moment_then_resume(mailbox: ImapUser, tmp_path: Path) -> None:
    reference, took = _reference(tmp_path, mailbox)
    rng = random.Random(20261124)
    mid_scan_kills = 0
    for round_ in range(10):
        config = _config(tmp_path, mailbox, f"killed{round_}")
        store = config.parent / "mailer.json"
        for _ in range(3):
            proc = _start_scan(config, mailbox)
            time.sleep(rng.uniform(0.1, 0.7 * took))
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            # After every kill the store loads, and holds only committed batches.
            contacts = Store(store).contacts() if store.exists() else []
            assert all(c.messages_in + c.messages_out > 0 for c in contacts)
            position = _position(store)
            mid_scan_kills += 0 < position < MESSAGES and proc.returncode == -signal.SIGKILL
        out = mailer(config, "scan", user=mailbox, env=ENV)
        assert out.returncode == 0, out.stderr
        assert contacts_json(config) == reference
        assert not list(config.parent.glob(".mailer.json.tmp-*"))
    assert mid_scan_kills >= 8, "the kills should land in the middle of scans"


@pytest.mark.slow
def test_scan_and_contacts_set_at_the_same_time(mailbox: ImapUser, tmp_path: Path) -> None:
    people = [f"person{k}@corp{k % 97}.example" for k in range(40)]
    reference = {r["email"]: r for r in _reference(tmp_path, mailbox)[0]}
    assert all(p in reference for p in people)
    config = _config(tmp_path, mailbox, "racing")
    store = Store(config.parent / "mailer.json")
    for p in people:
        store.add_contact(Contact(email=p))
    proc = _start_scan(config, mailbox)
    during = 0
    for k, p in enumerate(people):
        out = mailer(
            config,
            "contacts",
            "set",
            p,
            "--tier",
            "inner",
            "--tags",
            f"t{k},shared",
            "--trust",
            str(k % 4),
        )
        assert out.returncode == 0, out.stderr
        during += proc.poll() is None
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert during >= 3, "the sets should overlap the scan"
    rows = {r["email"]: r for r in contacts_json(config)}
    for k, p in enumerate(people):  # no set lost ...
        assert (rows[p]["tier"], rows[p]["tags"], rows[p]["trust"]) == (
            "inner",
            sorted([f"t{k}", "shared"]),
            k % 4,
        )
    for email, ref in reference.items():  # ... and no scan update lost
        learned = ("last_inbound", "last_outbound", "messages_in", "messages_out", "first_seen")
        assert {f: rows[email][f] for f in learned} == {f: ref[f] for f in learned}
