"""One line of a mail's text, and what the reply rules need to know of it (`_Line`).

Each line is looked at once: its quote prefix, whether it carries an
address, a date or a time, whether it reads as a header ("Word(s): value"),
and whether it is mailer's own text.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from mailer.core.mailtext.limits import LONG_LINE

# The first line of every mail mailer writes to the owner (digest.j2, confirm.j2):
# distinctive, readable, no command word, short enough that no client rewraps it.
MARK = "##- mailer: write your commands above this line -##"
# The first body line of each of mailer's mails, as a lower-case prefix: a client that
# drops the mark line still quotes these (the second line of mailer's text).
MAILER_OPENERS = (
    "how to reply: reply to this mail and write one command per line",  # digest.j2
    "replying to this digest does nothing yet",  # digest.j2 without a command address
    "some lines of your mail could not be applied",  # confirm.j2
    "all done: your mail was applied",  # confirm.j2
)

# The command words (mailer.core.commands.VERBS, which imports this package, plus undo):
# a line starting with one is never taken for a quote header.
_COMMAND_WORDS = frozenset(
    "log note snooze done tier tag trust weed ignore intro undo".split()  # noqa: SIM905
)
_PREFIX = re.compile(r"[\s>|]*")  # quote prefixes and indentation (NBSP included)
_HEADER = re.compile(
    r"\*?(?P<key>[^\W\d_](?:[^\W\d_]|[ '’.\-](?=[^\W\d_])){0,39})\*?\s*"
    r"(?::\*?(?=\s|$)|：)\s*\**\s*(?P<value>.*)"
)
_ADDRESS = r"[\w.+'=-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+"
_ANY_ADDRESS = re.compile(_ADDRESS)
# "@domain" after a local-part character; starting with a literal "@" keeps the search fast
_AT_DOMAIN = re.compile(r"@(?<=[\w.+'=-]@)[\w-]{1,63}(?:\.[\w-]{1,63})+")
_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+'=-")
_DAY_OR_YEAR = re.compile(
    r"(?<!\d)(?:19|20)\d{2}(?!\d)|(?<!\d)\d{1,2}[./-]\d{1,2}[./-]\d{2,4}(?!\d)|\d{4}年"
)
_CLOCK = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?!\d)")
_MARK_WORDS = " ".join(MARK.strip("#- ").lower().split())


@dataclass(slots=True)
class _Line:
    """One line of a mail's text, with what the reply rules need to know of it."""

    raw: str
    bare: str = ""  # without quote prefix, indentation and bold stars
    quoted: bool = False  # starts with ">" (after indentation)
    short: bool = True  # short enough to be a quote header
    verb: bool = False  # starts with a command word: never a quote header
    header: bool = False  # "Word(s): value"
    address: bool = False  # carries an address
    bracketed: bool = False  # carries an address in <...>, [mailto:...] or (...)
    day: bool = False  # carries a date or a year
    clock: bool = False  # carries a time of day
    colon: bool = False  # ends with a colon
    mailer: bool = False  # mailer's mark, or the first body line of mailer's text
    mark: bool = False  # the mark itself
    words: int = 0


def _line(raw: str) -> _Line:
    stripped = raw.lstrip()
    info = _Line(raw, quoted=stripped.startswith(">"))
    if not stripped:
        return info
    head = raw[:LONG_LINE]
    bare = head[_PREFIX.match(head).end() :].strip()  # type: ignore[union-attr]
    info.bare = bare
    if not bare:
        return info
    words = bare.split()
    folded = " ".join(w.lower() for w in words)
    info.mark = _MARK_WORDS in folded
    info.mailer = info.mark or folded.startswith(MAILER_OPENERS)
    if len(raw) > LONG_LINE:
        info.short = False  # too long for a quote header: only mailer's text is looked for
        return info
    info.words = len(words)
    info.verb = words[0].lower() in _COMMAND_WORDS
    info.colon = bare.endswith((":", "："))
    if "@" in bare:
        info.address, info.bracketed = _addresses(bare)
    if any(c.isdigit() for c in bare):
        info.day = bool(_DAY_OR_YEAR.search(bare))
        info.clock = bool(_CLOCK.search(bare))
    if not info.verb and (m := _HEADER.fullmatch(bare)) and len(m.group("key").split()) <= 4:
        info.header = True
    return info


def _addresses(text: str) -> tuple[bool, bool]:
    """(carries an address, carries one in <...>, [mailto:...] or (...)), in linear time."""
    found = False
    for m in itertools.islice(_AT_DOMAIN.finditer(text), 20):
        found = True
        if text[m.end() : m.end() + 1] in (">", "]", ")"):
            return True, True
        k = m.start()
        while (
            k > 0 and m.start() - k < 64 and (text[k - 1] in _LOCAL_CHARS or text[k - 1].isalnum())
        ):
            k -= 1
        if text[k - 1 : k] in ("<", "[", "(") or text[max(0, k - 7) : k].lower() == "mailto:":
            return True, True
    return found, False
