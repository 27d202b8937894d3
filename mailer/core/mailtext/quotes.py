"""Where the owner's new lines end: the quote, forward or signature below them (`cut_reply`).

A command left inside quoted text would be applied again on every reply,
so the quote is found by what mailer itself wrote, not only by what a parser
recognises. Every digest and confirmation starts with `MARK`, a line of
mailer's own; in a reply, everything from the quoted copy of that line on is
quote, whatever the client, language or prefix, with or without
In-Reply-To, even when the owner pasted the text of `mailer digest preview`.
When a client dropped the mark, the first body line of mailer's text
(`MAILER_OPENERS`) does the same. For all other mail, language-independent
rules find where the quote starts (`cut_reply`): a block of two or more
header-like lines ("word(s): value", one value an address or a date: Från: /
Skickat:, Od: / Wysłano:, 差出人: / 送信日時:, ...), a separator line
(----- text -----, a row of underscores), or a line that carries an address
or a date and ends with a colon (every client's "On ... wrote:"). The
`mail-parser-reply` library then trims what is left (signatures it knows).
`Cut.rule` says which rule cut, so tests can say it of every test mail.

Replies are read top-posted: lines below a quote header or below mailer's
text are never commands (bottom-posting is not supported: the owner hears
"no command found"). Bare ">" lines without any quote header are dropped one
by one, and the owner's lines between them still count.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from mailer.core.mailtext.forwards import _forward_fields, is_forward_subject
from mailer.core.mailtext.limits import MAX_BODY_CHARS, MAX_LINES
from mailer.core.mailtext.lines import _Line, _line
from mailer.core.mailtext.reply_library import _library_cut

# Which rule ended the owner's new lines (`Cut.rule`, `MailInfo.cut_by`).
CUT_RULES = {
    "mark": "the quoted copy of MARK, mailer's first line",
    "mailer-text": "the first body line of mailer's text (the client dropped the mark)",
    "forward": "a forwarded-message separator or intro line (Forwarded message, Begin forwarded)",
    "separator": "a separator line: ----- text ----- or a row of underscores",
    "header-block": "two or more header-like lines, one of them carrying an address or a date",
    "attribution": "a line carrying an address or a date and ending with a colon",
    "signature": 'the signature line "-- "',
    "library": "mail-parser-reply (a signature or quote header it knows)",
    "forward-subject": "a forward by its subject whose forwarded part was not found: no commands",
    "quote-lines": 'nothing cut; only ">" lines were dropped',
    "none": "nothing cut",
}
_SEPARATOR = re.compile(r"(?:[-=]{3,}\s*(?P<text>[^-=\s].{0,200}?)\s*[-=]{3,}|_{10,})")
_FORWARD_WORDS = re.compile(
    r"forward|weiterge|r[ée]exp[ée]di|transf[ée]r[ée]|reenviad|inoltrat|doorgestuurd|"
    r"vidarebefordra|videresend|przekazan|przekazyw|пересла|пересыл|переадрес|転送|"
    r"iletilen|välitet|přeposlan|encaminhad|továbbított",
    re.IGNORECASE,
)


def _separator(line: _Line) -> str | None:
    """ "forward" or "separator" when the line is a separator line, else None."""
    if not line.short or not line.bare or line.bare[0] not in "-=_":
        return None
    m = _SEPARATOR.fullmatch(line.bare)
    if m is None:
        return None
    text = m.group("text") or ""
    return "forward" if _FORWARD_WORDS.search(text) else "separator"


def _quote_follows(lines: list[_Line], i: int) -> bool:
    """Is line `i` followed by quoted text (or by nothing), as an attribution line is?"""
    if lines[i].quoted:
        return True
    for line in lines[i + 1 : i + 5]:
        if line.bare:
            return line.quoted or line.raw[:1] in " \t|\xa0" or line.mailer
    return True


def _intro_above(lines: list[_Line], i: int) -> int:
    """Where a header block at `i` starts: its intro line ("Begin forwarded message:"), if any."""
    for j in range(i - 1, max(-1, i - 4), -1):
        line = lines[j]
        if not line.bare:
            continue
        if line.colon and line.short and line.words <= 8 and not (line.verb or line.address):
            return j
        break
    return i


def _header_runs(lines: list[_Line]) -> tuple[list[int], list[bool]]:
    """For each line: how many header-like lines run from it, and whether any of them
    carries an address or a date (one backward pass, so the scan stays linear)."""
    n = len(lines)
    run = [0] * (n + 1)
    dated = [False] * (n + 1)
    for i in range(n - 1, -1, -1):
        line = lines[i]
        if line.header:
            run[i] = run[i + 1] + 1
            dated[i] = line.address or line.day or (run[i + 1] > 0 and dated[i + 1])
    return run, dated


def _first_quote(lines: list[_Line]) -> tuple[int, str] | None:
    """The first line of quoted text and the rule that found it, or None."""
    run, dated = _header_runs(lines)
    for i, line in enumerate(lines):
        if not line.bare:
            continue
        if line.mark:
            return i, "mark"
        if line.mailer:
            return i, "mailer-text"
        if not line.short or line.verb:
            continue
        if kind := _separator(line):
            return i, kind
        if run[i] >= 2 and dated[i]:
            start = _intro_above(lines, i)
            intro = start < i and _FORWARD_WORDS.search(lines[start].bare)
            return start, "forward" if intro else "header-block"
        if line.colon and (
            line.bracketed or ((line.day or line.clock) and _quote_follows(lines, i))
        ):
            return i, "attribution"
        # An attribution wrapped by the client: "On <date>, Name <" / "addr> wrote:".
        following = lines[i + 1] if i + 1 < len(lines) else None
        if (
            following is not None
            and not line.colon
            and following.colon
            and following.short
            and not following.verb
            and following.words <= 4
            and (
                line.bracketed
                or following.bracketed
                or ((line.day or line.clock) and _quote_follows(lines, i + 1))
            )
        ):
            return i, "attribution"
    return None


def _trim_above(lines: list[_Line], i: int) -> int:
    """The start of the quote header just above mailer's text at `i` (a Subject: line
    of a pasted preview, a From: line ...): blank, header-like, separator, quoted or
    colon-ended lines, never a line that starts with a command word."""
    start = i
    for j in range(i - 1, max(-1, i - 13), -1):
        line = lines[j]
        if not line.bare:
            continue
        if line.verb or not line.short:
            break
        if line.header or line.quoted or line.colon or _separator(line):
            start = j
            continue
        break
    return start


@dataclass(frozen=True)
class Cut:
    """Where the owner's new text ends in a mail's text, and why."""

    text: str  # the owner's new lines
    rule: str  # a key of CUT_RULES
    line: int | None = None  # index of the first line cut, if any
    quote: str | None = None  # the rule that found the quote (a signature above it aside)
    forward: Mapping[str, str] | None = None  # the forwarded header fields, for a forward
    mailer: bool = False  # mailer's own text is quoted below (a reply to mailer)


def _count(text: str) -> int:
    return sum(1 for line in text.split("\n") if line.strip())


def cut_reply(text: str, subject: str = "") -> Cut:
    """The owner's new lines of a mail's text, and which rule ended them.

    The first quote boundary decides (see the module docstring): mailer's
    mark or opening line, a separator, a header block, an attribution line;
    a "-- " signature ends the owner's lines too. When that boundary opens a
    forward (a forward separator or intro line, or any boundary when the
    subject says forward), `forward` holds the forwarded header fields,
    unless mailer's own text follows it (a forwarded digest logs no one).
    """
    text = text[:MAX_BODY_CHARS].replace("\r\n", "\n")
    lines = [_line(raw) for raw in text.split("\n", MAX_LINES)[:MAX_LINES]]
    found = _first_quote(lines)
    quote_at, quote_rule = found if found is not None else (None, None)
    if quote_rule in ("mark", "mailer-text") and quote_at is not None:
        quote_at = _trim_above(lines, quote_at)
    mailer = any(line.mailer for line in lines[quote_at or 0 :]) if found else False
    signature = next(
        (i for i, line in enumerate(lines[:quote_at]) if line.raw.strip() == "--"), None
    )
    end, rule = (quote_at, quote_rule) if quote_at is not None else (len(lines), None)
    if signature is not None and signature < end:
        end, rule = signature, "signature"
    kept = [line.raw.rstrip() for line in lines[:end] if not line.quoted]
    dropped = len(kept) < sum(1 for line in lines[:end])
    above = "\n".join(kept).strip()
    new = _library_cut(above) if above else ""
    if _count(new) < _count(above):
        rule = "library"
    elif rule is None:
        rule = "quote-lines" if dropped else "none"

    forward: dict[str, str] | None = None
    opens_forward = quote_rule == "forward" or (
        quote_rule in ("separator", "header-block", "attribution") and is_forward_subject(subject)
    )
    if found is not None and opens_forward and not mailer and quote_at is not None:
        forward = _forward_fields(lines, quote_at)
    return Cut(
        text=new,
        rule=rule,
        line=end if end < len(lines) else None,
        quote=quote_rule,
        forward=forward,
        mailer=mailer,
    )
