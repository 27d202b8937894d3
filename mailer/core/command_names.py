"""Whom a command line names: the contact, or the line's error.

A command is never applied to a guessed person, so a command line names
someone more strictly than the CLI does (a part of a name must start a word
of it), and a name that runs into free text ("log anna berg coffee") is read
as the longest run of leading words that names exactly one contact.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from mailer.core.naming import Ambiguous, NotFound, Resolver
from mailer.model import Contact

MAX_NAME_WORDS = 6  # the longest name tried when a name runs into the text after it


class LineError(ValueError):
    """A line that starts with a command word but cannot be read (the message says why)."""


def lookup(names: Resolver, words: list[str]) -> Contact:
    """The contact `words` name, as the CLI finds one, but a part of a name must start a word
    of it ("ann" names Anna, not Joanne): a command is never applied to a guessed person."""
    return names.find(" ".join(words), within_words=False)


def whole_name(names: Resolver, words: list[str], usage: str) -> Contact:
    """All of `words` name one contact; `usage` is the command's form, for the error."""
    if not words:
        raise LineError(f"who? write it as: {usage}")
    if "@" in words[0] and len(words) > 1:
        raise LineError(f"unexpected {' '.join(words[1:])!r} after the address; {usage}")
    try:
        return lookup(names, words)
    except LookupError as e:
        raise LineError(str(e)) from None


def leading_name(
    names: Resolver, words: list[str], usage: str, min_rest: int
) -> tuple[Contact, list[str]]:
    """The contact named by the longest run of leading words that names one, and the rest.

    A name may have several words and is followed by free text, so the
    longest prefix that resolves wins. When none does, the error of the
    longest ambiguous prefix (with its candidates) is the most useful one.
    """
    if len(words) < 1 + min_rest:
        raise LineError(f"too short; write it as: {usage}")
    longest = 1 if "@" in words[0] else min(len(words) - min_rest, MAX_NAME_WORDS)
    ambiguous: Ambiguous | None = None
    missed = NotFound(words[0])
    for k in range(longest, 0, -1):
        try:
            return lookup(names, words[:k]), words[k:]
        except Ambiguous as e:
            if ambiguous is None:  # the longest reading's candidates
                ambiguous = e
        except NotFound as e:
            missed = e  # the last is the first word alone: its suggestions are the ones to give
    if ambiguous:
        raise LineError(str(ambiguous))
    if "@" in words[0]:
        raise LineError(str(missed))
    raise LineError(
        f"no contact named {words[0]!r} (nor a longer name starting with it){missed.hint}"
    )
