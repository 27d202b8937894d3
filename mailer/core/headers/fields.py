"""The header block: raw bytes in, field values out.

The scan's hot path does not use the `email` package's parser: the few
fields it needs are picked out of the raw header block with one regular
expression.
"""

from __future__ import annotations

import re

# What a source must fetch (BODY.PEEK[HEADER.FIELDS (...)]). Every field costs
# bytes on every message of every scan, so only what section 3 needs is here.
# Sender is left out on purpose: it only matters for list mail, which List-Id
# and Precedence already catch.
HEADER_FIELDS: tuple[str, ...] = (
    "From",
    "To",
    "Cc",
    "Bcc",
    "Date",
    "Subject",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "Precedence",
    "Auto-Submitted",
)

HEADER_LIMIT = 1 << 20  # a header block larger than this is cut; the parser copes


def _field_regex(names: str) -> re.Pattern[str]:
    # Matches "\nName: value" with its continuation lines, or the blank line
    # that ends the header block (as an empty name). Continuation lines start
    # with a space or tab; a "\r" before "\n" stays in the value, for the
    # users of the value to strip. The leading "\n" (rather than "^" and
    # MULTILINE) lets the regex engine jump from line to line, and spelling
    # out the case ([Ff][Rr]...) rather than IGNORECASE makes it 4 times faster.
    return re.compile(rf"\n({names})[ \t]*:(.*(?:\r?\n[ \t].*)*)|\n\r?\n")


def _any_case(name: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in name)


_WANTED_RE = _field_regex("|".join(_any_case(n) for n in HEADER_FIELDS))
_ANY_FIELD_RE = _field_regex("[!-9;-~]+")
_BLANK = ("", "")
_LONG_HEADER = 8192  # beyond this, cut at the blank line before decoding


def _text(value: bytes) -> str:
    """Header bytes as text: UTF-8 if it is, else Latin-1 (every byte is a char)."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = value.decode("utf-8", "replace")
    # Mostly UTF-8 with a stray byte: keep the UTF-8. No UTF-8 at all: Latin-1.
    if any(c > "\x7f" and c != "\ufffd" for c in text):
        return text
    return value.decode("latin-1")


def _fields(header: bytes, pattern: re.Pattern[str]) -> dict[str, str]:
    """Lower-case field name -> first value, as it stands (folded, not stripped).

    Collapsing whitespace is left to the users of each value: most of them
    cope with it for free, and it would cost a fifth of the whole parse.
    A leading mbox "From " line has no colon after "From", so it never matches.
    """
    if len(header) > _LONG_HEADER:  # perhaps a whole message: keep the body out
        end = header.find(b"\n\n")
        crlf = header.find(b"\n\r\n")
        if crlf != -1 and (end == -1 or crlf < end):
            end = crlf
        if end != -1:
            header = header[: end + 1]
    try:
        text = header.decode("utf-8")
        mixed = False
    except UnicodeDecodeError:
        # Decide per field below: one Latin-1 name must not spoil the rest.
        text = header.decode("utf-8", "surrogateescape")
        mixed = True
    pairs = pattern.findall("\n" + text)
    if _BLANK in pairs:
        del pairs[pairs.index(_BLANK) :]
    found: dict[str, str] = {}
    # Backwards, so that the first occurrence of a field is the one left.
    for name, value in reversed(pairs):
        if mixed and not value.isascii():
            value = _text(value.encode("utf-8", "surrogateescape"))
        found[name.lower()] = value
    return found


def parse_header_fields(header: bytes) -> dict[str, str]:
    """All fields of a header block: lower-case name -> first value.

    Values are unfolded and whitespace-collapsed, bytes decoded as UTF-8 (or
    Latin-1), encoded words left as they are (see `decode_words`).
    """
    return {k: " ".join(v.split()) for k, v in _fields(bytes(header), _ANY_FIELD_RE).items()}


def header_block(data: bytes) -> bytes:
    """The bytes of a whole message up to the first empty line (LF or CRLF)."""
    data = data[:HEADER_LIMIT]
    cut = [i for i in (data.find(b"\n\n"), data.find(b"\r\n\r\n")) if i >= 0]
    return data[: min(cut)] if cut else data
