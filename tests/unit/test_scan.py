"""Parsing the FETCH responses of a scan.

Scans against a real Dovecot, mbox and Maildir are in tests/system/test_scan.py.
"""

from __future__ import annotations

from typing import Any

from mailer.sources.imap import parse_fetch
from tests.support.scanhelp import (
    utc,
)


def test_parse_fetch_handles_every_response_shape() -> None:
    data: list[Any] = [
        (
            b'1 (UID 7 INTERNALDATE "01-Feb-2026 10:00:00 +0100" BODY[HEADER.FIELDS (FROM)] {9}',
            b"From: a\r\n",
        ),
        b")",
        (b"2 (BODY[HEADER.FIELDS (FROM)] {9}", b"From: b\r\n"),
        b' UID 8 INTERNALDATE " 2-Mar-2026 23:59:59 -0500")',
        b'3 (UID 9 INTERNALDATE "03-Mar-2026 00:00:00 +0000" BODY[HEADER.FIELDS (FROM)] "")',
    ]
    out = parse_fetch(data)
    assert [(m.uid, m.header) for m in out] == [(7, b"From: a\r\n"), (8, b"From: b\r\n"), (9, b"")]
    assert [m.internaldate for m in out] == [
        utc(2026, 2, 1, 9),
        utc(2026, 3, 3, 4, 59, 59),
        utc(2026, 3, 3),
    ]
