"""Command mail is judged by its header fields first (issue 10), over a real Dovecot.

While recording every IMAP command mailer sends, so a BODY[] fetch of a refused
9 MB mail would show. The tests with an in-memory command box are in
tests/unit/test_inbox_headers_first.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailer import inbox
from mailer.app import App
from mailer.config import Config, load
from mailer.sources.base import MailItem
from mailer.store import Store
from tests.support.clock import NOW
from tests.support.dovecot import ImapUser
from tests.support.scanhelp import PASSWORD_ENV, write_config
from tests.unit.test_inbox_headers_first import (
    ADDRESS,
    FIELDS,
    OWNER,
    PEOPLE,
    flowed,
    html,
    mail,
    many_parts,
)


@pytest.fixture
def imap_config(imap_user: ImapUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv(PASSWORD_ENV, imap_user.password)
    cfg = load(str(write_config(tmp_path, imap_user, commands={"address": ADDRESS})))
    Store(cfg.store_path).insert_contacts(PEOPLE)
    return cfg


class Recorded:
    """An IMAP command box whose `body()` calls are counted; the client's sent bytes are kept."""

    def __init__(self, box: Any, sent: list[bytes]) -> None:
        self.box, self.sent = box, sent
        self.items: dict[int, MailItem] = {}
        self.fetched: list[int] = []

    def candidates(self, address: str) -> list[MailItem]:
        items = self.box.candidates(address)
        self.items = {i.uid: i for i in items}
        return list(items)

    def body(self, item: MailItem) -> bytes:
        self.fetched.append(item.uid)
        return bytes(self.box.body(item))

    def move(self, uids: list[int], folder: str) -> None:
        self.box.move(uids, folder)


@pytest.fixture
def recorded(imap_config: Config) -> Iterator[Recorded]:
    with App(imap_config).imap_source() as source:
        imap = source._client._imap  # imaplib under imapclient: every command goes through send
        sent: list[bytes] = []
        plain_send = imap.send

        def send(data: bytes) -> None:
            sent.append(bytes(data))
            plain_send(data)

        imap.send = send
        yield Recorded(source.command_box(), sent)


def test_over_imap_a_refused_9_mb_mail_is_never_fetched(
    imap_user: ImapUser, imap_config: Config, recorded: Recorded
) -> None:
    """9 MB: under commands.max_size_kb (10 MB), so it is the judging that refuses them."""
    nine_mb = 9 * 1024 * 1024
    body, parts_type = many_parts(100_000, width=35)
    uids = imap_user.append(
        "INBOX",
        [
            mail(flowed(nine_mb), to="me+mailer@example.org", n=1),
            mail(html(nine_mb), sender="Eve <eve@evil.example>", content_type="text/html", n=2),
            mail(body, sender="Eve <eve@evil.example>", content_type=parts_type, n=3),
            mail("done anna@a.example", n=4),
        ],
    )
    assert len(uids) == 4
    done = inbox.run(App(imap_config), recorded, NOW, store=Store(imap_config.store_path))

    said = {h.uid: (h.record.kind, h.record.reason) for h in done.handled}
    assert said == {
        uids[0]: ("refused", "sent to me+mailer@example.org, not the command address"),
        uids[1]: ("refused", "sender not allowed: eve@evil.example"),
        uids[2]: ("refused", "sender not allowed: eve@evil.example"),
        uids[3]: ("commands", f"from {OWNER}"),
    }
    sizes = {i.uid: i.size for i in recorded.items.values()}
    limit = imap_config.get("commands.max_size_kb") * 1024
    assert all(nine_mb - 2**20 < sizes[uid] < limit for uid in uids[:3]), sizes
    assert recorded.fetched == [uids[3]]
    # On the wire: one FETCH of a whole mail, the owner's; the rest fetched header fields only.
    commands = b"".join(recorded.sent).decode("ascii", "replace").splitlines()
    fetches = [c for c in commands if " FETCH " in c.upper()]
    whole = [c for c in fetches if re.search(r"BODY(\.PEEK)?\[\]|RFC822[ )]|RFC822\.TEXT", c)]
    assert len(whole) == 1 and re.search(rf"FETCH {uids[3]} ", whole[0]), fetches
    (fields,) = [c for c in fetches if "HEADER.FIELDS" in c]  # every field the judging reads
    assert set(re.findall(r"[\w-]+", fields.split("HEADER.FIELDS", 1)[1].upper())) >= {
        name.upper() for name in FIELDS
    }
    with imap_user.connect() as client:
        client.select_folder("INBOX", readonly=True)
        assert client.search(["ALL"]) == []  # all four handled and moved
