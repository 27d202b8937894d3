"""Command mail end to end: mails in a real Dovecot INBOX, `mailer commands run`,
then the store (`mailer contacts list`), the records (`mailer commands list`)
and the folders (INBOX emptied of command mail, the processed folder filled)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.clock import NOW
from tests.support.dovecot import ImapUser
from tests.support.scanhelp import PASSWORD_ENV, mailer, raw, write_config

ENV = {"MAILER_NOW": "2026-03-04T09:00:00Z"}
ADDRESS = "me+mailer-k3x9q2@example.org"
ME = "Pat Doe <me@example.org>"
PROCESSED = "mailer-processed"

PEOPLE = (
    ("Anna Berg", "anna@a.example"),
    ("Bert Kim", "bert@b.example"),
    ("Zoë Müller", "zoe@z.example"),
    ("Anna Klein", "klein@k.example"),
)


def _date(when: datetime) -> str:
    return format_datetime(when)


def history() -> tuple[list[bytes], list[bytes]]:
    inbox, sent = [], []
    for n, (name, addr) in enumerate(PEOPLE):
        when = NOW - timedelta(days=40 + n)
        inbox.append(
            raw(
                f"From: {name} <{addr}>\nTo: {ME}\nSubject: hello {n}\n"
                f"Date: {_date(when)}\nMessage-ID: <in{n}@test>"
            )
        )
        sent.append(
            raw(
                f"From: {ME}\nTo: {name} <{addr}>\nSubject: Re: hello {n}\n"
                f"Date: {_date(when + timedelta(hours=2))}\nMessage-ID: <out{n}@test>"
            )
        )
    return inbox, sent


def command_mail(
    body: str,
    *,
    sender: str = ME,
    to: str = ADDRESS,
    subject: str = "mailer",
    extra: str = "",
    n: int = 0,
    html: bool = False,
) -> bytes:
    headers = (
        f"From: {sender}\nTo: {to}\nSubject: {subject}\nDate: {_date(NOW - timedelta(hours=1))}\n"
        f"Message-ID: <cmd{n}.{random.random()}@test>\nMIME-Version: 1.0\n"
        + (
            "Content-Type: text/html; charset=utf-8\n"
            if html
            else "Content-Type: text/plain; charset=utf-8\n"
        )
        + "Content-Transfer-Encoding: 8bit\n"
        + extra
    )
    return (
        headers.strip().replace("\n", "\r\n") + "\r\n\r\n" + body.replace("\n", "\r\n")
    ).encode()


@pytest.fixture
def account(imap_user: ImapUser, tmp_path: Path) -> tuple[ImapUser, Path]:
    inbox, sent = history()
    imap_user.append("INBOX", inbox)
    imap_user.append("Sent", sent)
    config = write_config(tmp_path, imap_user, commands={"address": ADDRESS})
    scanned = mailer(config, "scan", user=imap_user, env=ENV)
    assert scanned.returncode == 0, scanned.stderr
    return imap_user, config


def run_commands(user: ImapUser, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = mailer(config, "commands", "run", *args, user=user, env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def contacts(user: ImapUser, config: Path) -> dict[str, dict[str, Any]]:
    result = mailer(config, "contacts", "list", "--all", "--format", "json", user=user, env=ENV)
    assert result.returncode == 0, result.stderr
    return {row["email"]: row for row in json.loads(result.stdout)}


def records(user: ImapUser, config: Path) -> list[dict[str, Any]]:
    result = mailer(config, "commands", "list", "--format", "json", user=user, env=ENV)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def folder_count(user: ImapUser, folder: str) -> int:
    with user.connect() as c:
        if not c.folder_exists(folder):
            return 0
        return int(c.select_folder(folder, readonly=True)[b"EXISTS"])


def inbox_subjects(user: ImapUser) -> list[str]:
    with user.connect() as c:
        c.select_folder("INBOX", readonly=True)
        uids = c.search(["ALL"])
        rows = c.fetch(uids, [b"BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]) if uids else {}
    return sorted(
        row[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().strip().removeprefix("Subject: ")
        for row in rows.values()
    )


QUOTED = (
    "Thanks, noted.\n\nOn Tue, 3 Mar 2026 at 08:00, Pat Doe <me@example.org> wrote:\n"
    "> weed bert@b.example\n> ignore anna@a.example\n"
)

# (case, mail, accepted?, reason fragment)
CASES = [
    (
        "owner",
        command_mail("snooze anna@a.example 2w\ntag bert ai, berlin", n=1),
        True,
        "from me@example.org",
    ),
    (
        "stranger",
        command_mail("weed anna@a.example", sender="Eve <eve@evil.example>", n=2),
        False,
        "sender not allowed: eve@evil.example",
    ),
    (
        "look-alike",
        command_mail("weed anna@a.example", sender="Pat Doe <me@examp1e.org>", n=3),
        False,
        "sender not allowed: me@examp1e.org",
    ),
    (
        "wrong tag",
        command_mail("weed anna@a.example", to="me+mailer-zzzzzz@example.org", n=4),
        False,
        "sent to me+mailer-zzzzzz@example.org",
    ),
    (
        "two senders",
        command_mail("weed anna@a.example", sender="me@example.org, eve@evil.example", n=5),
        False,
        "more than one From",
    ),
    ("quoted", command_mail(QUOTED, subject="Re: mailer digest", n=6), True, "from me@example.org"),
]


def test_owner_commands_apply_and_everything_else_is_refused(
    account: tuple[ImapUser, Path],
) -> None:
    user, config = account
    ordinary = raw(
        f"From: Anna Berg <anna@a.example>\nTo: {ME}\nSubject: lunch?\n"
        f"Date: {_date(NOW)}\nMessage-ID: <lunch@test>"
    )
    user.append("INBOX", [mail for _, mail, _, _ in CASES] + [ordinary])

    out = run_commands(user, config).stdout
    assert "refused mail from eve@evil.example" in out

    by_subject = {}
    got = records(user, config)
    assert len(got) == len(CASES)
    for (case, _mail, accepted, reason), rec in zip(CASES, got, strict=True):
        assert (rec["kind"] != "refused") == accepted, case
        assert reason in rec["reason"], (case, rec["reason"])
        by_subject[case] = rec

    people = contacts(user, config)
    assert people["anna@a.example"]["snoozed_until"] == "2026-03-18T08:00:00Z"  # mail date + 2w
    assert people["bert@b.example"]["tags"] == ["ai", "berlin"]
    # nothing a refused or quoted line asked for happened
    assert all(p["status"] not in ("weeded", "ignored") for p in people.values())
    quoted = by_subject["quoted"]["lines"]
    assert [line["ok"] for line in quoted] == [False] and "no command found" in quoted[0]["result"]
    # refused mail says nothing of its content back
    assert all(r["lines"] == [] for r in got if r["kind"] == "refused")

    # every command mail left INBOX for the processed folder; the ordinary one stayed
    assert inbox_subjects(user) == ["hello 0", "hello 1", "hello 2", "hello 3", "lunch?"]
    assert folder_count(user, PROCESSED) == len(CASES)

    status = mailer(config, "status", user=user, env=ENV).stdout
    assert f"command mails: {len(CASES)} handled, 4 refused" in status
    assert "refused" in status and "eve@evil.example: sender not allowed" in status

    # a rerun finds nothing and changes nothing
    assert run_commands(user, config).stdout.strip() == "no command mail"
    assert len(records(user, config)) == len(CASES)


def _auth(result: str) -> str:
    return f"Authentication-Results: mx.example.org; {result}\n"


@pytest.mark.parametrize(
    ("case", "extra", "accepted", "reason"),
    [
        ("dkim pass", _auth("dkim=pass header.d=example.org; spf=none"), True, "DKIM/SPF pass"),
        ("spf pass", _auth("spf=pass smtp.mailfrom=me@example.org"), True, "DKIM/SPF pass"),
        (
            "dkim fail",
            _auth("dkim=fail header.d=example.org; spf=fail smtp.mailfrom=me@example.org"),
            False,
            "did not pass",
        ),
        ("other domain", _auth("dkim=pass header.d=evil.example"), False, "did not pass"),
        ("missing", "", False, "no Authentication-Results"),
    ],
)
def test_require_dkim(
    account: tuple[ImapUser, Path],
    tmp_path: Path,
    case: str,
    extra: str,
    accepted: bool,
    reason: str,
) -> None:
    user, _ = account
    config = write_config(
        tmp_path,
        user,
        commands={"address": ADDRESS, "require_dkim": True, "authserv_id": "mx.example.org"},
    )
    user.append("INBOX", [command_mail("weed klein@k.example", extra=extra)])
    run_commands(user, config)
    (rec,) = records(user, config)
    assert (rec["kind"] != "refused") == accepted
    assert reason in rec["reason"]
    assert (contacts(user, config)["klein@k.example"]["status"] == "weeded") == accepted


GMAIL_HTML = (
    '<div dir="ltr">tag Zoë Müller design<br>trust zoe 3</div><br>'
    '<div class="gmail_quote"><div class="gmail_attr">On Tue, Mar 3, 2026 at 8:00 AM '
    "Pat Doe &lt;me@example.org&gt; wrote:<br></div>"
    '<blockquote class="gmail_quote">weed zoe@z.example<br>ignore anna@a.example</blockquote></div>'
)
OUTLOOK = (
    "note anna@a.example met at the conference, wants the deck\r\n\r\n"
    "Pat Doe\r\nSent from Outlook\r\n\r\n"
    "________________________________\r\nFrom: mailer <me@example.org>\r\n"
    "Sent: Tuesday, March 3, 2026 8:00 AM\r\nTo: me+mailer-k3x9q2@example.org\r\n"
    "Subject: mailer digest\r\n\r\n    weed anna@a.example\r\n    ignore bert@b.example\r\n"
)
APPLE = (
    "log Anna Berg coffee at Oberholz\n\n"
    "> On 3. Mar 2026, at 08:00, Pat Doe <me@example.org> wrote:\n>\n> weed anna@a.example\n"
)


def test_client_shaped_replies_apply_only_the_new_lines(account: tuple[ImapUser, Path]) -> None:
    user, config = account
    user.append(
        "INBOX",
        [
            command_mail(GMAIL_HTML, subject="Re: mailer digest", html=True, n=1),
            command_mail(OUTLOOK, subject="RE: mailer digest", n=2),
            command_mail(APPLE, subject="Re: mailer digest", n=3),
        ],
    )
    run_commands(user, config)
    people = contacts(user, config)
    assert people["zoe@z.example"]["tags"] == ["design"]
    assert people["zoe@z.example"]["trust"] == 3
    assert "met at the conference, wants the deck" in people["anna@a.example"]["notes"]
    assert people["anna@a.example"]["last_logged"] == "2026-03-04T08:00:00Z"
    assert people["anna@a.example"]["last_contact"] == "2026-03-04T08:00:00Z"
    assert all(p["status"] not in ("weeded", "ignored") for p in people.values())
    assert [sum(line["ok"] for line in r["lines"]) for r in records(user, config)] == [2, 1, 1]


FORWARD = (
    "log carl@c.example he asked for an intro\n\n"
    "---------- Forwarded message ---------\n"
    "From: Carl Dunn <carl@c.example>\n"
    "Date: Sun, Feb 1, 2026 at 10:30 AM\n"
    "Subject: Your talk\n"
    "To: Pat Doe <me@example.org>\n\n"
    "Loved the talk. Could we meet?\n"
)


def test_forward_to_log_records_the_original_sender_and_date_once(
    account: tuple[ImapUser, Path],
) -> None:
    user, config = account
    mail = command_mail(FORWARD, subject="Fwd: Your talk")
    user.append("INBOX", [mail, mail])  # delivered twice: one mail, applied once
    run_commands(user, config)
    carl = contacts(user, config)["carl@c.example"]
    assert carl["name"] == "Carl Dunn"
    assert carl["last_inbound"] == "2026-02-01T10:30:00Z"
    assert carl["messages_in"] == 1
    assert carl["last_logged"] == "2026-03-04T08:00:00Z"  # the log line, after the forward
    (rec,) = records(user, config)
    assert rec["kind"] == "forward"
    assert [line["ok"] for line in rec["lines"]] == [True, True]
    assert folder_count(user, PROCESSED) == 2

    # the same mail again later (another Message-ID, same forward): counted once still
    user.append("INBOX", [command_mail(FORWARD, subject="Fwd: Your talk", n=9)])
    run_commands(user, config)
    assert contacts(user, config)["carl@c.example"]["messages_in"] == 1


def test_bcc_to_log_counts_the_mail_once_with_the_sent_scan(account: tuple[ImapUser, Path]) -> None:
    user, config = account
    sent_at = NOW - timedelta(days=2)
    copy = raw(
        f"From: {ME}\nTo: Dora Lux <dora@d.example>\nCc: Bert Kim <bert@b.example>\n"
        f"Subject: next steps\nDate: {_date(sent_at)}\nMessage-ID: <bcc1@test>\n"
        f"Delivered-To: {ADDRESS}",
        body="log anna@a.example this line is for Dora, not for mailer\r\n",
    )
    user.append("INBOX", [copy])
    run_commands(user, config)
    people = contacts(user, config)
    assert people["dora@d.example"]["last_outbound"] == "2026-03-02T09:00:00Z"
    assert people["dora@d.example"]["messages_out"] == 1
    assert people["bert@b.example"]["messages_out"] == 2
    assert people["anna@a.example"]["last_logged"] is None  # a Bcc'd mail runs no command
    (rec,) = records(user, config)
    assert rec["kind"] == "bcc_log"
    assert "dora@d.example" in rec["lines"][0]["result"]

    # the Sent folder holds the same mail: the next scan does not count it again
    user.append("Sent", [copy.replace(f"Delivered-To: {ADDRESS}\r\n".encode(), b"")])
    assert mailer(config, "scan", user=user, env=ENV).returncode == 0
    people = contacts(user, config)
    assert people["dora@d.example"]["messages_out"] == 1
    assert people["bert@b.example"]["messages_out"] == 2


def test_dry_run_changes_and_moves_nothing(account: tuple[ImapUser, Path]) -> None:
    user, config = account
    user.append("INBOX", [command_mail("weed bert@b.example")])
    out = run_commands(user, config, "--dry-run").stdout
    assert "would apply" in out and "bert@b.example: weeded" in out
    assert contacts(user, config)["bert@b.example"]["status"] != "weeded"
    assert records(user, config) == []
    assert folder_count(user, PROCESSED) == 0


def test_without_a_command_address_it_says_what_to_set(imap_user: ImapUser, tmp_path: Path) -> None:
    config = write_config(tmp_path, imap_user)
    result = mailer(config, "commands", "run", user=imap_user, env=ENV)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("mailer: error: commands.address is not set (add it under [commands]")
    assert "Traceback" not in result.stderr


def test_kill_9_at_any_moment_never_applies_a_mail_twice(account: tuple[ImapUser, Path]) -> None:
    """Each mail appends one numbered line to a note: a second application would show.

    With undo records: a first mail sets a trust and a last one undoes it by
    mail (once: its record marks the first undone in the same transaction),
    and each note mail's record holds its own line exactly (the newest undone
    by the CLI takes away that line and no other).
    """
    from mailer.core.apply import mail_key
    from mailer.core.mailtext import read_mail
    from mailer.model import record_id

    user, config = account
    n = 300
    trust_before = contacts(user, config)["bert@b.example"]["trust"]
    trust = command_mail("trust bert@b.example 3", n=1000)
    trust_id = record_id(mail_key(read_mail(trust)))  # handled first: no other id to avoid
    notes = [command_mail(f"note anna@a.example line {i:03d}", n=i) for i in range(n)]
    user.append("INBOX", [trust, *notes, command_mail(f"undo {trust_id}", n=1001)])
    rng = random.Random(4)
    kills = 0
    env = {**ENV, PASSWORD_ENV: user.password}

    for _ in range(15):
        proc = subprocess.Popen(
            [sys.executable, "-m", "mailer", "--config", str(config), "commands", "run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **env},
        )
        time.sleep(rng.uniform(0.25, 0.8))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    started = time.monotonic()
    run_commands(user, config)
    print(f"{kills} kills; the last run took {time.monotonic() - started:.2f} s")
    assert kills >= 3, "the kills must land while mail is being handled"

    lines = contacts(user, config)["anna@a.example"]["notes"].splitlines()
    assert sorted(lines) == [f"2026-03-04: line {i:03d}" for i in range(n)]
    rows = records(user, config)
    assert len(rows) == n + 2 and len({r["id"] for r in rows}) == n + 2
    assert folder_count(user, "INBOX") == len(PEOPLE)
    assert folder_count(user, PROCESSED) == n + 2

    (undid,) = [r for r in rows if r["undoes"]]
    assert undid["undoes"] == [trust_id] and undid["lines"][0]["ok"]
    (first,) = [r for r in rows if r["id"] == trust_id]
    assert first["undone_by"] == f"mail {undid['id']}"
    assert contacts(user, config)["bert@b.example"]["trust"] == trust_before
    said = "note anna@a.example " + lines[-1].removeprefix("2026-03-04: ")
    (newest,) = [r for r in rows if r["lines"][0]["line"] == said]
    undone = mailer(config, "commands", "undo", newest["id"], user=user, env=ENV)
    assert undone.returncode == 0, undone.stderr
    assert contacts(user, config)["anna@a.example"]["notes"].splitlines() == lines[:-1]


def test_confirmation_goes_to_the_owner_by_smtp_and_never_to_a_stranger(
    account: tuple[ImapUser, Path], tmp_path: Path
) -> None:
    try:
        from tests.support import smtpserver
    except ImportError as e:  # aiosmtpd is a test extra
        from tests.support.servers import require_or_skip

        require_or_skip(f"aiosmtpd is not installed: {e}")
    from email import policy
    from email.parser import BytesParser

    user, _ = account
    with smtpserver.SmtpServer() as server:
        config = write_config(
            tmp_path,
            user,
            commands={"address": ADDRESS},
            smtp={"host": "127.0.0.1", "port": server.port, "security": "none"},
        )
        mine = command_mail(
            "trust anna@a.example 2\ntier nobody inner", subject="from the train", n=1
        )
        theirs = command_mail("weed anna@a.example", sender="Eve <eve@evil.example>", n=2)
        user.append("INBOX", [mine, theirs])
        run_commands(user, config)
        run_commands(user, config)  # nothing left: nothing more is sent

        (got,) = server.handler.received
    assert got.rcpt_tos == ["me@example.org"]
    msg = BytesParser(policy=policy.default).parsebytes(got.content)
    assert msg["To"] == "me@example.org"
    assert msg["Reply-To"] == ADDRESS
    assert msg["Subject"] == "mailer: 1 applied, 1 not (from the train)"
    assert msg["In-Reply-To"] == BytesParser(policy=policy.default).parsebytes(mine)["Message-ID"]
    body = msg.get_content()
    assert "trust anna@a.example 2" in body and "anna@a.example: trust 2" in body
    assert "NOT  tier nobody inner" in body and "no contact named 'nobody'" in body
    confirmed = [r["confirmed"] for r in records(user, config)]
    assert confirmed == ["sent", None]  # the refused mail is never answered


def test_too_large_mail_is_refused_unread_and_a_bad_folder_is_a_config_error(
    account: tuple[ImapUser, Path], tmp_path: Path
) -> None:
    user, _ = account
    config = write_config(tmp_path, user, commands={"address": ADDRESS, "max_size_kb": 1})
    user.append("INBOX", [command_mail("weed anna@a.example\n" + "x" * 3000)])
    run_commands(user, config)
    (rec,) = records(user, config)
    assert rec["kind"] == "refused" and rec["reason"].startswith("too large (")
    assert contacts(user, config)["anna@a.example"]["status"] != "weeded"

    bad = write_config(tmp_path, user, commands={"address": ADDRESS, "processed_folder": "INBOX"})
    result = mailer(bad, "commands", "run", user=user, env=ENV)
    assert result.returncode == 2
    assert result.stderr.startswith("mailer: error: commands.processed_folder is the inbox")


def test_an_attached_forward_of_a_scanned_mail_counts_once(account: tuple[ImapUser, Path]) -> None:
    """Forwarded as an attachment, the original keeps its Message-ID: the scan's key."""
    user, config = account
    original = raw(
        f"From: Hana Ito <hana@h.example>\nTo: {ME}\nSubject: intro?\n"
        f"Date: {_date(NOW - timedelta(days=3))}\nMessage-ID: <orig-hana@test>"
    )
    user.append("INBOX", [original])
    assert mailer(config, "scan", user=user, env=ENV).returncode == 0
    boundary = "b0undary"
    body = (
        f"--{boundary}\nContent-Type: text/plain; charset=utf-8\n\ntag hana@h.example events\n"
        f"--{boundary}\nContent-Type: message/rfc822\n\n"
        + original.decode().replace("\r\n", "\n")
        + f"\n--{boundary}--\n"
    )
    mail = command_mail(body, subject="Fwd: intro?").replace(
        b"Content-Type: text/plain; charset=utf-8",
        f'Content-Type: multipart/mixed; boundary="{boundary}"'.encode(),
        1,
    )
    user.append("INBOX", [mail])
    run_commands(user, config)
    hana = contacts(user, config)["hana@h.example"]
    assert hana["messages_in"] == 1
    assert hana["last_inbound"] == "2026-03-01T09:00:00Z"
    assert hana["tags"] == ["events"]
    (rec,) = records(user, config)
    assert rec["kind"] == "forward"
    assert [line["ok"] for line in rec["lines"]] == [True, True]
