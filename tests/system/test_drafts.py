"""Rules and drafts end to end: a mailbox whose history we control, a real Dovecot,
`mailer due` at a given MAILER_NOW, and drafts read back from the Drafts folder."""

from __future__ import annotations

import email
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from email import policy
from pathlib import Path

import pytest

from tests.support.clock import NOW
from tests.support.dovecot import Dovecot, ImapUser
from tests.support.scanhelp import PASSWORD_ENV, mail_in, mail_out, mailer, write_config

ENV = {"MAILER_NOW": "2026-03-04T09:00:00Z"}


def _date(when: datetime) -> str:
    return email.utils.format_datetime(when)


def history() -> tuple[list[bytes], list[bytes]]:
    """Inbox and Sent of seven people, each with a story for the rules."""
    days = lambda n: NOW - timedelta(days=n)  # noqa: E731
    inbox, sent = [], []
    # anna (tier inner, 30d): last contact 45 days ago -> reconnect, 15 days overdue
    # bert (tier network, 90d): last 100 days ago -> reconnect, 10 days overdue
    # cleo (tier network): last 50 days ago -> not due
    # gabi (tier inner, snoozed): last 60 days ago -> not due while snoozed
    # fred (tier inner, weeded): never listed
    for name, addr, last in (
        ("Anna Berg", "anna@a.example", 45),
        ("Bert Kim", "bert@b.example", 100),
        ("Cleo Ray", "cleo@c.example", 50),
        ("Gabi Roth", "gabi@g.example", 60),
        ("Fred Uhl", "fred@f.example", 70),
    ):
        for k, ago in enumerate((last + 300, last + 200, last)):
            inbox.append(mail_in(name, addr, days(ago + 1), k))
            sent.append(mail_out(addr, days(ago), k))
    # dora: a new contact, one exchange 20 days ago -> seed follow-up (14d), 6 days overdue
    inbox.append(mail_in("Dora Lux", "dora@d.example", days(21), 1))
    sent.append(mail_out("dora@d.example", days(20), 1))
    # emil: we wrote 40 days ago, he answered 10 days ago -> reply owed (7d)
    sent.append(mail_out("emil@e.example", days(40), 0))
    inbox.append(mail_in("Emil Vos", "emil@e.example", days(10), 1))
    return inbox, sent


@pytest.fixture
def setup(imap_user: ImapUser, tmp_path: Path) -> tuple[ImapUser, Path]:
    return _set_up(imap_user, tmp_path)


def _set_up(imap_user: ImapUser, tmp_path: Path) -> tuple[ImapUser, Path]:
    inbox, sent = history()
    imap_user.append("INBOX", inbox)
    imap_user.append("Sent", sent)
    config = write_config(
        tmp_path,
        imap_user,
        rules={
            "default_cadence": "90d",
            "max_drafts_per_day": 5,
            "weekdays_only": True,
            "timezone": "Europe/Berlin",
            "jitter": "0d",
        },
        **{"rules.tiers": {"inner": "30d", "network": "90d"}},
    )
    run = lambda *a: mailer(config, *a, user=imap_user, env=ENV)  # noqa: E731
    assert run("scan").returncode == 0
    for who, tier in (
        ("anna@a.example", "inner"),
        ("bert@b.example", "network"),
        ("cleo@c.example", "network"),
        ("gabi@g.example", "inner"),
        ("fred@f.example", "inner"),
    ):
        assert run("contacts", "set", who, "--tier", tier).returncode == 0
    assert run("contacts", "set", "gabi@g.example", "--snooze", "2w").returncode == 0
    assert run("contacts", "set", "fred@f.example", "--status", "weeded").returncode == 0
    return imap_user, config


def due(config: Path, user: ImapUser, env: dict[str, str] = ENV) -> list[dict]:
    out = mailer(config, "due", "--format", "json", user=user, env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def drafts_in_folder(user: ImapUser) -> list[tuple[set, email.message.EmailMessage]]:
    with user.connect() as c:
        c.select_folder("Drafts", readonly=True)
        rows = c.fetch(c.search(["ALL"]), ["FLAGS", "RFC822"])
    return [
        (set(r[b"FLAGS"]), email.message_from_bytes(r[b"RFC822"], policy=policy.default))
        for r in rows.values()
    ]


def test_due_lists_exactly_who_the_rules_make_due(setup: tuple[ImapUser, Path]) -> None:
    user, config = setup
    items = due(config, user)
    assert [(i["kind"], i["email"], i["overdue_days"], i["draft"]) for i in items] == [
        ("reconnect", "anna@a.example", 15, True),
        ("reconnect", "bert@b.example", 10, True),
        ("seed", "dora@d.example", 6, True),
        ("reply_owed", "emil@e.example", 3, False),
    ]
    assert "cadence 30d" in items[0]["reason"] and "tier inner" in items[0]["reason"]
    assert items[3]["hold"]
    # When the snooze ends, gabi is due too (60 - 30 = 30 days overdue, first).
    later = due(config, user, {"MAILER_NOW": "2026-03-19T09:00:00Z"})
    assert later[0]["email"] == "gabi@g.example"
    # On a Saturday in Berlin nothing is drafted; the plan says why.
    weekend = due(config, user, {"MAILER_NOW": "2026-03-07T09:00:00Z"})
    assert all(not i["draft"] for i in weekend) and "weekend" in weekend[0]["hold"]
    contacts = {
        r["email"]: r
        for r in json.loads(
            mailer(config, "contacts", "list", "--all", "--format", "json", env=ENV).stdout
        )
    }
    assert contacts["anna@a.example"]["status"] == "active"
    assert contacts["fred@f.example"]["status"] == "weeded"
    assert contacts["dora@d.example"]["status"] == "seed"
    # cleo: last contact 13 January 09:00 UTC + 90 days (jitter off)
    assert contacts["cleo@c.example"]["next_due"] == "2026-04-13T09:00:00Z"


def test_drafts_run_writes_one_draft_per_due_contact(setup: tuple[ImapUser, Path]) -> None:
    user, config = setup
    dry = mailer(config, "drafts", "run", "--dry-run", user=user, env=ENV)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.count("would write") == 3 and not drafts_in_folder(user)
    out = mailer(config, "drafts", "run", user=user, env=ENV)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("written") == 3
    found = drafts_in_folder(user)
    assert sorted(str(m["To"]) for _, m in found) == [
        "Anna Berg <anna@a.example>",
        "Bert Kim <bert@b.example>",
        "Dora Lux <dora@d.example>",
    ]
    for flags, m in found:
        assert b"\\Draft" in flags
        assert str(m["From"]) == "Pat Doe <me@example.org>"
        key = str(m["X-Mailer-Draft-Key"])
        assert key.split(":")[1] == m["To"].addresses[0].addr_spec
        assert m["Message-ID"] and m["Subject"]
        body = m.get_body(("plain",)).get_content()
        first = str(m["To"].addresses[0].display_name).split()[0]
        assert first in body and "Pat" in body
    # A rerun writes nothing more, and the contacts are not due again this cycle.
    again = mailer(config, "drafts", "run", user=user, env=ENV)
    assert again.returncode == 0 and "written" not in again.stdout
    assert len(drafts_in_folder(user)) == 3
    assert [i["kind"] for i in due(config, user)] == ["reply_owed"]


def test_a_lost_store_never_makes_a_second_copy(setup: tuple[ImapUser, Path]) -> None:
    user, config = setup
    assert mailer(config, "drafts", "run", user=user, env=ENV).returncode == 0
    store = config.parent / "mailer.json"
    store.unlink()
    assert mailer(config, "scan", user=user, env=ENV).returncode == 0
    for who, tier in (("anna@a.example", "inner"), ("bert@b.example", "network")):
        mailer(config, "contacts", "set", who, "--tier", tier, env=ENV)
    out = mailer(config, "drafts", "run", user=user, env=ENV)
    assert out.returncode == 0, out.stderr
    assert "already there" in out.stdout and "written" not in out.stdout
    keys = Counter(str(m["X-Mailer-Draft-Key"]) for _, m in drafts_in_folder(user))
    assert len(keys) == 3 and set(keys.values()) == {1}


def test_sent_draft_restarts_the_cadence(setup: tuple[ImapUser, Path]) -> None:
    user, config = setup
    assert mailer(config, "drafts", "run", user=user, env=ENV).returncode == 0
    # The owner sends the draft to Anna an hour later: the Sent scan sees it.
    user.append("Sent", [mail_out("anna@a.example", NOW + timedelta(hours=1), 99)])
    later = {"MAILER_NOW": "2026-03-04T12:00:00Z"}
    assert mailer(config, "scan", user=user, env=later).returncode == 0
    anna = json.loads(
        mailer(config, "contacts", "show", "anna", "--format", "json", env=later).stdout
    )[0]
    assert anna["last_outbound"] == "2026-03-04T10:00:00Z"
    assert anna["next_due"] == "2026-04-03T10:00:00Z"  # 30 days after the mail she got


def test_template_error_writes_nothing(setup: tuple[ImapUser, Path], tmp_path: Path) -> None:
    user, config = setup
    mine = tmp_path / "tpl"
    mine.mkdir()
    (mine / "reconnect.j2").write_text('{% set subject = "Hi" %}\nHello {{ contact.nmae }}\n')
    text = config.read_text() + f'\n[drafts]\ntemplates_dir = "{mine}"\n'
    config.write_text(text)
    out = mailer(config, "drafts", "run", user=user, env=ENV)
    assert out.returncode == 2
    err = out.stderr.strip()
    assert "\n" not in err and "reconnect.j2" in err and "line 2" in err, err
    assert not drafts_in_folder(user)


def many_due(imap_user: ImapUser, tmp_path: Path, count: int) -> Path:
    """A config whose store has `count` active contacts, all due for a reconnect draft now."""
    people = [(f"Person {k}", f"p{k}@people.example") for k in range(count)]
    imap_user.append(
        "INBOX",
        [mail_in(n, a, NOW - timedelta(days=200 + k), k) for k, (n, a) in enumerate(people)],
    )
    imap_user.append(
        "Sent", [mail_out(a, NOW - timedelta(days=199 + k), k) for k, (n, a) in enumerate(people)]
    )
    config = write_config(
        tmp_path,
        imap_user,
        rules={"max_drafts_per_day": 100, "weekdays_only": False, "jitter": "0d"},
    )
    assert mailer(config, "scan", user=imap_user, env=ENV).returncode == 0
    for _, a in people:
        mailer(config, "contacts", "set", a, "--status", "active", env=ENV)
    return config


@pytest.mark.slow
def test_kill_9_during_drafts_never_leaves_two_copies(imap_user: ImapUser, tmp_path: Path) -> None:
    config = many_due(imap_user, tmp_path, 40)
    env = {**os.environ, **ENV, PASSWORD_ENV: imap_user.password}
    rng = random.Random(7)
    for _ in range(12):
        proc = subprocess.Popen(
            [sys.executable, "-m", "mailer", "--config", str(config), "drafts", "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.15, 0.9))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        keys = Counter(str(m["X-Mailer-Draft-Key"]) for _, m in drafts_in_folder(imap_user))
        assert not keys or max(keys.values()) == 1
    out = mailer(config, "drafts", "run", user=imap_user, env=ENV)
    assert out.returncode == 0, out.stderr
    keys = Counter(str(m["X-Mailer-Draft-Key"]) for _, m in drafts_in_folder(imap_user))
    assert len(keys) == 40 and set(keys.values()) == {1}
    assert due(config, imap_user) == []


def test_drafts_runs_at_the_same_time_write_each_draft_once(
    imap_user: ImapUser, tmp_path: Path
) -> None:
    """The daemon's drafts job and a `mailer drafts run` by hand, at once: one copy each."""
    config = many_due(imap_user, tmp_path, 60)
    env = {**os.environ, **ENV, PASSWORD_ENV: imap_user.password}
    cmd = [sys.executable, "-m", "mailer", "--config", str(config), "drafts", "run"]
    runs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    for proc in runs:
        proc.communicate(timeout=120)
        assert proc.returncode == 0
    keys = Counter(str(m["X-Mailer-Draft-Key"]) for _, m in drafts_in_folder(imap_user))
    assert len(keys) == 60 and set(keys.values()) == {1}


def _drafts_written(user: ImapUser) -> list[tuple[str, str, str]]:
    return sorted(
        (str(m["To"]), str(m["Subject"]), m.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        for _, m in drafts_in_folder(user)
    )


def test_drafts_run_does_what_the_daemons_drafts_job_does(
    dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One mailbox twice: `mailer drafts run` by hand, and the daemon's drafts job. Anna
    answered after the last scan: both scan first, so neither drafts her."""
    from mailer import jobs
    from mailer.app import App
    from mailer.config import load

    (tmp_path / "hand").mkdir()
    (tmp_path / "daemon").mkdir()
    by_hand, config_a = _set_up(dovecot.new_account(), tmp_path / "hand")
    daemon, config_b = _set_up(dovecot.new_account(), tmp_path / "daemon")
    for user in (by_hand, daemon):
        user.append("INBOX", [mail_in("Anna Berg", "anna@a.example", NOW - timedelta(days=1), 9)])

    out = mailer(config_a, "drafts", "run", user=by_hand, env=ENV)
    assert out.returncode == 0, out.stderr
    monkeypatch.setenv(PASSWORD_ENV, daemon.password)
    jobs.drafts_job(App(load(str(config_b)))).run(NOW)

    written = _drafts_written(by_hand)
    assert written == _drafts_written(daemon)
    assert [to for to, _, _ in written] == [
        "Bert Kim <bert@b.example>",
        "Dora Lux <dora@d.example>",
    ]
