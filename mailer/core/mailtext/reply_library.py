"""The `mail-parser-reply` library, fed safely: it trims what our rules left.

It knows signatures and quote headers of several languages; its patterns
are slow on long lines, so it never sees one whole.
"""

from __future__ import annotations

import hashlib

from mailparser_reply import EmailMessage as ReplyText

from mailer.core.mailtext.limits import LINE_HEAD, LONG_LINE

# Reply-header and signature patterns of these languages are applied. Left
# out on purpose: languages whose signature openers are common word starts
# ("Kh", "Tak" in Danish, "/\w+" in Swedish) and would cut off real lines.
REPLY_LANGUAGES = ("en", "de", "fr", "es", "it", "nl")


def _reply_message(text: str) -> ReplyText:
    # A fresh list each time: the library appends to the one it is given.
    return ReplyText(text=text, languages=list(REPLY_LANGUAGES), keep_hyphen_lists=True)


def _shorten_lines(text: str) -> tuple[str, dict[str, str]]:
    """Long lines cut to a stand-in, and the originals by stand-in.

    The reply library's "On ... wrote:" pattern costs the square of a line's
    length (a 64 KB line starting with "On " takes most of a minute), and
    anyone can mail the command address. Quote headers are short, so the
    library sees only the start of a long line plus a token, and the owner's
    long lines are put back afterwards.
    """
    nonce = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    originals: dict[str, str] = {}
    out = []
    for line in text.split("\n"):
        if len(line) > LONG_LINE:
            token = f"zq{nonce}x{len(originals)}"
            originals[token] = line.strip()
            line = f"{line[:LINE_HEAD]} {token}"
        out.append(line)
    return "\n".join(out), originals


def _library_cut(text: str) -> str:
    """What mail-parser-reply keeps of `text` (which our rules already cut)."""
    short, originals = _shorten_lines(text)
    try:
        message = _reply_message(short).read()
    except Exception:
        return ""
    if not message.replies:
        return ""
    first = message.replies[0]
    if first.headers:
        # The text starts with a quote header: the owner wrote nothing above it.
        return ""
    lines = []
    for line in first.body.split("\n"):
        if line.lstrip().startswith(">"):
            continue
        token = line.rsplit(" ", 1)[-1]
        lines.append(originals.get(token, line).rstrip())
    return "\n".join(lines).strip()
