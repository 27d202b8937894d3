"""The mailbox edges' contract, stated once and run against every implementation.

`mailer/sources/base.py` promises what a Source, a Drafts folder and a
CommandBox do; each class here turns those promises into tests, and its
fixture runs them against the in-memory edges (`sources/memory.py`), the
local ones (mbox, Maildir) and a real Dovecot (IMAP), as vdirsyncer's
StorageTests do for its storages. Where an implementation legitimately
differs, the test says so with the reason; where it breaks the promise, the
test is a strict xfail naming the bug, so fixing it turns the run red until
the mark goes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from mailer.config import Config, load
from mailer.model import RawMessage
from mailer.sources.base import DRAFT_KEY_HEADER, CommandBox, Drafts, FolderError, Source
from mailer.sources.imap import ImapSource, connect
from mailer.sources.local import MaildirDrafts, MaildirSource, MboxSource
from mailer.sources.memory import MemoryMailbox
from tests.support.dovecot import ImapUser
from tests.support.scanhelp import utc, write_config

WHEN = utc(2026, 3, 3, 8, 16, 5)  # a delivery time, to the second (INTERNALDATE's precision)
COMMAND = "me+mailer-k3x9q2@example.org"


def note(n: int) -> bytes:
    """Message n to the owner, its header only of fields a scan fetches."""
    return (
        f"From: Anna Berg <anna@a.example>\r\nTo: me@example.org\r\nSubject: note {n}\r\n"
        f"Date: {format_datetime(WHEN)}\r\nMessage-ID: <n{n}@test>\r\n\r\nbody {n}\r\n"
    ).encode()


def ids(messages: list[RawMessage]) -> list[str]:
    """The Message-IDs of fetched messages, in the order they came."""
    out = []
    for m in messages:
        for line in m.header.splitlines():
            if line.lower().startswith(b"message-id:"):
                out.append(line.split(b":", 1)[1].strip().decode())
    return out


def read(source: Source, folder: str, last_uid: int = 0, chunk: int = 100) -> list[RawMessage]:
    info = source.open_folder(folder)
    new = source.new_messages(info, last_uid)
    return [m for part in source.fetch(info, new, chunk) for m in part]


def known_bug(request: pytest.FixtureRequest, kinds: set[str], kind: str, reason: str) -> None:
    """Mark this case a strict xfail for the implementations `kinds` that break the contract."""
    if kind in kinds:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


def _imap_config(request: pytest.FixtureRequest, **sections: dict[str, Any]) -> Config:
    # the fixtures skip without Dovecot, and fail in CI (MAILER_REQUIRE_SERVERS=1)
    user: ImapUser = request.getfixturevalue("imap_user")
    tmp: Path = request.getfixturevalue("tmp_path")
    return load(str(write_config(tmp, user, **sections)))


def _imap_source(request: pytest.FixtureRequest, config: Config) -> ImapSource:
    user: ImapUser = request.getfixturevalue("imap_user")
    account = config.require_account()
    source = ImapSource(account, config.folders, connect(account, user.password))
    request.addfinalizer(source.close)
    return source


def _imap_folder(user: ImapUser, folder: str) -> list[bytes] | None:
    """A folder's raw mails in UID order, read by another client (None: no such folder)."""
    with user.connect() as c:
        if not c.folder_exists(folder):
            return None
        c.select_folder(folder, readonly=True)
        uids = sorted(c.search(["ALL"]))
        rows = c.fetch(uids, [b"BODY.PEEK[]"]) if uids else {}
        return [bytes(rows[u][b"BODY[]"]) for u in uids]


# -- Source ------------------------------------------------------------------


class SourceEdge:
    """One Source implementation with a way to deliver mail to its first folder."""

    kind: str
    folders: list[str]  # what scan_folders lists, in order
    missing: str  # a folder that does not exist
    stable_uids = True

    def deliver(self, messages: list[bytes]) -> None:
        raise NotImplementedError

    def expunge(self, position: int) -> None:
        """Another client removes the `position`th mail (from 1) of the first folder."""
        raise NotImplementedError

    def source(self) -> Source:
        raise NotImplementedError

    def reopened(self, source: Source) -> Source:
        """The source to read mail delivered since `source` was made."""
        return source


class MemoryEdge(SourceEdge):
    kind, folders, missing = "memory", ["INBOX", "Sent", "Archive"], "Nowhere"

    def __init__(self) -> None:
        self.mailbox = MemoryMailbox()
        for name in self.folders:
            self.mailbox.create(name)

    def deliver(self, messages: list[bytes]) -> None:
        for m in messages:
            self.mailbox.append("INBOX", m, WHEN)

    def expunge(self, position: int) -> None:
        self.mailbox.expunge("INBOX", [self.mailbox.uids("INBOX")[position - 1]])

    def source(self) -> Source:
        return self.mailbox.source(self.folders)


class MboxEdge(SourceEdge):
    kind, stable_uids = "mbox", False

    def __init__(self, tmp: Path) -> None:
        self.path = tmp / "mail.mbox"
        self.path.write_bytes(b"")
        self.folders, self.missing = [str(self.path)], str(tmp / "nowhere.mbox")
        self.delivered: list[bytes] = []

    def _write(self, path: Path) -> None:
        with open(path, "wb") as f:
            for m in self.delivered:
                f.write(f"From sender {WHEN.strftime('%a %b %d %H:%M:%S %Y')}\n".encode())
                f.write(m.replace(b"\r\n", b"\n") + b"\n")

    def deliver(self, messages: list[bytes]) -> None:
        self.delivered += messages
        self._write(self.path)

    def expunge(self, position: int) -> None:
        del self.delivered[position - 1]
        self._write(self.path.with_suffix(".new"))  # as mail programs do: a new file, renamed
        os.replace(self.path.with_suffix(".new"), self.path)

    def source(self) -> Source:
        return MboxSource(self.path)

    def reopened(self, source: Source) -> Source:
        # An MboxSource lists the file's messages once, when made: an import reads
        # a file as it is then, and a later import makes a new source.
        source.close()
        return MboxSource(self.path)


class MaildirEdge(SourceEdge):
    kind, stable_uids = "maildir", False
    folders, missing = ["INBOX", ".Archive", ".Sent"], ".Nowhere"  # subfolders sorted

    def __init__(self, tmp: Path) -> None:
        self.root = tmp / "Maildir"
        for base in (self.root, self.root / ".Sent", self.root / ".Archive"):
            for sub in ("cur", "new", "tmp"):
                (base / sub).mkdir(parents=True)
        self.count = 0

    def deliver(self, messages: list[bytes]) -> None:
        for m in messages:
            self.count += 1  # names that sort in delivery order, as Maildir names do
            path = self.root / "cur" / f"{1_700_000_000 + self.count}.M{self.count}P1.test:2,S"
            path.write_bytes(m)
            os.utime(path, (WHEN.timestamp(), WHEN.timestamp()))

    def expunge(self, position: int) -> None:
        sorted((self.root / "cur").iterdir())[position - 1].unlink()

    def source(self) -> Source:
        return MaildirSource(self.root)


class ImapEdge(SourceEdge):
    kind, folders, missing = "imap", ["INBOX", "Sent", "Archive"], "Nowhere"

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.user: ImapUser = request.getfixturevalue("imap_user")
        self.config = _imap_config(request, folders={"extra": ["Archive"]})
        self.request = request

    def deliver(self, messages: list[bytes]) -> None:
        self.user.append("INBOX", messages, internaldates=[WHEN] * len(messages))

    def expunge(self, position: int) -> None:
        with self.user.connect() as c:
            c.select_folder("INBOX")
            c.delete_messages([sorted(c.search(["ALL"]))[position - 1]])
            c.expunge()

    def source(self) -> Source:
        return _imap_source(self.request, self.config)


@pytest.fixture(params=["memory", "mbox", "maildir", "imap"])
def source_edge(request: pytest.FixtureRequest, tmp_path: Path) -> SourceEdge:
    if request.param == "memory":
        return MemoryEdge()
    if request.param == "mbox":
        return MboxEdge(tmp_path)
    if request.param == "maildir":
        return MaildirEdge(tmp_path)
    return ImapEdge(request)


class TestSource:
    def test_folders_are_listed_in_order_and_open(self, source_edge: SourceEdge) -> None:
        source = source_edge.source()
        assert source.scan_folders() == source_edge.folders
        for name in source_edge.folders:
            info = source.open_folder(name)
            assert (info.name, info.messages) == (name, 0)

    def test_a_missing_folder_is_a_folder_error(
        self, source_edge: SourceEdge, request: pytest.FixtureRequest
    ) -> None:
        with pytest.raises(FolderError):
            source_edge.source().open_folder(source_edge.missing)

    def test_every_message_after_last_uid_comes_once_in_uid_order_in_chunks(
        self, source_edge: SourceEdge
    ) -> None:
        source_edge.deliver([note(n) for n in range(1, 8)])
        source = source_edge.source()
        folder = source_edge.folders[0]
        info = source.open_folder(folder)
        assert info.messages == 7
        new = source.new_messages(info, 0)
        assert new.count == 7
        chunks = list(source.fetch(info, new, 3))
        assert all(0 < len(c) <= 3 for c in chunks)
        got = [m for c in chunks for m in c]
        assert ids(got) == [f"<n{n}@test>" for n in range(1, 8)]
        uids = [m.uid or 0 for m in got]
        assert uids == sorted(set(uids)) and uids[0] > 0

        after = read(source, folder, last_uid=uids[2], chunk=2)
        assert ids(after) == [f"<n{n}@test>" for n in range(4, 8)]
        assert [m.uid for m in after] == uids[3:]

    def test_nothing_is_new_after_the_last_uid_read(self, source_edge: SourceEdge) -> None:
        source_edge.deliver([note(n) for n in range(1, 4)])
        source = source_edge.source()
        folder = source_edge.folders[0]
        last = read(source, folder)[-1].uid or 0
        info = source.open_folder(folder)
        new = source.new_messages(info, last)
        assert new.count == 0
        assert [m for c in source.fetch(info, new, 10) for m in c] == []

    def test_mail_delivered_later_is_found(self, source_edge: SourceEdge) -> None:
        source_edge.deliver([note(n) for n in range(1, 4)])
        source = source_edge.source()
        folder = source_edge.folders[0]
        last = read(source, folder)[-1].uid or 0
        source_edge.deliver([note(4), note(5)])
        source = source_edge.reopened(source)
        if source_edge.stable_uids:
            assert ids(read(source, folder, last_uid=last)) == ["<n4@test>", "<n5@test>"]
        else:
            # No stable UIDs (uidvalidity None): the scan reads such a folder whole
            # each time and its message keys drop what it has seen.
            assert source.open_folder(folder).uidvalidity is None
            assert ids(read(source, folder)) == [f"<n{n}@test>" for n in range(1, 6)]

    def test_uidvalidity_stays_and_uidnext_is_past_every_uid(self, source_edge: SourceEdge) -> None:
        source_edge.deliver([note(1), note(2)])
        source = source_edge.source()
        folder = source_edge.folders[0]
        first = source.open_folder(folder)
        last = read(source, folder)[-1].uid or 0
        source_edge.deliver([note(3)])
        again = source_edge.reopened(source).open_folder(folder)
        if source_edge.stable_uids:
            assert isinstance(first.uidvalidity, int) and first.uidvalidity > 0
            assert again.uidvalidity == first.uidvalidity
            assert first.uidnext is not None and first.uidnext > last
            assert again.uidnext is not None and again.uidnext > first.uidnext
        else:
            # UIDs are positions in one reading: nothing stays valid between readings
            assert (first.uidvalidity, again.uidvalidity) == (None, None)

    def test_header_bytes_come_as_given(self, source_edge: SourceEdge) -> None:
        header = (
            "From: =?utf-8?q?Zo=C3=AB_Quinn?= <zoe@y.example>\r\n"
            "To: me@example.org,\r\n\tbob@x.example\r\n"
            "Cc: Jörg <jorg@z.example>\r\n"
            "Subject: a subject folded\r\n over two lines, with ümlauts\r\n"
            f"Date: {format_datetime(WHEN)}\r\n"
            "Message-ID: <given@test>\r\n"
            "List-Id: <news.list.example>"
        ).encode()
        source_edge.deliver([header + b"\r\n\r\nbody\r\n"])
        (got,) = read(source_edge.source(), source_edge.folders[0])
        # IMAP ends the fields with an empty line and mbox stores LF: the bytes are the same
        assert got.header.replace(b"\r\n", b"\n").rstrip(b"\n") == header.replace(b"\r\n", b"\n")

    def test_the_delivery_time_comes_as_internaldate(self, source_edge: SourceEdge) -> None:
        source_edge.deliver([note(1)])
        (got,) = read(source_edge.source(), source_edge.folders[0])
        assert got.internaldate == WHEN  # mbox: from its "From " line

    def test_mail_expunged_after_the_listing_is_left_out(self, source_edge: SourceEdge) -> None:
        source_edge.deliver([note(n) for n in range(1, 5)])
        source = source_edge.source()
        folder = source_edge.folders[0]
        info = source.open_folder(folder)
        new = source.new_messages(info, 0)
        source_edge.expunge(2)
        got = ids([m for c in source.fetch(info, new, 10) for m in c])
        if source_edge.kind == "mbox":
            # An MboxSource reads the file it opened; a mail program replaces the file
            # to remove mail, so the import reads the mbox as it was when opened.
            assert got == ["<n1@test>", "<n2@test>", "<n3@test>", "<n4@test>"]
        else:
            assert got == ["<n1@test>", "<n3@test>", "<n4@test>"]


# -- Drafts ------------------------------------------------------------------


def draft(key: str | None, body: str = "Hello,\r\n", field: str = DRAFT_KEY_HEADER) -> bytes:
    keyed = f"{field}: {key}\r\n" if key else ""
    return (
        f"From: Pat Doe <me@example.org>\r\nTo: anna@a.example\r\nSubject: catching up\r\n"
        f"Date: {format_datetime(WHEN)}\r\n{keyed}\r\n{body}"
    ).encode()


@pytest.fixture(params=["memory", "maildir", "imap"])
def drafts_edge(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A function making a Drafts object on the same folder each time it is called."""
    if request.param == "memory":
        mailbox = MemoryMailbox()
        yield mailbox.drafts
    elif request.param == "maildir":
        yield lambda: MaildirDrafts(tmp_path / "Drafts")
    else:
        source = _imap_source(request, _imap_config(request))
        yield source.drafts


class TestDrafts:
    def test_an_empty_folder_has_no_keys(self, drafts_edge: Any) -> None:
        assert drafts_edge().existing_keys() == set()

    def test_appended_drafts_are_seen_by_their_keys(self, drafts_edge: Any) -> None:
        drafts: Drafts = drafts_edge()
        drafts.append(draft("intro:anna@a.example"), WHEN)
        drafts.append(draft("digest:2026-03-04"), WHEN)
        drafts.append(draft(None), WHEN)  # the owner's own draft: no key
        keys = {"intro:anna@a.example", "digest:2026-03-04"}
        assert drafts.existing_keys() == keys
        assert drafts_edge().existing_keys() == keys  # kept in the folder, not the object

    def test_keys_come_from_the_header_only_in_any_case(self, drafts_edge: Any) -> None:
        drafts: Drafts = drafts_edge()
        drafts.append(draft("reply:1", field=DRAFT_KEY_HEADER.lower()), WHEN)
        drafts.append(draft(None, body=f"{DRAFT_KEY_HEADER}: quoted:2\r\n"), WHEN)
        assert drafts.existing_keys() == {"reply:1"}


# -- CommandBox --------------------------------------------------------------

# The header fields a command mail is judged by (what ImapCommandBox fetches).
JUDGED = (
    b"from",
    b"to",
    b"cc",
    b"bcc",
    b"delivered-to",
    b"x-original-to",
    b"message-id",
    b"subject",
    b"date",
    b"content-type",
    b"authentication-results",
)


def command_mail(n: int, to: str = COMMAND, extra: str = "") -> bytes:
    return (
        f"Received: from mx.example.org by mail.example.org\r\n"
        f"Authentication-Results: mx.example.org; dkim=pass header.d=example.org\r\n"
        f"From: Pat Doe <me@example.org>\r\nTo: {to}\r\n{extra}Subject: mailer\r\n"
        f"Date: {format_datetime(WHEN)}\r\nMessage-ID: <c{n}@test>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\nX-Spam-Status: No\r\n"
        f"\r\nweed anna@a.example\r\n"
    ).encode()


class BoxEdge:
    """A CommandBox, with mail delivered to its INBOX and its folders read back."""

    box: CommandBox

    def deliver(self, messages: list[bytes]) -> None:
        raise NotImplementedError

    def folder(self, name: str) -> list[bytes] | None:
        raise NotImplementedError


class MemoryBoxEdge(BoxEdge):
    def __init__(self) -> None:
        self.mailbox = MemoryMailbox()
        self.mailbox.create("INBOX")
        self.box = self.mailbox.command_box()

    def deliver(self, messages: list[bytes]) -> None:
        for m in messages:
            self.mailbox.append("INBOX", m, WHEN)

    def folder(self, name: str) -> list[bytes] | None:
        return self.mailbox.messages(name) if name in self.mailbox.folders() else None


class ImapBoxEdge(BoxEdge):
    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.user: ImapUser = request.getfixturevalue("imap_user")
        source = _imap_source(request, _imap_config(request))
        self.box = source.command_box()

    def deliver(self, messages: list[bytes]) -> None:
        self.user.append("INBOX", messages, internaldates=[WHEN] * len(messages))

    def folder(self, name: str) -> list[bytes] | None:
        return _imap_folder(self.user, name)


@pytest.fixture(params=["memory", "imap"])
def box_edge(request: pytest.FixtureRequest) -> BoxEdge:
    return MemoryBoxEdge() if request.param == "memory" else ImapBoxEdge(request)


def message_ids(items: list[Any]) -> list[str]:
    return ids([RawMessage(header=i.header) for i in items])


class TestCommandBox:
    def test_candidates_are_mail_to_the_address_or_a_look_alike_by_uid(
        self, box_edge: BoxEdge
    ) -> None:
        box_edge.deliver(
            [
                command_mail(1),
                command_mail(2, to="anna@a.example"),  # not for mailer
                command_mail(3, to="me+mailer@example.org"),  # a look-alike: judged later
                command_mail(4, to="anna@a.example", extra=f"Cc: {COMMAND.upper()}\r\n"),
                command_mail(5, to="anna@a.example", extra=f"Delivered-To: {COMMAND}\r\n"),
                command_mail(6, to="me+other@example.org"),
            ]
        )
        items = box_edge.box.candidates(COMMAND)
        assert message_ids(items) == ["<c1@test>", "<c3@test>", "<c4@test>", "<c5@test>"]
        uids = [i.uid for i in items]
        assert uids == sorted(set(uids))

    def test_a_candidate_carries_the_judged_fields_its_size_and_date(
        self, box_edge: BoxEdge
    ) -> None:
        raw = command_mail(1, extra="Reply-To: someone@else.example\r\n")
        box_edge.deliver([raw])
        (item,) = box_edge.box.candidates(COMMAND)
        lines = item.header.split(b"\r\n")
        names = {ln.split(b":", 1)[0].lower() for ln in lines if ln and ln[:1] not in b" \t"}
        assert names == {n for n in JUDGED if b"\n" + n + b":" in b"\n" + raw.lower()}
        kept = [
            ln
            for ln in raw.split(b"\r\n\r\n")[0].split(b"\r\n")
            if ln.split(b":")[0].lower() in names
        ]
        assert item.header == b"\r\n".join(kept) + b"\r\n\r\n"  # as given, in order
        assert (item.size, item.internaldate) == (len(raw), WHEN)

    def test_body_is_the_whole_raw_mail(self, box_edge: BoxEdge) -> None:
        raws = [command_mail(1), command_mail(2)]
        box_edge.deliver(raws)
        items = box_edge.box.candidates(COMMAND)
        assert [box_edge.box.body(i) for i in items] == raws

    def test_move_takes_mail_out_of_inbox_into_a_folder_made_for_it(
        self, box_edge: BoxEdge
    ) -> None:
        raws = [command_mail(n) for n in (1, 2, 3)]
        box_edge.deliver(raws)
        first, second, third = box_edge.box.candidates(COMMAND)
        assert box_edge.folder("Handled") is None
        box_edge.box.move([first.uid, second.uid], "Handled")
        assert message_ids(box_edge.box.candidates(COMMAND)) == ["<c3@test>"]
        assert box_edge.folder("Handled") == raws[:2]
        box_edge.box.move([third.uid], "Handled")  # into the folder, now there
        assert box_edge.box.candidates(COMMAND) == []
        assert box_edge.folder("Handled") == raws
        assert box_edge.folder("INBOX") == []

    def test_moving_nothing_makes_no_folder(self, box_edge: BoxEdge) -> None:
        box_edge.box.move([], "Never")
        assert box_edge.folder("Never") is None
