"""Finding new mail by sequence numbers: parsing FETCH answers and the progress bar.

The listing against a real Dovecot is tested in tests/system/test_listing.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mailer.app import App
from mailer.config import load
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
    real = store.commit_scan_batch

    def commit(*args: Any) -> Any:
        commits.append(len(args[1]))  # messages in the transaction
        return real(*args)

    monkeypatch.setattr(store, "commit_scan_batch", commit)
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
