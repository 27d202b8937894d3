"""Deterministic sample mail: for the tests, `make demo` and `make bench`.

`sample_history()` is a small believable mailbox (written by this project,
not copied from anywhere); `bulk()` is fast plain-format mail for benchmarks.
Run as `python tests/support/mailgen.py maildir DIR` to write the demo Maildir.
"""

from __future__ import annotations

import hashlib
import random
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

OWNER = "pat.doe@example.org"
OWNER_NAME = "Pat Doe"


@dataclass(frozen=True)
class Mail:
    folder: str  # "INBOX" or "Sent"
    data: bytes
    when: datetime  # delivery time (INTERNALDATE)


def message(
    frm: tuple[str, str],
    to: list[tuple[str, str]],
    when: datetime,
    subject: str,
    *,
    cc: list[tuple[str, str]] = (),  # type: ignore[assignment]
    msgid: str | None = None,
    headers: dict[str, str] | None = None,
    body: str = "Hello,\n\nthanks for the note.\n",
) -> bytes:
    """One well-formed message built with EmailMessage (names may be non-ASCII)."""
    m = EmailMessage()
    m["From"] = Address(display_name=frm[0], addr_spec=frm[1])
    m["To"] = [Address(display_name=n, addr_spec=a) for n, a in to]
    if cc:
        m["Cc"] = [Address(display_name=n, addr_spec=a) for n, a in cc]
    m["Subject"] = subject
    m["Date"] = format_datetime(when)
    if msgid is None:
        digest = hashlib.sha1(repr((frm, to, subject, when.isoformat())).encode()).hexdigest()
        msgid = f"<{digest[:20]}@mailgen.test>"
    m["Message-ID"] = msgid
    for k, v in (headers or {}).items():
        m[k] = v
    m.set_content(body)
    return bytes(m)


PEOPLE = [
    ("Anna Berg", "anna.berg@northwind.example"),
    ("José Álvarez", "jose@alvarez.example"),
    ("Zoë Quinn", "zoe.quinn@lumen.example"),
    ("Kenji Sato", "kenji@sato-labs.example"),
    ("Priya Raman", "priya.raman@fabrikam.example"),
    ("Tomasz Nowak", "t.nowak@contoso.example"),
    ("Lea Fischer", "lea.fischer@adatum.example"),
    ("Omar Haddad", "omar@haddad.example"),
    ("Grace Lin", "grace.lin@tailspin.example"),
    ("Sam Okafor", "sam.okafor@woodgrove.example"),
    ("Ines Duarte", "ines.duarte@proseware.example"),
    ("Mikko Laine", "mikko.laine@litware.example"),
]


def sample_history(now: datetime | None = None, seed: int = 7) -> list[Mail]:
    """Two years of a consultant's mail: real exchanges, one-sided threads,
    newsletters, notifications, a mass mailing and one broken message."""
    now = now or datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    rng = random.Random(seed)
    me = (OWNER_NAME, OWNER)
    mails: list[Mail] = []

    def add(folder: str, data: bytes, when: datetime) -> None:
        mails.append(Mail(folder, data, when))

    for i, person in enumerate(PEOPLE):
        # Each person gets a rhythm: some close, some drifting away.
        gap = [12, 20, 35, 60, 90, 150][i % 6]
        start = now - timedelta(days=700 - i * 23)
        when = start
        turn = 0
        while when < now - timedelta(days=gap * (i % 4)):
            subject = rng.choice(
                [
                    "Coffee next week?",
                    "Re: the proposal",
                    "Intro to the data team",
                    "Conference in Lisbon",
                    "Quick question",
                    "Re: hiring",
                ]
            )
            if turn % 2 == 0:
                add("INBOX", message(person, [me], when, subject), when)
            else:
                add("Sent", message(me, [person], when, "Re: " + subject), when)
            turn += 1
            when += timedelta(days=gap + rng.randint(-3, 3), hours=rng.randint(0, 9))
    # One-sided: the owner writes, nobody answers.
    ghost = ("Victor Hale", "victor@hale-ventures.example")
    for k in range(4):
        when = now - timedelta(days=200 - k * 30)
        add("Sent", message(me, [ghost], when, "Following up"), when)
    # Inbound only, never answered: a reply owed.
    asker = ("Rita Moreau", "rita.moreau@agence.example")
    when = now - timedelta(days=9)
    add("INBOX", message(asker, [me], when, "Could you advise on a vendor?"), when)
    # Automated and mass mail: none of these are relationships.
    for k in range(6):
        when = now - timedelta(days=7 * k + 1)
        add(
            "INBOX",
            message(
                ("Weekly Digest", "news@newsletter.example"),
                [me],
                when,
                f"Issue #{100 + k}",
                headers={
                    "List-Id": "<weekly.newsletter.example>",
                    "List-Unsubscribe": "<mailto:u@x>",
                },
            ),
            when,
        )
        add(
            "INBOX",
            message(("GitHub", "noreply@github.example"), [me], when, "[repo] build passed"),
            when,
        )
    everyone = [(f"Guest {k}", f"guest{k}@party.example") for k in range(30)]
    when = now - timedelta(days=40)
    add("Sent", message(me, everyone, when, "Summer party invitation"), when)
    # A broken message: no From, garbage bytes in a header.
    broken = b"Subject: \xff\xfe broken\r\nDate: not a date\r\n\r\nbody\r\n"
    add("INBOX", broken, now - timedelta(days=3))
    mails.sort(key=lambda m: m.when)
    return mails


def bulk(
    count: int,
    contacts: int = 10_000,
    seed: int = 1,
    sent_every: int = 3,
    years: float | None = None,
) -> list[bytes]:
    """`count` plain messages between OWNER and `contacts` people, fast to make; every
    `sent_every`-th one is the owner's (it goes to Sent). One every 37 minutes from
    2020, or spread evenly over `years` years to 2026 (a mailbox's history has a
    length of its own, whatever its number of messages)."""
    rng = random.Random(seed)
    base = datetime(2020, 1, 1, tzinfo=UTC)
    step = timedelta(minutes=37)
    if years is not None:
        step = timedelta(days=365.25 * years) / max(count, 1)
        base = datetime(2026, 1, 1, tzinfo=UTC) - step * count
    out = []
    for i in range(count):
        k = rng.randrange(contacts)
        who = f"Person {k} <person{k}@corp{k % 97}.example>"
        when = format_datetime(base + step * i)
        if i % sent_every == 0:
            frm, to = f"{OWNER_NAME} <{OWNER}>", who
        else:
            frm, to = who, f"{OWNER_NAME} <{OWNER}>"
        out.append(
            (
                f"From: {frm}\r\nTo: {to}\r\nCc: Team <team{k % 50}@corp.example>\r\n"
                f"Subject: Message number {i} about topic {k % 13}\r\n"
                f"Date: {when}\r\nMessage-ID: <bulk.{i}.{seed}@mailgen.test>\r\n"
                f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                f"Body of message {i}.\r\n"
            ).encode()
        )
    return out


def write_maildir(root: Path, mails: list[Mail]) -> None:
    """INBOX in `root`, other folders as Maildir++ subfolders (`.Sent`)."""
    import os

    for n, mail in enumerate(mails):
        base = root if mail.folder == "INBOX" else root / f".{mail.folder}"
        for sub in ("cur", "new", "tmp"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        path = base / "cur" / f"{int(mail.when.timestamp())}.M{n}P1.mailgen:2,S"
        path.write_bytes(mail.data)
        os.utime(path, (mail.when.timestamp(), mail.when.timestamp()))


def show_first(maildir: Path) -> None:
    """Print the first message of a Maildir as a person reads it (decoded)."""
    import email
    from email import policy

    path = sorted((maildir / "cur").iterdir())[0]
    msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    for key in ("From", "To", "Subject", "Date", "X-Mailer-Draft-Key"):
        print(f"{key}: {msg[key]}")
    print()
    body = msg.get_body(("plain",))
    print(body.get_content() if body is not None else "")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "maildir":
        write_maildir(Path(sys.argv[2]), sample_history())
        print(f"wrote the sample mailbox to {sys.argv[2]}")
    elif len(sys.argv) == 3 and sys.argv[1] == "show":
        show_first(Path(sys.argv[2]))
    else:
        sys.exit("usage: python tests/support/mailgen.py maildir DIR | show MAILDIR")
