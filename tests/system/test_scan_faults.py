"""A folder that cannot be read costs only itself, against a real Dovecot.

A missing folder in `folders.extra`, or one deleted while it is read, used
to end the whole scan: the folders after it were never read, and in the
daemon the command mail after the scan was never applied. Now it is one line
in the scan's output, named by `mailer status` (with when it was last tried)
and in the digest, and forgotten once it scans again; a dead server or a
refused login still ends the scan, as before.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailer import clock
from mailer.app import App
from mailer.config import load
from mailer.scan import FOLDER_FAULTS
from mailer.store import Store
from tests.support.dovecot import ImapUser
from tests.support.mailgen import bulk
from tests.support.scanhelp import PASSWORD_ENV, load_history, mailer, raw, write_config
from tests.system.test_inbox import ADDRESS, command_mail, history

FIRST = {"MAILER_NOW": "2026-11-01T08:00:00Z"}
LATER = {"MAILER_NOW": "2026-11-02T08:00:00Z"}


def _one(user: ImapUser, folder: str, n: int) -> None:
    user.append(
        folder,
        [raw(f"From: Old Friend <old{n}@friend.example>\nTo: me@example.org\nSubject: hi {n}")],
    )


def _status(config: Path) -> dict[str, object]:
    out = mailer(config, "status", "--format", "json", env=LATER)
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def test_a_missing_extra_folder_is_skipped_named_and_forgotten_once_it_scans(
    imap_user: ImapUser, tmp_path: Path
) -> None:
    load_history(imap_user)
    _one(imap_user, "Archive", 1)
    config = write_config(tmp_path, imap_user, folders={"extra": ["Nope", "Archive"]})

    out = mailer(config, "scan", user=imap_user, env=FIRST)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    (line,) = [x for x in out.stdout.splitlines() if "Nope" in x]
    assert line.startswith("Nope: skipped, it cannot be read: ") and "doesn't exist" in line
    assert "INBOX: 7 read" in out.stdout and "Sent: 4 read" in out.stdout
    assert "Archive: 1 read, 1 new" in out.stdout  # the folder after the missing one

    again = mailer(config, "scan", user=imap_user, env=LATER)
    assert again.returncode == 0, again.stderr
    status = mailer(config, "status", env=LATER)
    assert status.returncode == 0, status.stderr
    (line,) = [x for x in status.stdout.splitlines() if "Nope" in x]
    assert line.startswith("folder not scanned: Nope (imap:")
    assert "failing since 2026-11-01T08:00:00Z, last tried 2026-11-02T08:00:00Z" in line
    (fault,) = _status(config)["folder_faults"]  # type: ignore[misc]
    assert fault["folder"] == "Nope" and "doesn't exist" in fault["error"]

    preview = mailer(config, "digest", "preview", env=LATER)
    assert preview.returncode == 0, preview.stderr
    assert "- folder Nope is not scanned (since 1 November 2026)" in preview.stdout
    assert "1 folder not scanned" in preview.stdout.splitlines()[0]

    check = mailer(config, "check", user=imap_user)
    assert check.returncode == 0, check.stderr
    assert "  Nope: cannot be read, a scan skips it: " in check.stdout

    _one(imap_user, "Nope", 2)
    fixed = mailer(config, "scan", user=imap_user, env=LATER)
    assert fixed.returncode == 0, fixed.stderr
    assert "Nope: 1 read, 1 new" in fixed.stdout
    assert "folder not scanned" not in mailer(config, "status", env=LATER).stdout
    assert _status(config)["folder_faults"] == []


def test_a_dead_server_or_a_refused_login_is_no_folder_fault(
    imap_user: ImapUser, tmp_path: Path
) -> None:
    load_history(imap_user)
    config = write_config(tmp_path, imap_user, folders={"extra": ["Nope"]})
    refused = mailer(config, "scan", env={PASSWORD_ENV: "wrong", **FIRST})
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "refused the login" in refused.stderr
    assert _status(config)["folder_faults"] == []
    (tmp_path / "dead").mkdir()
    dead = write_config(
        tmp_path / "dead", imap_user, account={"port": 1}, folders={"extra": ["Nope"]}
    )
    down = mailer(dead, "scan", user=imap_user, env=FIRST)
    assert down.returncode == 1 and "cannot connect" in down.stderr
    assert _status(dead)["folder_faults"] == []


def test_a_folder_deleted_while_it_is_read_is_skipped(
    imap_user: ImapUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_history(imap_user)
    imap_user.write_maildir("Doomed", bulk(4500, contacts=200))
    _one(imap_user, "Later", 1)
    config = load(str(write_config(tmp_path, imap_user, folders={"extra": ["Doomed", "Later"]})))
    monkeypatch.setenv(PASSWORD_ENV, imap_user.password)
    deleted = []

    def progress(folder: str, done: int, total: int) -> None:
        if folder == "Doomed" and done and not deleted:  # after its first 2,000
            with imap_user.connect() as other:
                other.delete_folder("Doomed")
            deleted.append(done)

    with App(config).imap_source() as source:
        report = App(config).scan(source, clock.now(), progress=progress)
        assert source.list_folders()  # the connection the server dropped was replaced
    assert deleted == [2000]
    doomed, later = report.folders[2:]
    assert doomed.error and "'Doomed' was deleted while it was read" in doomed.error
    assert doomed.fetched == 2000  # what was read before is kept
    assert later.error is None and later.fetched == 1
    assert [f.folder for f in report.faults] == ["Doomed"]
    faults = Store(config.store_path).meta_get(FOLDER_FAULTS)
    assert [key.split("\t")[1] for key in faults] == ["Doomed"]


def test_the_daemon_applies_command_mail_after_a_folder_fault(
    imap_user: ImapUser, tmp_path: Path
) -> None:
    inbox, sent = history()
    imap_user.append("INBOX", [*inbox, command_mail("snooze anna@a.example 2w", n=1)])
    imap_user.append("Sent", sent)
    config = write_config(
        tmp_path,
        imap_user,
        commands={"address": ADDRESS},
        folders={"extra": ["Nope"]},
        rules={"jitter": "0d", "weekdays_only": False},
    )
    env = {"MAILER_NOW": "2026-03-04T09:00:00Z"}
    out = mailer(config, "run", "--once", user=imap_user, env=env)
    assert out.returncode == 0, out.stderr
    assert "scan: folder Nope skipped: " in out.stderr
    for job in ("scan ok", "drafts ok"):
        assert job in out.stderr, out.stderr
    rows = mailer(config, "contacts", "list", "--all", "--format", "json", env=env)
    anna = {r["email"]: r for r in json.loads(rows.stdout)}["anna@a.example"]
    assert anna["snoozed_until"] == "2026-03-18T08:00:00Z"  # the command mail was applied
    status = json.loads(mailer(config, "status", "--format", "json", env=env).stdout)
    assert status["jobs"]["scan"]["last_error"] is None
    assert [f["folder"] for f in status["folder_faults"]] == ["Nope"]
