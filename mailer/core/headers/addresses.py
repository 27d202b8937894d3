"""Address-list fields (From, To, Cc, Bcc) split into addresses and display names.

Plain lists are split here, fast; the standard library judges the hard
ones. Which of the addresses are the owner's is `Identity`'s business.
"""

from __future__ import annotations

import email.utils
import re
from typing import TYPE_CHECKING

from mailer.core.headers.text import _ENCODED_WORD_RE, _clean

if TYPE_CHECKING:
    from mailer.core.headers.identity import Identity

_Address = tuple[str, int, str | None]  # (lower-case address, kind, display name)
_MAX_HARD_LIST = 8192  # characters of an address list the stdlib parser is given
# Comma-separated pieces of an address list, commas inside quotes kept.
_QUOTED_LIST_RE = re.compile(r'(?:"[^"]*"|[^,"])+')


def _name(raw: str, address: str) -> str | None:
    """A display name worth keeping: decoded, unquoted, not the address again."""
    name = _clean(raw)
    while name and len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        name = name[1:-1].strip()
    if not name or name.lower() == address:
        return None
    return name


# An encoded word stands in for one opaque atom while a list is split (see _mask_words).
_MASK_OPEN, _MASK_CLOSE = "\ue000", "\ue001"  # private use: no mail means anything by them
_MASKED_RE = re.compile(f"{_MASK_OPEN}(\\d+){_MASK_CLOSE}")


def _mask_words(value: str) -> tuple[str, list[str]]:
    """`value` with each encoded word replaced by a placeholder atom, and the words.

    An encoded word is one atom of a display name (RFC 2047 section 5): what
    it decodes to is never syntax. `=?utf-8?q?x:anna@a.example;?= <eve@evil.example>`
    is one mail from eve (so mail clients and Python's own parser show it), but
    split as it stands, its colon and semicolon make a group holding anna.
    So the list is split with the words masked, and they are decoded after.
    """
    words: list[str] = []

    def mask(m: re.Match[str]) -> str:
        words.append(m.group(0))
        return f"{_MASK_OPEN}{len(words) - 1}{_MASK_CLOSE}"

    if _MASK_OPEN in value:  # a sender's own placeholder characters mean nothing
        value = value.replace(_MASK_OPEN, "\ufffd")
    return _ENCODED_WORD_RE.sub(mask, value), words


def _unmask(text: str, words: list[str]) -> str:
    if _MASK_OPEN not in text:
        return text
    return _MASKED_RE.sub(lambda m: words[int(m.group(1))], text)


def _parse_addresses(value: str, who: Identity) -> tuple[_Address, ...]:
    """The real addresses in an address-list field, with their display names.

    Plain lists ("a@x, Name <b@y>", quoted names too) are split here; the
    standard library's getaddresses is the judge of the hard ones: comments,
    groups, backslashes, unbalanced quotes. Encoded words are decoded only
    after the split (`_mask_words`).
    """
    words: list[str] = []
    if "=?" in value:
        value, words = _mask_words(value)
    pairs = None
    if "(" in value or ":" in value or ";" in value or "\\" in value or value.count('"') % 2:
        pairs = _stdlib_addresses(value)
    if pairs is None:
        pairs = _split_addresses(value)
    found = []
    seen = who._seen
    for name, raw in pairs:
        if words:
            name, raw = _unmask(name, words), _unmask(raw, words)
        info = seen[raw] if raw in seen else who._classify(raw)
        if info is not None:
            addr, kind = info
            found.append((addr, kind, _name(name, addr) if name else None))
    return tuple(found)


def _stdlib_addresses(value: str) -> list[tuple[str, str]] | None:
    # getaddresses recurses once per nested "(" and is slow on huge values;
    # lists that long are mass mail anyway, and the plain split does for them.
    if len(value) > _MAX_HARD_LIST or value.count("(") > 64:
        return None
    try:
        return email.utils.getaddresses([" ".join(value.split())])
    except Exception:  # it has had crashes on odd input
        return None


def _split_addresses(value: str) -> list[tuple[str, str]]:
    pieces = _QUOTED_LIST_RE.findall(value) if '"' in value else value.split(",")
    pairs = []
    for piece in pieces:
        lt = piece.rfind("<")
        if lt == -1:
            pairs.append(("", piece))
        else:
            gt = piece.find(">", lt)
            pairs.append((piece[:lt], piece[lt + 1 : gt] if gt != -1 else piece[lt + 1 :]))
    return pairs
