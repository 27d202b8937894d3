"""Finding new mail by sequence numbers: parsing FETCH answers, the progress bar, and
two scans counting the same mail at once.

The listing against a real Dovecot is tested in tests/system/test_listing.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mailer.app import App
from mailer.config import load
from mailer.core.headers import Identity, parse_message
from mailer.model import FolderState, RawMessage
from mailer.scan import scan
from mailer.sources.imap import parse_fetch
from mailer.sources.local import MaildirSource
from mailer.store import Store
from tests.support.mailgen import Mail, bulk, write_maildir
from tests.support.scanhelp import utc, write_config


def test_parse_fetch_leaves_out_mail_expunged_elsewhere() -> None:
    # Dovecot's answer for messages another client expunged: the header is NIL
    data: list[Any] = [
        (
            b'9 (UID 9 INTERNALDATE "01-Feb-2026 10:00:00 +0000" BODY[HEADER.FIELDS (FROM)] {9}',
            b"From: a\r\n",
        ),
        b")",
        b'10 (UID 10 INTERNALDATE "01-Feb-2026 10:00:00 +0000" BODY[HEADER.FIELDS (FROM)] NIL)',
        b'11 (UID 11 INTERNALDATE "01-Feb-2026 10:00:00 +0000" BODY[HEADER.FIELDS (FROM)] "")',
        b"10 (FLAGS (\\Deleted \\Recent))",
    ]
    assert [(m.uid, m.header) for m in parse_fetch(data)] == [(9, b"From: a\r\n"), (11, b"")]


def test_progress_moves_every_chunk_while_batches_stay_large(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    when = utc(2026, 1, 5)
    write_maildir(tmp_path / "Maildir", [Mail("INBOX", m, when) for m in bulk(4500, contacts=90)])
    store = Store(tmp_path / "mailer.json")
    commits: list[int] = []
    real = store.commit_counted

    def commit(*args: Any) -> Any:
        commits.append(args[1].messages)  # messages in the transaction
        return real(*args)

    monkeypatch.setattr(store, "commit_counted", commit)
    steps: list[tuple[int, int]] = []
    config = load(str(write_config(tmp_path, None)))
    source = MaildirSource(tmp_path / "Maildir")
    report = scan(
        store,
        source,
        App(config).identity,
        utc(2026, 11, 1),
        batch_size=20_000,
        progress=lambda _folder, done, total: steps.append((done, total)),
    )
    assert report.fetched == 4500
    assert commits == [4500]  # one store transaction for the folder, as before
    assert steps == [(0, 4500), (2000, 4500), (4000, 4500), (4500, 4500)]


WHEN = utc(2026, 1, 5)  # when the racing tests' mail arrived
NOW = utc(2026, 11, 1)


def _racing_mailbox(tmp_path: Path) -> tuple[list[bytes], Identity, MaildirSource]:
    """4,500 messages in a Maildir (three chunks), whose owner, and the source."""
    mails = bulk(4500, contacts=90)
    write_maildir(tmp_path / "Maildir", [Mail("INBOX", m, WHEN) for m in mails])
    who = App(load(str(write_config(tmp_path, None)))).identity
    return mails, who, MaildirSource(tmp_path / "Maildir")


def _counted_elsewhere(store: Store, who: Identity, mails: list[bytes], uid: int) -> None:
    """Another process counts copies of `mails` (an import of them, say)."""
    raws = [RawMessage(m.split(b"\r\n\r\n")[0], WHEN) for m in mails]
    position = FolderState("mbox:copy", "copy", None, uid)
    store.commit_scan_batch(position, [parse_message(r, who) for r in raws], [])


def test_a_scan_raced_by_another_over_the_same_mail_counts_each_message_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mails, who, source = _racing_mailbox(tmp_path)
    reference = Store(tmp_path / "alone.json")
    scan(reference, source, who, NOW)

    store, other = Store(tmp_path / "mailer.json"), Store(tmp_path / "mailer.json")
    outcomes: list[bool] = []
    real = store.commit_counted

    def commit(*args: Any) -> Any:
        result = real(*args)
        outcomes.append(result is not None)
        return result

    def progress(_folder: str, done: int, _total: int) -> None:
        # Once the batch has started (the first chunk was counted), another
        # process counts a hundred of the same messages.
        if done == 4000 and not outcomes:
            _counted_elsewhere(other, who, mails[3000:3100], 100)

    monkeypatch.setattr(store, "commit_counted", commit)
    report = scan(store, source, who, NOW, progress=progress)
    assert outcomes == [False, True]  # refused, then the folder read again
    assert store.contacts() == reference.contacts()
    assert store.stats()["messages_seen"] == 4500
    assert (report.fetched, report.folders[0].duplicates) == (4500, 100)


def test_a_folder_raced_on_every_try_is_left_to_the_next_scan(tmp_path: Path) -> None:
    mails, who, source = _racing_mailbox(tmp_path)
    store, other = Store(tmp_path / "mailer.json"), Store(tmp_path / "mailer.json")
    tries: list[int] = []

    def progress(_folder: str, done: int, _total: int) -> None:
        if done == 4000:  # each try, another process counts another copy of this mail
            n = len(tries)
            tries.append(n)
            _counted_elsewhere(other, who, mails[n : n + 1], n + 1)

    report = scan(store, source, who, NOW, progress=progress, skip_faulty=True)
    assert len(tries) == 3
    assert "another scan counted mail of 'INBOX' at the same time" in (
        report.folders[0].error or ""
    )
    assert store.stats()["messages_seen"] == 3  # only the other process's
    again = scan(store, source, who, NOW, skip_faulty=True)
    assert (again.fetched, again.folders[0].duplicates, again.folders[0].error) == (4500, 3, None)
