"""Command mail is judged by its header fields first (issue 10).

A refused mail's body is never fetched nor parsed: most tests drive
`inbox.run` with an in-memory command box that counts `body()` calls, and one
does it over a real Dovecot (tests/system/test_inbox_headers_first.py) while
recording every IMAP command mailer sends, so a BODY[] fetch of a refused 9 MB
mail would show. Authentication-Results count only as the receiving server
wrote them, and every line of an accepted mail gets an outcome, a mistyped
command word with the word it meant. How fast all this is is measured by `make
bench` (tests/bench/bench.py), never here.
"""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from mailer import inbox
from mailer.app import App
from mailer.config import Config, from_dict
from mailer.errors import ConfigError
from mailer.model import CommandRecord, Contact
from mailer.sources.base import MailItem
from mailer.sources.memory import MemoryCommandBox, MemoryMailbox
from mailer.store import Store
from tests.support.clock import NOW

ADDRESS = "me+mailer-k3x9q2@example.org"
OWNER = "me@example.org"
MX = "mx.example.org"
PEOPLE = [
    Contact("anna@a.example", name="Anna Berg"),
    Contact("bert@b.example", name="Bert Kim"),
]
# What mailer's IMAP command box fetches of each candidate (sources/imap_boxes.py, _CMD_HEADER).
FIELDS = {
    "from",
    "to",
    "cc",
    "bcc",
    "delivered-to",
    "x-original-to",
    "message-id",
    "subject",
    "date",
    "content-type",
    "authentication-results",
}


def mail(
    body: str,
    *,
    sender: str = f"Pat Doe <{OWNER}>",
    to: str = ADDRESS,
    subject: str = "mailer",
    auth: str = f"{MX}; dkim=pass header.d=example.org",
    content_type: str = "text/plain; charset=utf-8",
    n: int = 0,
) -> bytes:
    head = (
        (f"Authentication-Results: {auth}\r\n" if auth else "")
        + f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: {format_datetime(NOW - timedelta(hours=1))}\r\n"
        f"Message-ID: <hf{n}@test>\r\nMIME-Version: 1.0\r\nContent-Type: {content_type}\r\n"
    )
    return (head + "\r\n" + body.replace("\n", "\r\n")).encode()


class Box(MemoryCommandBox):
    """INBOX in memory (sources/memory.py: header fields first, the body on demand),
    its whole-mail fetches and its moves counted."""

    def __init__(self, mails: list[bytes]) -> None:
        mailbox = MemoryMailbox()
        for m in mails:
            mailbox.append("INBOX", m)
        super().__init__(mailbox)
        self.fetched: list[int] = []
        self.moved: list[int] = []

    def body(self, item: MailItem) -> bytes:
        self.fetched.append(item.uid)
        return super().body(item)

    def move(self, uids: list[int], folder: str) -> None:
        self.moved += uids
        super().move(uids, folder)


def config(tmp_path: Path, **commands: Any) -> Config:
    return from_dict(
        {
            "me": {"name": "Pat Doe", "addresses": [OWNER]},
            "store": {"path": str(tmp_path / "mailer.json")},
            "commands": {"address": ADDRESS, **commands},
        }
    )


def run(cfg: Config, box: Box) -> list[CommandRecord]:
    store = Store(cfg.store_path)
    if not store.contacts():
        store.insert_contacts(PEOPLE)
    done = inbox.run(App(cfg), box, NOW, store=store)
    return [h.record for h in done.handled]


def flowed(size: int) -> str:
    """`size` bytes of format=flowed text: one paragraph of soft-broken lines."""
    line = "weed anna@a.example ignore bert@b.example and more words here "
    return line * (size // len(line))


def html(size: int) -> str:
    cell = "<div><p>weed anna@a.example</p><blockquote>ignore bert</blockquote></div>"
    return "<html><body>" + cell * (size // len(cell)) + "</body></html>"


def many_parts(parts: int, width: int = 10) -> tuple[str, str]:
    """A multipart body of `parts` parts of about `width` + 60 bytes each, and its type."""
    boundary = "p4rt"
    body = "".join(
        f"--{boundary}\nContent-Type: text/plain\n\nweed anna@a.example {i:<{width}}\n"
        for i in range(parts)
    )
    return body + f"--{boundary}--\n", f'multipart/mixed; boundary="{boundary}"'


def test_a_refused_mail_is_judged_by_its_header_fields_and_its_body_never_fetched(
    tmp_path: Path,
) -> None:
    body, parts_type = many_parts(2000)
    refused = [
        mail(flowed(200_000), to="me+mailer@example.org", n=1),  # the look-alike, tag unknown
        mail(html(200_000), sender="Eve <eve@evil.example>", content_type="text/html", n=2),
        mail(body, sender="Eve <eve@evil.example>", content_type=parts_type, n=3),
        mail("weed anna@a.example", sender=f"{OWNER}, eve@evil.example", n=4),
        mail("weed anna@a.example", auth=f"{MX}; dkim=fail header.d=example.org", n=5),
        mail("weed anna@a.example", auth="", n=6),
        mail("weed anna@a.example\n" + "x" * 400_000, n=7),  # too large for max_size_kb = 300
    ]
    box = Box([*refused, mail("done anna@a.example", n=8)])
    records = run(config(tmp_path, require_dkim=True, authserv_id=MX, max_size_kb=300), box)

    assert box.fetched == [8]  # only the owner's mail was fetched whole
    assert box.moved == list(range(1, 9))  # and every one is moved, as before
    assert [r.kind for r in records] == ["refused"] * 7 + ["commands"]
    reasons = [r.reason for r in records[:7]]
    assert reasons[0] == "sent to me+mailer@example.org, not the command address"
    assert reasons[1] == reasons[2] == "sender not allowed: eve@evil.example"
    assert reasons[3].startswith("more than one From address")
    assert reasons[4] == "DKIM/SPF did not pass for example.org"
    assert reasons[5].startswith("no Authentication-Results header")
    assert reasons[6].startswith("too large (")
    assert all(r.lines == () for r in records[:7])  # nothing of a refused body is reported
    assert records[0].subject == "mailer" and records[0].received == "2026-03-04T08:00:00Z"
    assert [line.ok for line in records[7].lines] == [True]


# --- Authentication-Results (RFC 8601) --------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "auth_headers"),
    [
        # a pass the sender wrote below the receiving server's fail (same authserv-id)
        (
            "forged below",
            [f"{MX}; dkim=fail header.d=example.org", f"{MX}; dkim=pass header.d=example.org"],
        ),
        # the server echoes the envelope sender: inside its quotes ";" and "dkim=pass" are text
        (
            "quoted mailfrom",
            [f'{MX}; spf=pass smtp.mailfrom="a;dkim=pass header.d=example.org x"@evil.example'],
        ),
        ("comment", [f"{MX}; dkim=fail (dkim=pass header.d=example.org) header.d=example.org"]),
        ("another server's", ["relay.evil.example; dkim=pass header.d=example.org"]),
    ],
)
def test_only_the_receiving_servers_own_verdict_counts(
    tmp_path: Path, case: str, auth_headers: list[str]
) -> None:
    raw = mail("weed anna@a.example", auth="")
    raw = b"".join(f"Authentication-Results: {h}\r\n".encode() for h in auth_headers) + raw
    box = Box([raw])
    (record,) = run(config(tmp_path, require_dkim=True, authserv_id=MX), box)
    assert record.kind == "refused", case
    assert record.reason == "DKIM/SPF did not pass for example.org"
    assert box.fetched == []


def test_require_dkim_without_authserv_id_is_a_config_error(tmp_path: Path) -> None:
    """Without it the topmost header counted, which the sender writes when the server adds none."""
    with pytest.raises(ConfigError) as e:
        config(tmp_path, require_dkim=True)
    assert "commands.authserv_id: missing (commands.require_dkim = true needs it" in str(e.value)
    assert config(tmp_path, require_dkim=True, authserv_id=MX).get("commands.authserv_id") == MX


# --- every line gets an outcome ----------------------------------------------------------------


def outcomes(record: CommandRecord) -> list[tuple[str, bool, str]]:
    return [(line.line, line.ok, line.result) for line in record.lines]


def test_a_mistyped_command_word_is_answered_with_the_word_it_meant(tmp_path: Path) -> None:
    box = Box(
        [
            mail("snoze anna@a.example 2w", n=1),
            mail("snoze\nThanks!", n=2),
            mail("done bert@b.example\nweeed Anna Berg\nThanks, that is all for today.", n=3),
            mail("tga bert ai\n\nBest, Pat", n=4),
        ]
    )
    first, second, third, fourth = run(config(tmp_path), box)
    assert outcomes(first) == [
        ("snoze anna@a.example 2w", False, "unknown command 'snoze' (did you mean snooze?)")
    ]
    assert outcomes(second) == [
        (
            "",
            False,
            "no command found (did you mean snooze?); write one per line, "
            "e.g. snooze anna@example.com 2w",
        )
    ]
    # no line with an unknown verb vanishes beside a good one; prose is not reported
    assert outcomes(third) == [
        ("done bert@b.example", True, "bert@b.example: logged 2026-03-04"),
        ("weeed Anna Berg", False, "unknown command 'weeed' (did you mean weed?)"),
    ]
    assert outcomes(fourth) == [("tga bert ai", False, "unknown command 'tga' (did you mean tag?)")]
    people = {c.email: c for c in Store(tmp_path / "mailer.json").contacts()}
    assert (
        people["anna@a.example"].status != "weeded"
        and people["anna@a.example"].snoozed_until is None
    )
    assert people["bert@b.example"].tags == ()


# --- over IMAP: a real Dovecot, every command mailer sends recorded ----------------------------
