"""Scans against a real Dovecot, and the same contract against mbox and Maildir."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mailer.app import App
from mailer.config import load
from mailer.scan import scan
from mailer.sources.imap import ImapSource, connect
from mailer.store import Store
from tests.support.dovecot import ImapUser
from tests.support.mailgen import bulk
from tests.support.scanhelp import (
    EXPECTED,
    HISTORY,
    ME,
    contacts_json,
    learned,
    load_history,
    mailer,
    raw,
    utc,
    write_config,
    write_mbox,
    write_plain_maildir,
)

NOW = utc(2026, 11, 1)


def _imap_scan(config_path: Path, full: bool = False) -> Any:
    config = load(str(config_path))
    account = config.require_account()
    source = ImapSource(account, config.folders, connect(account, _password(config_path)))
    try:
        return scan(Store(config.store_path), source, App(config).identity, NOW, full=full)
    finally:
        source.close()


def _password(config_path: Path) -> str:
    return config_path.parent.joinpath("pw").read_text()


@pytest.fixture
def loaded(imap_user: ImapUser, tmp_path: Path) -> tuple[ImapUser, Path]:
    load_history(imap_user)
    (tmp_path / "pw").write_text(imap_user.password)
    return imap_user, write_config(tmp_path, imap_user)


def test_scan_learns_exact_last_contact_in_utc(loaded: tuple[ImapUser, Path]) -> None:
    user, config = loaded
    out = mailer(config, "scan", user=user)
    assert out.returncode == 0, out.stderr
    assert "INBOX: 7 read" in out.stdout and "Sent: 4 read" in out.stdout
    rows = contacts_json(config)
    assert learned(rows) == EXPECTED
    emails = {r["email"] for r in rows}
    assert ME[1] not in emails and not any("guest" in e or "dave" in e for e in emails)
    for r in rows:  # the SPEC section 4 contract keys
        assert {
            "email",
            "name",
            "status",
            "tier",
            "tags",
            "trust",
            "first_seen",
            "last_inbound",
            "last_outbound",
            "last_contact",
            "messages_in",
            "messages_out",
            "next_due",
            "snoozed_until",
        } <= set(r)
        assert isinstance(r["tags"], list)
    # Anna and the owner wrote each other 2+ times each way over 3 months: active by
    # itself (README: auto-promotion); the rest are new seeds.
    assert {r["email"]: r["status"] for r in rows} == {
        e: ("active" if e.startswith("anna") else "seed") for e in EXPECTED
    }


@pytest.mark.parametrize("kind", ["mbox", "maildir"])
def test_local_sources_learn_the_same(kind: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, None)
    if kind == "mbox":
        path = tmp_path / "mail.mbox"
        write_mbox(path, HISTORY)
    else:
        path = tmp_path / "Maildir"
        write_plain_maildir(path, HISTORY)
    out = mailer(config, "import", kind, str(path))
    assert out.returncode == 0, out.stderr
    assert learned(contacts_json(config)) == EXPECTED
    # A second import of the same mailbox counts nothing twice.
    again = mailer(config, "import", kind, str(path))
    assert again.returncode == 0 and "0 new" in again.stdout
    assert learned(contacts_json(config)) == EXPECTED


def test_an_unreadable_message_is_recorded_once_however_often_it_is_read(
    tmp_path: Path,
) -> None:
    """`scan --full` and a second import used to record the same message again."""
    config = write_config(tmp_path, None)
    path = tmp_path / "Maildir"
    broken = b"To: pat.doe@example.org\r\nSubject: no sender\r\nMessage-ID: <nofrom@x>\r\n\r\nhi"
    when = datetime(2024, 5, 1, tzinfo=UTC)
    write_plain_maildir(path, [*HISTORY, ("INBOX", broken, when), ("Sent", broken, when)])
    for _ in range(3):
        out = mailer(config, "import", "maildir", str(path))
        assert out.returncode == 0, out.stderr
    status = mailer(config, "status", "--format", "json")
    assert json.loads(status.stdout)["parse_failures"] == 1, status.stdout


def test_incremental_scan_reads_only_new_mail(loaded: tuple[ImapUser, Path]) -> None:
    user, config = loaded
    first = _imap_scan(config)
    assert first.fetched == len(HISTORY)
    assert _imap_scan(config).fetched == 0
    user.append(
        "INBOX",
        [
            raw("""From: Anna Berg <anna.berg@north.example>
To: me@example.org
Subject: later
Date: Tue, 20 Oct 2026 10:00:00 +0000
Message-ID: <late@test>""")
        ],
    )
    third = _imap_scan(config)
    assert third.fetched == 1 and third.folders[0].new == 1
    anna = Store(load(str(config)).store_path).contact("anna.berg@north.example")
    assert anna is not None
    assert anna.last_inbound == "2026-10-20T10:00:00Z" and anna.messages_in == 3


def test_uidvalidity_change_rescans_without_double_counting(loaded: tuple[ImapUser, Path]) -> None:
    user, config = loaded
    _imap_scan(config)
    before = learned(contacts_json(config))
    user.change_uidvalidity("INBOX")
    report = _imap_scan(config)
    inbox = report.folders[0]
    assert inbox.rescanned and inbox.fetched == 7 and inbox.new == 0
    assert learned(contacts_json(config)) == before == EXPECTED
    states = Store(load(str(config)).store_path).folder_states()
    with user.connect() as c:
        now_validity = c.folder_status("INBOX", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
    assert any(s.folder == "INBOX" and s.uidvalidity == now_validity for s in states.values())


def test_full_rescan_counts_nothing_twice(loaded: tuple[ImapUser, Path]) -> None:
    _, config = loaded
    _imap_scan(config)
    report = _imap_scan(config, full=True)
    assert report.fetched == len(HISTORY)
    assert learned(contacts_json(config)) == EXPECTED


def test_fast_fetch_reads_what_imapclient_reads(imap_user: ImapUser, tmp_path: Path) -> None:
    odd = [
        b"X-Only: a header we do not fetch\r\n\r\nbody\r\n",  # empty header fields
        raw('From: a@b.example\nSubject: {literal-looking} (parens) "quotes" UID 99'),
        raw("From: =?iso-8859-1?q?J=F6rg?= <j@b.example>\nDate: broken"),
        b"From: no-body@b.example\r\n\r\n",
        *bulk(50),
    ]
    dates = [utc(2020 + i % 7, 1 + i % 12, 1 + i % 28, i % 24, i % 60) for i in range(len(odd))]
    imap_user.append("INBOX", odd, internaldates=dates)
    (tmp_path / "pw").write_text(imap_user.password)
    config = load(str(write_config(tmp_path, imap_user)))
    account = config.require_account()
    source = ImapSource(account, config.folders, connect(account, imap_user.password))
    try:
        info = source.open_folder("INBOX")
        new = source.new_messages(info, 0)
        fast = source._fetch_range(new.first, new.last)
        slow = source._fetch_range_imapclient(new.first, new.last)
    finally:
        source.close()
    assert len(fast) == len(odd) and fast == slow
    assert [m.internaldate for m in fast] == dates


def test_special_folders_and_check(loaded: tuple[ImapUser, Path]) -> None:
    user, config = loaded
    out = mailer(config, "check", user=user)
    assert out.returncode == 0, out.stderr
    assert "drafts folder: Drafts" in out.stdout
    assert "INBOX: 7 messages, 7 to read (first scan)" in out.stdout
    assert "Sent: 4 messages, 4 to read (first scan)" in out.stdout
    report = json.loads(mailer(config, "check", "--format", "json", user=user).stdout)
    assert report["drafts_folder"] == "Drafts" and report["sent_folder"] == "Sent"
    assert {"folder": "INBOX", "messages": 7, "to_read": 7, "why": "first scan"} in report["scan"]
    assert any(f["name"] == "Sent" and "\\Sent" in f["special"] for f in report["folders"])
    mailer(config, "scan", user=user)
    again = mailer(config, "check", user=user)
    assert "INBOX: 7 messages, 0 to read (after UID 7)" in again.stdout


def test_starttls_and_extra_folders(imap_user: ImapUser, tmp_path: Path) -> None:
    load_history(imap_user)
    imap_user.append(
        "Archive",
        [
            raw("""From: Old Friend <old@friend.example>
To: me@example.org
Subject: long ago
Date: Mon, 05 Jan 2015 10:00:00 +0000
Message-ID: <arch@test>""")
        ],
    )
    config = write_config(
        tmp_path,
        imap_user,
        account={"port": imap_user.imap_port, "security": "starttls"},
        folders={"extra": ["Archive"]},
    )
    out = mailer(config, "scan", user=imap_user)
    assert out.returncode == 0, out.stderr
    assert "Archive: 1 read, 1 new" in out.stdout
    assert "old@friend.example" in {r["email"] for r in contacts_json(config)}


def test_status_shows_folders_and_unreadable(imap_user: ImapUser, tmp_path: Path) -> None:
    imap_user.append(
        "INBOX",
        [
            raw("Subject: no sender at all\nDate: Mon, 05 Jan 2026 10:00:00 +0000"),
            raw("From: ok@x.example\nTo: me@example.org"),
        ],
    )
    config = write_config(tmp_path, imap_user)
    assert mailer(config, "scan", user=imap_user).returncode == 0
    status = mailer(config, "status")
    assert status.returncode == 0, status.stderr
    assert "unreadable messages: 1" in status.stdout
    assert "no From" in status.stdout
    data = json.loads(mailer(config, "status", "--format", "json").stdout)
    assert data["parse_failures"] == 1 and data["contacts"] == 1


def test_long_first_scan_shows_a_progress_bar_on_a_terminal(
    imap_user: ImapUser, tmp_path: Path
) -> None:
    import os
    import pty
    import subprocess
    import sys

    imap_user.write_maildir("INBOX", bulk(6000))
    config = write_config(tmp_path, imap_user, scan={"batch_size": 500})
    leader, follower = pty.openpty()
    env = {**os.environ, "MAILER_TEST_PASSWORD": imap_user.password, "TERM": "xterm"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailer", "--config", str(config), "scan"],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal closed with the child
            break
        if not data:
            break
        chunks.append(data)
    out, _ = proc.communicate(timeout=60)
    os.close(leader)
    terminal = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0
    assert "INBOX" in terminal and "/6000" in terminal  # the bar: folder, done/total
    assert b"INBOX: 6000 read" in out
