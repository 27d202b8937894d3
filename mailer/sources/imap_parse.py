"""Reading imaplib's raw FETCH responses into RawMessages, without the network.

Pure parsing, apart from the session that sends the FETCH (imap.py): it is
tested on recorded bytes, and against imapclient's own parser by
tests/test_scan.py. Why the scan reads imaplib's responses at all: see
`ImapSource._fetch_range`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from mailer.model import RawMessage

_START = re.compile(rb"\d+ \(")  # "5 (UID ...": a new message; the rest continue one
_UID = re.compile(rb"\bUID (\d+)")
_NIL_HEADER = re.compile(rb"BODY\[HEADER[^\]]*\] NIL")  # expunged elsewhere: header gone
_INTERNALDATE = re.compile(
    rb'INTERNALDATE "\s*(\d{1,2})-(\w{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([-+])(\d\d)(\d\d)"'
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        (
            b"Jan",
            b"Feb",
            b"Mar",
            b"Apr",
            b"May",
            b"Jun",
            b"Jul",
            b"Aug",
            b"Sep",
            b"Oct",
            b"Nov",
            b"Dec",
        ),
        start=1,
    )
}


def _internaldate(text: bytes) -> datetime | None:
    m = _INTERNALDATE.search(text)
    if not m:
        return None
    day, mon, year, hh, mm, ss, sign, oh, om = m.groups()
    month = _MONTHS.get(mon.capitalize())
    if month is None:
        return None
    offset = timedelta(hours=int(oh), minutes=int(om))
    try:
        local = datetime(int(year), month, int(day), int(hh), int(mm), int(ss), tzinfo=UTC)
    except ValueError:
        return None
    return local - offset if sign == b"+" else local + offset


def parse_fetch(data: list[Any]) -> list[RawMessage]:
    """imaplib's FETCH data -> RawMessages.

    Each message is a `(prefix, literal)` tuple followed by the bytes that close
    it; a header fetched as "" or NIL comes as plain bytes with no literal.
    UID and INTERNALDATE may stand before or after the literal. NIL is a
    message another client expunged (Dovecot: `[EXPUNGEISSUED]`): it is left
    out, neither read nor unreadable.
    """
    out: list[RawMessage] = []
    pending: list[bytes] = []  # the response text of the message being read
    header = b""

    def flush() -> None:
        if not pending:
            return
        text = b" ".join(pending)
        m = _UID.search(text)
        if m and (header or not _NIL_HEADER.search(text)):
            out.append(
                RawMessage(header=header, internaldate=_internaldate(text), uid=int(m.group(1)))
            )

    for item in data:
        if isinstance(item, tuple):
            flush()
            pending, header = [item[0]], item[1] or b""
        elif isinstance(item, bytes):
            if _START.match(item):
                flush()  # a whole message without a literal
                pending, header = [item], b""
            else:
                pending.append(item)
    flush()
    return out


def aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
