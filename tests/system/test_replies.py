"""Replies to a real rendered digest sent through a real Dovecot and `mailer commands run`.

The shapes of tests/unit/test_replies.py (one per client and language) are
mailed, and `contacts list` is compared before and after.
"""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from mailer.core.mailtext import MARK
from tests.support.dovecot import ImapUser
from tests.support.scanhelp import mailer
from tests.unit.test_digest_core import COMMAND
from tests.unit.test_replies import (
    FORWARDS,
    OWNER,
    REPLIES,
    Digest,
    mail,
    outlook_html,
)

ENV = {"MAILER_NOW": "2026-03-04T06:30:00Z"}


LATER = {"MAILER_NOW": "2026-03-04T07:00:00Z"}


IMAP_OWNER = "me@example.org"


IMAP_COMMAND = "me+mailer-k3x9q2@example.org"


# What a command can change, and so what is compared before and after.
OWNED = ("status", "tier", "tags", "trust", "cadence", "notes", "snoozed_until", "last_logged")


@pytest.fixture
def digest_in_drafts(imap_user: ImapUser, tmp_path: Path) -> tuple[ImapUser, Path, EmailMessage]:
    """The history of tests/system/test_digest.py scanned, and `mailer digest run` into Drafts."""
    from tests.system.test_digest import COMMAND as DIGEST_COMMAND
    from tests.system.test_digest import drafts_in_folder, scanned_and_triaged

    assert DIGEST_COMMAND == IMAP_COMMAND
    _, config = scanned_and_triaged(imap_user, tmp_path)
    assert mailer(config, "digest", "run", user=imap_user, env=ENV).returncode == 0
    [(_, message)] = drafts_in_folder(imap_user)
    return imap_user, config, message


def owned(user: ImapUser, config: Path) -> dict[str, dict[str, Any]]:
    out = mailer(config, "contacts", "list", "--all", "--format", "json", user=user, env=LATER)
    assert out.returncode == 0, out.stderr
    return {r["email"]: {k: r[k] for k in OWNED} for r in json.loads(out.stdout)}


def test_replies_from_five_clients_through_dovecot_apply_exactly_their_lines(
    digest_in_drafts: tuple[ImapUser, Path, EmailMessage],
) -> None:
    from tests.system.test_digest import body_of

    user, config, message = digest_in_drafts
    d = Digest(str(message["Subject"]).strip(), body_of(message), [])
    assert d.body.startswith(MARK)
    shapes = {  # client: the owner's line
        "outlook-sv": "snooze anna@a.example 2w",
        "gmail-iso-date": "tier dora@d.example network",
        "yahoo-nbsp-block": "tag dora@d.example climate",
        "zoho": "done emil@e.example",
        "lotus-notes": "snooze olaf@o.example 3m",
        "outlook-html-ja": "trust anna@a.example 2",
        "pasted-preview": "note dora@d.example met at the fair",
    }
    mails = []
    for n, (name, line) in enumerate(shapes.items()):
        case = REPLIES[name]
        if case.html:
            keys = ("差出人:", "送信日時:", "宛先:", "件名:")
            body = outlook_html([line], keys, "2026年3月4日 7:30")
            msg = mail(None, body(d), subject=f"Re: {d.subject}")
        else:
            subject = case.subject or f"Re: {d.subject}"
            msg = mail(f"{line}{case.between}{case.shape(d)}\n", subject=subject)
        msg = msg.replace(f"From: {OWNER}".encode(), f"From: Pat Doe <{IMAP_OWNER}>".encode())
        msg = msg.replace(f"To: {COMMAND}".encode(), f"To: {IMAP_COMMAND}".encode())
        msg = msg.replace(b"<reply-1@example.org>", f"<reply-{n}@example.org>".encode())
        mails.append(msg)
    # and a stranger's mail forwarded from Swedish Outlook, to log her
    forward = FORWARDS["outlook-sv-vb"]
    fwd = mail("\n" + forward.text, subject=forward.subject)
    fwd = fwd.replace(f"From: {OWNER}".encode(), f"From: Pat Doe <{IMAP_OWNER}>".encode())
    fwd = fwd.replace(f"To: {COMMAND}".encode(), f"To: {IMAP_COMMAND}".encode())
    mails.append(fwd.replace(b"<reply-1@example.org>", b"<forward-1@example.org>"))

    before = owned(user, config)
    user.append("INBOX", mails)
    out = mailer(config, "commands", "run", user=user, env=LATER)
    assert out.returncode == 0, out.stderr
    after = owned(user, config)

    changed = {
        (email_, key): value
        for email_, row in after.items()
        if email_ in before
        for key, value in row.items()
        if before[email_][key] != value
    }
    assert changed == {
        ("anna@a.example", "snoozed_until"): "2026-03-18T07:00:00Z",
        ("anna@a.example", "trust"): 2,
        ("dora@d.example", "tier"): "network",
        ("dora@d.example", "status"): "active",  # a tier sorts a new contact
        ("dora@d.example", "tags"): ["climate"],
        ("dora@d.example", "notes"): "2026-03-04: met at the fair",
        ("emil@e.example", "last_logged"): "2026-03-04T07:00:00Z",
        ("olaf@o.example", "snoozed_until"): "2026-06-02T07:00:00Z",
        ("olaf@o.example", "status"): "active",  # listed dormant until snoozed
    }
    # the forwarded stranger is logged, and nothing she wrote was applied
    assert set(after) - set(before) == {"eve@s.example"}
    assert after["eve@s.example"]["status"] not in ("weeded", "ignored")
    listed = mailer(config, "commands", "list", "--format", "json", user=user, env=LATER)
    records = json.loads(listed.stdout)
    lines = sorted(line["line"] for r in records for line in r["lines"] if line["ok"])
    expected = sorted(shapes.values())
    assert lines == sorted([*expected, "forwarded mail from eve@s.example"])
