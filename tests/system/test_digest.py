"""The digest end to end: `mailer digest run` into a real Dovecot's Drafts, through a real
aiosmtpd, and back: the owner replies with the digest's lines and `mailer commands run`
applies them."""

from __future__ import annotations

import email
import email.utils
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from mailer import jobs
from mailer.app import App
from mailer.config import load
from mailer.core.mailtext import MARK
from mailer.store import Store
from tests.support.clock import DIGEST_NOW as NOW
from tests.support.dovecot import ImapUser
from tests.support.scanhelp import mail_in, mail_out, mailer, raw, utc, write_config, write_mbox
from tests.support.servers import require_or_skip

try:
    from tests.support import smtpserver
except ImportError as e:  # aiosmtpd is a test extra
    smtpserver = None  # type: ignore[assignment]
    MISSING = f"aiosmtpd is not installed: {e}"

ENV = {"MAILER_NOW": "2026-03-04T06:30:00Z"}
OWNER = "me@example.org"
COMMAND = "me+mailer-k3x9q2@example.org"
RULES = {"timezone": "Europe/Berlin", "jitter": "0d", "weekdays_only": True}
TIERS = {"inner": "30d", "network": "90d"}

# The lines the digest must offer for the history below (and that the owner replies with).
LINES = {
    "due": ["done anna@a.example", "snooze anna@a.example 2w"],
    "reply_owed": ["done emil@e.example"],
    "seeds": ["tier dora@d.example network", "tag dora@d.example <tags>", "ignore dora@d.example"],
    "weed": ["weed olaf@o.example", "snooze olaf@o.example 3m"],
}


def history() -> list[tuple[str, bytes, datetime]]:
    """(folder, message, date) of four people, one per section of the digest."""
    days = lambda n: NOW - timedelta(days=n)  # noqa: E731
    mail = []
    # anna (tier inner, 30d): last contact 45 days ago -> due
    # olaf (tier network): last exchange 400 days ago -> dormant, a weed candidate
    for name, addr, last in (
        ("Anna Berg", "anna@a.example", 45),
        ("Olaf Ek", "olaf@o.example", 400),
    ):
        for k, ago in enumerate((last + 300, last)):
            mail.append(("INBOX", mail_in(name, addr, days(ago + 1), k), days(ago + 1)))
            mail.append(("Sent", mail_out(addr, days(ago), k), days(ago)))
    # dora: new, one mail each way -> a new contact to sort (and a seed follow-up)
    mail.append(("INBOX", mail_in("Dora Lux", "dora@d.example", days(21), 1), days(21)))
    mail.append(("Sent", mail_out("dora@d.example", days(20), 1), days(20)))
    # emil: we wrote 40 days ago; he answered 10 days ago -> reply owed
    mail.append(("Sent", mail_out("emil@e.example", days(40), 0), days(40)))
    mail.append(("INBOX", mail_in("Emil Vos", "emil@e.example", days(10), 1), days(10)))
    return mail


def triage(config: Path, user: ImapUser | None = None) -> None:
    for who, tier in (("anna@a.example", "inner"), ("olaf@o.example", "network")):
        out = mailer(config, "contacts", "set", who, "--tier", tier, user=user, env=ENV)
        assert out.returncode == 0, out.stderr


def body_of(message: email.message.Message) -> str:
    assert isinstance(message, EmailMessage)
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")  # as fetched: CRLF


def assert_digest(message: EmailMessage) -> str:
    """The headers every digest has; returns its body."""
    assert message["Reply-To"] == COMMAND
    assert str(message["To"]) == f"Pat Doe <{OWNER}>"
    assert str(message["From"]) == f"Pat Doe <{OWNER}>"
    assert message["X-Mailer-Draft-Key"] == "digest:2026-03-04"
    # strip(): Python's folder may move a long subject to the next line, and its
    # parser then keeps the leading space
    subject = str(message["Subject"]).strip()
    assert subject.startswith("mailer digest, 4 March 2026: ")
    body = body_of(message)
    for lines in LINES.values():
        for line in lines:
            assert f"\n      {line}\n" in body, line
    return body


# --- as a draft, in a real Dovecot ------------------------------------------------------------


@pytest.fixture
def imap_setup(imap_user: ImapUser, tmp_path: Path) -> tuple[ImapUser, Path]:
    return scanned_and_triaged(imap_user, tmp_path)


def scanned_and_triaged(imap_user: ImapUser, tmp_path: Path) -> tuple[ImapUser, Path]:
    """The history below in Dovecot, scanned, and its new contacts sorted."""
    for folder in ("INBOX", "Sent"):
        items = [(m, d) for f, m, d in history() if f == folder]
        imap_user.append(folder, [m for m, _ in items], internaldates=[d for _, d in items])
    config = write_config(
        tmp_path,
        imap_user,
        rules=RULES,
        commands={"address": COMMAND},
        digest={"delivery": "draft"},
        **{"rules.tiers": TIERS},
    )
    assert mailer(config, "scan", user=imap_user, env=ENV).returncode == 0
    triage(config, imap_user)
    return imap_user, config


def drafts_in_folder(user: ImapUser) -> list[tuple[set[bytes], EmailMessage]]:
    with user.connect() as c:
        c.select_folder("Drafts", readonly=True)
        rows = c.fetch(c.search(["ALL"]), ["FLAGS", "RFC822"])
    out = []
    for r in rows.values():
        msg = email.message_from_bytes(r[b"RFC822"], policy=policy.default)
        assert isinstance(msg, EmailMessage)
        out.append((set(r[b"FLAGS"]), msg))
    return out


def test_digest_run_writes_one_draft_a_day(imap_setup: tuple[ImapUser, Path]) -> None:
    user, config = imap_setup
    dry = mailer(config, "digest", "run", "--dry-run", user=user, env=ENV)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("would write the digest of 2026-03-04 (")
    assert "      snooze anna@a.example 2w\n" in dry.stdout
    assert drafts_in_folder(user) == []

    out = mailer(config, "digest", "run", user=user, env=ENV)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(
        "wrote the digest of 2026-03-04 (3 due, 1 reply owed, 1 new contact, 1 to weed) in Drafts"
    )
    [(flags, message)] = drafts_in_folder(user)
    assert b"\\Draft" in flags
    assert_digest(message)

    # later the same local day: nothing more, and it says so
    again = mailer(config, "digest", "run", user=user, env={"MAILER_NOW": "2026-03-04T20:00:00Z"})
    assert again.returncode == 0, again.stderr
    assert "delivered already" in again.stdout
    assert len(drafts_in_folder(user)) == 1
    [record] = [d for d in Store(config.parent / "mailer.json").drafts() if d.kind == "digest"]
    assert record.key == "digest:2026-03-04" and record.folder == "Drafts"
    # the digest is no draft to a contact: it holds back no one's drafts
    due = json.loads(mailer(config, "due", "--format", "json", env=ENV).stdout)
    assert [i["email"] for i in due if i["draft"]] == [
        "anna@a.example",
        "dora@d.example",
        "olaf@o.example",  # a rekindle: olaf (tier network) is silent for 400 days
    ]


# --- by SMTP, to a real aiosmtpd --------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    if smtpserver is None:
        require_or_skip(MISSING)
    with smtpserver.SmtpServer() as server:
        yield server


def local_config(tmp_path: Path, smtp_port: int | None, **sections: dict[str, Any]) -> Path:
    """No IMAP account: the history comes from an mbox, drafts go to a local Maildir."""
    mbox = tmp_path / "history.mbox"
    write_mbox(mbox, history())
    values: dict[str, dict[str, Any]] = {
        "rules": RULES,
        "rules.tiers": TIERS,
        "commands": {"address": COMMAND},
        "drafts": {"maildir": str(tmp_path / "Drafts")},
    }
    if smtp_port is not None:
        values["smtp"] = {"host": "127.0.0.1", "port": smtp_port, "security": "none"}
    values.update(sections)
    config = write_config(tmp_path, None, **values)
    out = mailer(config, "import", "mbox", str(mbox), env=ENV)
    assert out.returncode == 0, out.stderr
    triage(config)
    return config


def test_digest_run_sends_one_mail_by_smtp(smtp_server: Any, tmp_path: Path) -> None:
    config = local_config(tmp_path, smtp_server.port)  # digest.delivery auto: smtp is set
    out = mailer(config, "digest", "run", env=ENV)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("sent the digest of 2026-03-04 (")
    assert out.stdout.rstrip().endswith(f"to {OWNER} by SMTP")
    [got] = smtp_server.handler.received
    assert got.mail_from == OWNER and got.rcpt_tos == [OWNER]
    message = email.message_from_bytes(got.content, policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = assert_digest(message)
    assert body.startswith(f"{MARK}\nHow to reply: reply to this mail")

    again = mailer(config, "digest", "run", env={"MAILER_NOW": "2026-03-04T21:00:00Z"})
    assert again.returncode == 0 and "delivered already (by SMTP" in again.stdout
    assert len(smtp_server.handler.received) == 1
    assert not (tmp_path / "Drafts").exists()


def test_two_runs_at_once_send_one_digest(smtp_server: Any, tmp_path: Path) -> None:
    """The daemon's digest job and `mailer digest run` at the same moment: one mail."""
    import os
    import subprocess
    import sys

    smtp_server.handler.delay = 1.5  # every run has read "not sent yet" before one finishes
    config = local_config(tmp_path, smtp_server.port)
    cmd = [sys.executable, "-m", "mailer", "--config", str(config), "digest", "run"]
    env = {**os.environ, **ENV}
    runs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=60)[0] for p in runs]
    assert all(p.returncode == 0 for p in runs), outs
    assert len(smtp_server.handler.received) == 1
    assert sum(o.startswith("sent the digest") for o in outs) == 1
    assert sum("delivered already" in o for o in outs) == 3


def test_without_a_command_address_the_digest_says_how_to_set_one_up(
    smtp_server: Any, tmp_path: Path
) -> None:
    config = local_config(tmp_path, smtp_server.port, commands={})
    assert mailer(config, "digest", "run", env=ENV).returncode == 0
    [got] = smtp_server.handler.received
    message = email.message_from_bytes(got.content, policy=policy.default)
    assert "Reply-To" not in message
    assert body_of(message).startswith("Replying to this digest does nothing yet")


@pytest.mark.parametrize("delivery", ["smtp", "draft"])
def test_a_template_error_is_one_line_and_delivers_nothing(
    smtp_server: Any, tmp_path: Path, delivery: str
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "digest.j2").write_text(
        '{% set subject = "mailer digest" %}\nHello\n{{ due.entriez }}\n'
    )
    config = local_config(
        tmp_path,
        smtp_server.port,
        digest={"delivery": delivery},
        drafts={"maildir": str(tmp_path / "Drafts"), "templates_dir": str(templates)},
    )
    for args in (("digest", "run"), ("digest", "preview"), ("digest", "run", "--dry-run")):
        out = mailer(config, *args, env=ENV)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
        assert "digest.j2 line 3" in out.stderr and "entriez" in out.stderr
    assert smtp_server.handler.received == []
    assert not (tmp_path / "Drafts").exists()
    assert [d for d in Store(tmp_path / "mailer.json").drafts() if d.kind == "digest"] == []


def test_preview_shows_the_digest_and_delivers_nothing(tmp_path: Path) -> None:
    config = local_config(tmp_path, None)
    out = mailer(config, "digest", "preview", env=ENV)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Subject: mailer digest, 4 March 2026: 3 due, 1 reply owed")
    assert "== Replies you owe (1) ==" in out.stdout
    assert "      done emil@e.example\n" in out.stdout
    assert not (tmp_path / "Drafts").exists()
    assert Store(tmp_path / "mailer.json").drafts() == []


# --- replying to the digest -------------------------------------------------------------------


def reply_to(digest: EmailMessage, lines: list[str], when: datetime) -> bytes:
    """The owner's reply as a phone client writes it: new lines on top, the digest quoted."""
    quoted = "\n".join(f"> {line}".rstrip() for line in body_of(digest).splitlines())
    reply = EmailMessage()
    reply["From"] = f"Pat Doe <{OWNER}>"
    reply["To"] = str(digest["Reply-To"])
    reply["Subject"] = f"Re: {digest['Subject']}"
    reply["Date"] = email.utils.format_datetime(when)
    reply["Message-ID"] = "<reply-1@example.org>"
    reply["In-Reply-To"] = str(digest["Message-ID"])
    reply.set_content(
        "\n".join(lines)
        + "\n\nSent from my phone\n\n"
        + f"On Wed, 4 Mar 2026 at 07:30, Pat Doe <{OWNER}> wrote:\n"
        + quoted
        + "\n"
    )
    return bytes(reply)


def test_replying_to_the_digest_applies_the_shown_lines(
    imap_setup: tuple[ImapUser, Path],
) -> None:
    user, config = imap_setup
    assert mailer(config, "digest", "run", user=user, env=ENV).returncode == 0
    [(_, digest)] = drafts_in_folder(user)
    lines = [
        LINES["due"][1],  # snooze anna@a.example 2w
        LINES["reply_owed"][0],  # done emil@e.example
        LINES["seeds"][0],  # tier dora@d.example network
        LINES["weed"][0],  # weed olaf@o.example
    ]
    body = body_of(digest)
    assert all(f"\n      {line}\n" in body for line in lines)
    sent = NOW + timedelta(minutes=20)
    stranger = raw(
        f"From: Eve <eve@evil.example>\nTo: {COMMAND}\nSubject: weed anna@a.example\n"
        "Date: Wed, 04 Mar 2026 06:40:00 +0000\nMessage-ID: <eve-1@evil.example>",
        "weed anna@a.example\r\n",
    )
    user.append("INBOX", [reply_to(digest, lines, sent), stranger])

    later = {"MAILER_NOW": "2026-03-04T07:00:00Z"}
    out = mailer(config, "commands", "run", user=user, env=later)
    assert out.returncode == 0, out.stderr

    rows = {
        r["email"]: r
        for r in json.loads(
            mailer(config, "contacts", "list", "--all", "--format", "json", env=later).stdout
        )
    }
    assert rows["anna@a.example"]["snoozed_until"] == "2026-03-18T06:50:00Z"
    assert rows["anna@a.example"]["status"] == "active"  # the stranger changed nothing
    assert rows["dora@d.example"]["tier"] == "network"
    assert rows["dora@d.example"]["status"] == "active"
    assert rows["olaf@o.example"]["status"] == "weeded"
    due = json.loads(mailer(config, "due", "--format", "json", env=later).stdout)
    assert "emil@e.example" not in [i["email"] for i in due]  # done: no reply owed
    assert "anna@a.example" not in [i["email"] for i in due]  # snoozed

    # The next digest tells what the reply did, and lists the stranger's mail as refused.
    tomorrow = {"MAILER_NOW": "2026-03-05T06:30:00Z"}
    preview = mailer(config, "digest", "preview", env=tomorrow)
    assert preview.returncode == 0, preview.stderr
    text = preview.stdout
    for line in lines:
        assert f"  ok: {line} -> " in text, line
    assert "from eve@evil.example" in text and 'subject: "weed anna@a.example"' in text
    for line in lines:
        assert f"      {line}\n" not in text  # handled: no longer offered


# --- the daemon's job -------------------------------------------------------------------------


def test_the_daemon_job_follows_digest_every(tmp_path: Path) -> None:
    config_path = local_config(tmp_path, None, digest={"every": "weekly", "weekday": "friday"})
    config = load(str(config_path))
    [job] = [j for j in jobs.specs(App(config)) if j.name == "digest"]
    assert (job.at, job.timezone) == ("07:30", "Europe/Berlin")
    job.run(NOW)  # a Wednesday: nothing
    assert not (tmp_path / "Drafts").exists()
    job.run(utc(2026, 3, 6, 6, 30))  # Friday
    [written] = list((tmp_path / "Drafts" / "cur").iterdir())
    assert b"X-Mailer-Draft-Key: digest:2026-03-06" in written.read_bytes()

    (tmp_path / "off").mkdir()
    off = write_config(tmp_path / "off", None, digest={"every": "off"})
    assert "digest" not in [j.name for j in jobs.specs(App(load(str(off))))]
