"""The MIME structure of a command mail: parsed within bounds, walked part by part.

Also RFC 3676 format=flowed, which a text/plain part may declare.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import Message

from mailer.core.mailtext.fields import _raw_headers
from mailer.core.mailtext.limits import (
    MAX_DASH_LINES,
    MAX_DEPTH,
    MAX_MULTIPARTS,
    MAX_PARTS,
    MAX_RAW_BYTES,
)

_DASH_LINE = re.compile(rb"\n--")
_BOUNDARY_PARAM = re.compile(rb"boundary\s*=", re.IGNORECASE)


def _bounded(raw: bytes) -> bytes:
    """The part of a raw mail that is parsed, so the parser's work is bounded whatever
    the mail holds: the first MAX_RAW_BYTES, cut before the line of the
    MAX_DASH_LINES-th "--" line (every MIME part needs one) and of the
    MAX_MULTIPARTS-th "boundary=" (every level of nesting needs one; the parser
    checks each line against every open level)."""
    raw = raw[:MAX_RAW_BYTES]
    end = len(raw)
    for pattern, limit in ((_DASH_LINE, MAX_DASH_LINES), (_BOUNDARY_PARAM, MAX_MULTIPARTS)):
        for k, m in enumerate(pattern.finditer(raw, 0, end)):
            if k == limit:
                end = raw.rfind(b"\n", 0, m.start() + 1) + 1
                break
    return raw[:end]


def _params(part: Message) -> list[tuple[str, str]]:
    out = []
    for item in part.get_params() or []:
        if isinstance(item, tuple) and len(item) == 2:
            out.append((str(item[0]), str(item[1])))
    return out


def _is_attachment(part: Message) -> bool:
    try:
        values = _raw_headers(part, "Content-Disposition")
    except Exception:
        return False
    return bool(values) and values[0].split(";")[0].strip().lower() == "attachment"


def _parts(msg: Message) -> Iterator[Message]:
    """The mail's own parts, depth first, not descending into attached messages."""
    stack = [(msg, 0)]
    seen = 0
    while stack and seen < MAX_PARTS:
        part, depth = stack.pop()
        seen += 1
        yield part
        if depth < MAX_DEPTH and part.get_content_maintype() == "multipart":
            payload = part.get_payload()
            if isinstance(payload, list):
                children = [(p, depth + 1) for p in payload[:MAX_PARTS] if isinstance(p, Message)]
                stack.extend(reversed(children))


def unflow(text: str, delsp: bool = False) -> str:
    """Undo RFC 3676 format=flowed: a line ending in a space continues on the next.

    Thunderbird and others wrap long lines this way; a long `note` would
    otherwise arrive as a command line plus an orphan line. The pieces of a
    paragraph are collected and joined once (joining as we go was quadratic:
    9 MB took minutes).
    """
    out: list[str] = []
    pending: list[str] | None = None  # pieces of a flowed paragraph not yet ended
    pending_depth = 0

    def emit(depth: int, line: str) -> None:
        out.append(">" * depth + (" " if depth else "") + line)

    for raw in text.replace("\r\n", "\n").split("\n"):
        depth = len(raw) - len(raw.lstrip(">"))
        line = raw[depth:]
        if line.startswith(" "):
            line = line[1:]  # space-stuffing
        flowed = line.endswith(" ") and line != "-- "
        if pending is not None and depth != pending_depth:
            emit(pending_depth, "".join(pending))
            pending = None
        if flowed:
            piece = line[:-1] if delsp else line
            if pending is None:
                pending, pending_depth = [piece], depth
            else:
                pending.append(piece)
            continue
        if pending is not None:
            pending.append(line)
            line = "".join(pending)
            pending = None
        emit(depth, line)
    if pending is not None:
        emit(pending_depth, "".join(pending))
    return "\n".join(out)
