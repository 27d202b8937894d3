"""Helpers for scan tests: a mailbox whose history we control, configs, running the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from tests.support import mailgen
from tests.support.dovecot import ImapUser
from tests.support.mailgen import message

ME = ("Pat Doe", "me@example.org")
PASSWORD_ENV = "MAILER_TEST_PASSWORD"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def raw(headers: str, body: str = "body\r\n") -> bytes:
    return (headers.strip().replace("\n", "\r\n") + "\r\n\r\n" + body).encode()


def mail_in(name: str, addr: str, when: datetime, n: int) -> bytes:
    """Message n from `name` to the owner, dated `when`."""
    return raw(
        f"From: {name} <{addr}>\nTo: {ME[1]}\nSubject: note {n} from {name}\n"
        f"Date: {format_datetime(when)}\nMessage-ID: <in{n}.{addr}>"
    )


def mail_out(addr: str, when: datetime, n: int) -> bytes:
    """The owner's answer n to `addr`, dated `when`."""
    return raw(
        f"From: {ME[0]} <{ME[1]}>\nTo: {addr}\nSubject: Re: note {n}\n"
        f"Date: {format_datetime(when)}\nMessage-ID: <out{n}.{addr}>"
    )


# (folder, message bytes, INTERNALDATE)
HISTORY: list[tuple[str, bytes, datetime]] = [
    # +0100 -> 08:15 UTC
    (
        "INBOX",
        raw("""From: "Anna Berg" <Anna.Berg@North.example>
To: Pat Doe <me@example.org>
Subject: Hello
Date: Tue, 03 Mar 2026 09:15:00 +0100
Message-ID: <h1@test>"""),
        utc(2026, 3, 3, 8, 16),
    ),
    # -0700 late evening -> next day 06:30 UTC
    (
        "INBOX",
        raw("""From: Anna Berg <anna.berg@north.example>
To: me@example.org
Subject: Re: plans
Date: Mon, 01 Jun 2026 23:30:00 -0700
Message-ID: <h2@test>"""),
        utc(2026, 6, 2, 6, 31),
    ),
    # no Date: INTERNALDATE counts
    (
        "INBOX",
        raw("""From: bob@x.example
To: me@example.org
Subject: no date here
Message-ID: <h3@test>"""),
        utc(2026, 5, 5, 10, 0),
    ),
    # Date years after delivery: a broken clock, INTERNALDATE counts
    (
        "INBOX",
        raw("""From: Carol <carol@c.example>
To: me@example.org
Subject: from the future
Date: Sat, 01 Jan 2033 00:00:00 +0000
Message-ID: <h4@test>"""),
        utc(2026, 4, 1, 12, 0),
    ),
    # a mailing list: not a relationship
    (
        "INBOX",
        raw("""From: Dave <dave@list.example>
To: me@example.org
List-Id: <news.list.example>
Subject: Weekly
Date: Wed, 01 Jul 2026 10:00:00 +0000
Message-ID: <h5@test>"""),
        utc(2026, 7, 1, 10, 0),
    ),
    # the owner's alias, a copy in INBOX: outbound to Anna
    (
        "INBOX",
        raw("""From: Pat <ME@Example.org>
To: anna.berg@north.example
Subject: see you
Date: Wed, 10 Jun 2026 12:00:00 +0000
Message-ID: <h6@test>"""),
        utc(2026, 6, 10, 12, 0),
    ),
    # an encoded name
    (
        "INBOX",
        raw("""From: =?utf-8?q?Zo=C3=AB_Quinn?= <zoe@y.example>
To: me@example.org
Subject: =?utf-8?q?Caf=C3=A9?=
Date: Thu, 02 Jul 2026 08:00:00 +0000
Message-ID: <h7@test>"""),
        utc(2026, 7, 2, 8, 0),
    ),
    (
        "Sent",
        raw("""From: Pat Doe <me@example.org>
To: Anna Berg <anna.berg@north.example>
Cc: bob@x.example
Subject: Re: Hello
Date: Wed, 04 Mar 2026 10:00:00 +0000
Message-ID: <h8@test>"""),
        utc(2026, 3, 4, 10, 0),
    ),
    (
        "Sent",
        raw(
            "From: me@example.org\nTo: "
            + ", ".join(f"guest{i}@party.example" for i in range(25))
            + "\nSubject: party\nDate: Fri, 03 Jul 2026 10:00:00 +0000\nMessage-ID: <h9@test>"
        ),
        utc(2026, 7, 3, 10, 0),
    ),
    (
        "Sent",
        raw("""From: me@example.org
To: me@example.org
Subject: note to self
Date: Fri, 03 Jul 2026 11:00:00 +0000
Message-ID: <h10@test>"""),
        utc(2026, 7, 3, 11, 0),
    ),
    (
        "Sent",
        raw("""From: me@example.org
To: "Anna" <anna.berg@north.example>
Bcc: Erin <erin@e.example>
Subject: quietly
Date: Mon, 15 Jun 2026 07:00:00 +0200
Message-ID: <h11@test>"""),
        utc(2026, 6, 15, 5, 0),
    ),
]

# Worked out by hand from HISTORY above (SPEC section 3).
EXPECTED = {
    # the newest non-empty name wins (SPEC 3): the owner's own "Anna" of 15 June
    "anna.berg@north.example": dict(
        name="Anna",
        last_inbound="2026-06-02T06:30:00Z",
        last_outbound="2026-06-15T05:00:00Z",
        messages_in=2,
        messages_out=3,
    ),
    "bob@x.example": dict(
        name=None,
        last_inbound="2026-05-05T10:00:00Z",
        last_outbound="2026-03-04T10:00:00Z",
        messages_in=1,
        messages_out=1,
    ),
    "carol@c.example": dict(
        name="Carol",
        last_inbound="2026-04-01T12:00:00Z",
        last_outbound=None,
        messages_in=1,
        messages_out=0,
    ),
    "zoe@y.example": dict(
        name="Zoë Quinn",
        last_inbound="2026-07-02T08:00:00Z",
        last_outbound=None,
        messages_in=1,
        messages_out=0,
    ),
    "erin@e.example": dict(
        name="Erin",
        last_inbound=None,
        last_outbound="2026-06-15T05:00:00Z",
        messages_in=0,
        messages_out=1,
    ),
}


def load_history(user: ImapUser, history: list[tuple[str, bytes, datetime]] = HISTORY) -> None:
    for folder in ("INBOX", "Sent"):
        items = [(m, d) for f, m, d in history if f == folder]
        user.append(folder, [m for m, _ in items], internaldates=[d for _, d in items])


def write_config(tmp: Path, user: ImapUser | None, **sections: dict[str, Any]) -> Path:
    """A config file for `user` (IMAPS verified against the test CA), store in `tmp`."""
    lines = []
    if user is not None:
        account = {
            "host": "127.0.0.1",
            "port": user.imaps_port,
            "security": "tls",
            "username": user.username,
            "password_env": PASSWORD_ENV,
            "ca_file": user.cert_path,
            "timeout": 10,
            **sections.pop("account", {}),
        }
        sections = {"account": account, **sections}
    sections.setdefault("me", {"name": ME[0], "addresses": [ME[1]]})
    sections.setdefault("store", {"path": str(tmp / "mailer.json")})
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
        lines.append("")
    path = tmp / "config.toml"
    path.write_text("\n".join(lines))
    return path


def mailer(
    config: Path | None,
    *args: str,
    user: ImapUser | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the real `mailer` command in a child process."""
    full_env = {**os.environ, **(env or {})}
    if user is not None:
        full_env[PASSWORD_ENV] = user.password
    cmd = [sys.executable, "-m", "mailer"]
    if config is not None:
        cmd += ["--config", str(config)]
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, env=full_env, timeout=timeout, check=False
    )


LISTED_AT = "2026-11-20T09:00:00Z"  # one clock for listings compared across runs


def contacts_json(config: Path, now: str = LISTED_AT) -> list[dict[str, Any]]:
    """Everyone in the store as `contacts list --all` prints them, judged at `now`
    (a fixed clock: strength and reasons move with time, the stored facts do not)."""
    out = mailer(config, "contacts", "list", "--all", "--format", "json", env={"MAILER_NOW": now})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def learned(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    keys = ("name", "last_inbound", "last_outbound", "messages_in", "messages_out")
    return {r["email"]: {k: r[k] for k in keys} for r in rows}


def write_mbox(path: Path, history: list[tuple[str, bytes, datetime]]) -> None:
    with open(path, "wb") as f:
        for _folder, data, when in history:
            f.write(f"From sender {when.strftime('%a %b %d %H:%M:%S %Y')}\n".encode())
            f.write(data.replace(b"\r\n", b"\n").replace(b"\nFrom ", b"\n>From "))
            f.write(b"\n")


def write_plain_maildir(root: Path, history: list[tuple[str, bytes, datetime]]) -> None:
    mailgen.write_maildir(root, [mailgen.Mail(f, data, when) for f, data, when in history])


__all__ = ["EXPECTED", "HISTORY", "ME", "message"]
