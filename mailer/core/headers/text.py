"""Header text for people: RFC 2047 encoded words decoded, one printable line.

Subjects and display names arrive encoded in whatever charset the sender's
client chose; what is kept of them is bounded and made safe to print.
"""

from __future__ import annotations

import base64
import binascii
import re

from mailer.core.clean import clean_line

MAX_SUBJECT = 200  # characters kept of a subject (and of a display name)
_MAX_RAW_TEXT = 4000  # raw characters decoded for those; the rest is cut anyway

# Labels that mail clients use for a superset, as web browsers also read them.
_CHARSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "unknown-8bit": "utf-8",
}
_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def _decode_word(m: re.Match[str]) -> str:
    charset, kind, text = m.group(1), m.group(2), m.group(3)
    charset = charset.split("*", 1)[0].lower()  # RFC 2231 language suffix
    try:
        if kind in "bB":
            data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        else:
            data = binascii.a2b_qp(text.encode("ascii", "replace"), header=True)
    except (binascii.Error, ValueError):
        return m.group(0)
    try:
        return data.decode(_CHARSETS.get(charset, charset), "replace")
    except Exception:  # unknown or non-text codec: the bytes are most likely UTF-8
        return data.decode("utf-8", "replace")


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words; whitespace between two of them goes away."""
    if "=?" not in text:
        return text
    out: list[str] = []
    pos = 0
    for m in _ENCODED_WORD_RE.finditer(text):
        gap = text[pos : m.start()]
        if pos == 0 or gap.strip():  # whitespace between two encoded words is dropped
            out.append(gap)
        out.append(_decode_word(m))
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def _clean(text: str, limit: int = MAX_SUBJECT) -> str | None:
    """Decoded, one line, printable, at most `limit` characters; None if empty."""
    text = text.strip()
    if len(text) > _MAX_RAW_TEXT:
        cut = text.rfind(" ", 0, _MAX_RAW_TEXT)
        text = text[: cut if cut > 0 else _MAX_RAW_TEXT]
    if "=?" in text:
        text = decode_words(text)
    if "  " in text or not text.isprintable():  # folds, tabs, controls, escape sequences
        text = " ".join(clean_line(text).split())
    if len(text) > limit:
        text = text[:limit].rstrip()
    return text or None
