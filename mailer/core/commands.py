"""Commands by email (SPEC section 8): what the lines of a command mail say.

Whether a mail may command at all is decided before (mailer.core.command_mail);
whom a line names, in mailer.core.command_names.

The grammar is forgiving where it cannot hurt and strict where it could:
lines that do not start with a command word are prose and are skipped,
unless they start with a typo of one and go on with a contact or a duration
("snoze anna 2w"); such a line, and a line that starts with a command word
but cannot be read, is an error for that line, so the owner hears about it
instead of a command silently doing nothing; and a name must resolve to
exactly one contact, so nothing is ever applied to a guessed person.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mailer.core.command_names import MAX_NAME_WORDS, LineError, leading_name, lookup, whole_name
from mailer.core.contacts import check_tier
from mailer.core.durations import parse_duration
from mailer.core.naming import Ambiguous, NotFound, Resolver
from mailer.model import Contact

__all__ = [
    "USAGE",
    "VERBS",
    "Command",
    "LineResult",
    "MailCommands",
    "is_reply_subject",
    "near_verb",
    "parse_commands",
    "parse_line",
    "read_commands",
]

USAGE = {
    "log": "log <who> <text>",
    "note": "note <who> <text>",
    "snooze": "snooze <who> <duration>",
    "done": "done <who>",
    "tier": "tier <who> <tier>",
    "tag": "tag <who> <tags>",
    "trust": "trust <who> <0-3>",
    "weed": "weed <who>",
    "ignore": "ignore <who>",
    "intro": "intro yes|no <who>",
    "undo": "undo <id>",
}
VERBS: tuple[str, ...] = tuple(USAGE)
MAX_LINES = 5_000  # lines read per mail (mailtext hands over 64 KB of text at most anyway)
MAX_VERB_LENGTH = 12  # a longer first word is no typo of a command word


@dataclass(frozen=True)
class Command:
    verb: str  # one of VERBS
    who: str  # the resolved contact's email ("" for none)
    args: tuple[str, ...]
    line: str


@dataclass(frozen=True)
class LineResult:
    line: str
    command: Command | None
    error: str | None


_REPLY_SUBJECT = re.compile(
    r"^\s*(?:re|fwd?|aw|wg|sv|vs|tr|rv|antw|odp|enc|doorst|r|i)\s*(?:\[\d+\])?\s*:",
    re.IGNORECASE,
)
_MAILTO = re.compile(r"<mailto:[^>\s]*>", re.IGNORECASE)
_DURATION = re.compile(r"(?:\d+[hdwmy])+", re.IGNORECASE)  # 2w, 1y2m: a word that is a duration
_TRAILING = ".,;!"


def is_reply_subject(subject: str) -> bool:
    """ "Re: ...", "Fwd: ..." and their translations: a reply, never a command line."""
    return bool(_REPLY_SUBJECT.match(subject))


def _clean_word(word: str) -> str:
    """`<anna@x.org>` or `mailto:anna@x.org`, as clients write addresses, to the address."""
    word = word.strip("<>")
    if word.lower().startswith("mailto:"):
        word = word[7:]
    return word


def _text_verb(
    verb: str, min_rest: int
) -> Callable[[Resolver, list[str]], tuple[Contact, tuple[str, ...]]]:
    def parse(names: Resolver, words: list[str]) -> tuple[Contact, tuple[str, ...]]:
        contact, rest = leading_name(names, words, USAGE[verb], min_rest)
        return contact, (" ".join(rest),)

    return parse


def _snooze(names: Resolver, words: list[str]) -> tuple[Contact, tuple[str, ...]]:
    contact, rest = leading_name(names, words, USAGE["snooze"], 1)
    duration = " ".join(rest).lower()
    try:
        parse_duration(duration)
    except ValueError as e:
        raise LineError(str(e)) from None
    return contact, (duration,)


def _tier(names: Resolver, words: list[str]) -> tuple[Contact, tuple[str, ...]]:
    contact, rest = leading_name(names, words, USAGE["tier"], 1)
    try:
        tier = check_tier(" ".join(rest), ())  # one word; apply_commands knows the configured ones
    except ValueError as e:
        raise LineError(str(e)) from None
    return contact, (tier,)


def _tag(names: Resolver, words: list[str]) -> tuple[Contact, tuple[str, ...]]:
    contact, rest = leading_name(names, words, USAGE["tag"], 1)
    # As `mailer contacts set --tags`: lower-case, no repeats, sorted.
    tags = sorted({t.lower().lstrip("#") for t in re.split(r"[,\s]+", " ".join(rest))} - {""})
    if not tags:
        raise LineError(f"no tags; write it as: {USAGE['tag']}")
    return contact, tuple(tags)


def _trust(names: Resolver, words: list[str]) -> tuple[Contact, tuple[str, ...]]:
    contact, rest = leading_name(names, words, USAGE["trust"], 1)
    level = " ".join(rest)
    if level not in ("0", "1", "2", "3"):
        raise LineError(f"trust is 0, 1, 2 or 3, not {level!r}")
    return contact, (level,)


def _intro(names: Resolver, words: list[str]) -> tuple[Contact, tuple[str, ...]]:
    answer = words[0].lower() if words else ""
    if answer not in ("yes", "no"):
        raise LineError(f"write it as: {USAGE['intro']}")
    return whole_name(names, words[1:], USAGE["intro"]), (answer,)


def _bare(verb: str) -> Callable[[Resolver, list[str]], tuple[Contact, tuple[str, ...]]]:
    def parse(names: Resolver, words: list[str]) -> tuple[Contact, tuple[str, ...]]:
        return whole_name(names, words, USAGE[verb]), ()

    return parse


_PARSERS: dict[str, Callable[[Resolver, list[str]], tuple[Contact, tuple[str, ...]]]] = {
    "log": _text_verb("log", 0),  # "log anna" alone: we were in touch, nothing to add
    "note": _text_verb("note", 1),
    "snooze": _snooze,
    "done": _bare("done"),
    "tier": _tier,
    "tag": _tag,
    "trust": _trust,
    "weed": _bare("weed"),
    "ignore": _bare("ignore"),
    "intro": _intro,
}


_UNDO_ID = re.compile(r"[a-z0-9]{1,16}")  # a typo is "no command mail with id ..."


def _undo(line: str, words: list[str]) -> LineResult:
    """`undo <id>`: the id of an earlier mail, as the confirmation and the digest show it."""
    ident = words[0].strip("<>#").rstrip(_TRAILING).lower() if len(words) == 1 else ""
    if not _UNDO_ID.fullmatch(ident):
        error = f"undo: write it as: {USAGE['undo']} (the id is in the confirmation and the digest)"
        return LineResult(line=line, command=None, error=error)
    return LineResult(line=line, command=Command("undo", "", (ident,), line), error=None)


def near_verb(word: str) -> str | None:
    """The command word `word` is likely a typo of ("snoze": snooze), else None.

    At most two edits (a swap of two neighbours is one), and one for a word
    of four letters or fewer: two edits make "to" into "log". Of several, the
    one with the fewest edits, then the most alike by difflib's ratio.
    """
    typed = word.lower().rstrip(_TRAILING + ":")
    if not typed.isalpha() or len(typed) > MAX_VERB_LENGTH:
        return None
    return _near_verb(typed)


@functools.lru_cache(maxsize=4096)
def _near_verb(typed: str) -> str | None:
    limit = 1 if len(typed) <= 4 else 2
    scored = [
        (edits, -difflib.SequenceMatcher(None, typed, verb).ratio(), verb)
        for verb in VERBS
        if abs(len(verb) - len(typed)) <= limit and (edits := _edits(typed, verb)) <= limit
    ]
    return min(scored)[2] if scored else None


def _edits(a: str, b: str) -> int:
    """Insertions, deletions, substitutions and swaps of neighbours that make `a` into `b`."""
    before: list[int] = []
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        above, row = row, [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(above[j] + 1, row[j - 1] + 1, above[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], before[j - 2] + 1)
        before = above
    return row[-1]


def _names_someone(words: list[str], names: Resolver) -> bool:
    """Do `words` read like the rest of a command: a duration anywhere, or an address, or
    the name of one or more contacts at their start (after the yes/no of an intro)?"""
    if any(_DURATION.fullmatch(w) for w in words):
        return True
    if words and words[0].lower() in ("yes", "no"):
        words = words[1:]
    if words and "@" in words[0]:
        return True
    for k in range(min(len(words), MAX_NAME_WORDS), 0, -1):
        try:
            lookup(names, words[:k])
        except Ambiguous:
            return True
        except NotFound:
            continue
        return True
    return False


def _typo_of(words: list[str]) -> str | None:
    """The verb a line's first word is a typo of, unless the line starts with a label."""
    if any(w.endswith(":") for w in words[:2]):
        return None
    return near_verb(words[0]) if words else None


def _mistyped(line: str, words: list[str], names: Resolver) -> LineResult | None:
    """The error for a line that starts with a typo of a command word and reads like a
    command ("snoze anna 2w"); None for prose ("Thanks, will do") and for a line that
    starts with a label ("Note: ...", "NOT DONE: ...", as the digest writes them)."""
    meant = _typo_of(words)
    if meant is None:
        return None
    rest = [w for w in (_clean_word(w).rstrip(_TRAILING) for w in words[1:]) if w]
    if not _names_someone(rest, names):
        return None
    return LineResult(line, None, f"unknown command {words[0]!r} (did you mean {meant}?)")


def parse_line(line: str, contacts: Sequence[Contact] | Resolver) -> LineResult | None:
    """One line: a command, an error for a malformed or mistyped command, or None for prose.

    A line whose first word is a typo of a command word and whose next words
    name a contact or a duration is a mistyped command, and gets an error
    naming the verb it meant. Pass a `Resolver` when reading many lines.
    """
    names = contacts if isinstance(contacts, Resolver) else Resolver(contacts)
    line = line.strip()
    words = _MAILTO.sub(" ", line).split()
    if not words:
        return None
    verb = words[0].lower()
    if verb == "undo":
        return _undo(line, words[1:])
    if verb not in _PARSERS:
        return _mistyped(line, words, names)
    rest = [_clean_word(w) for w in words[1:]]
    if verb not in ("log", "note") and rest and "@" not in rest[-1]:
        # "done anna." as phones punctuate; never an address: "klein@k.example." is
        # another address than "klein@k.example", and resolving says "did you mean"
        rest[-1] = rest[-1].rstrip(_TRAILING)
    rest = [w for w in rest if w]
    try:
        contact, args = _PARSERS[verb](names, rest)
    except LineError as e:
        return LineResult(line=line, command=None, error=f"{verb}: {e}")
    except Exception as e:  # never let one odd line stop the others
        return LineResult(line=line, command=None, error=f"{verb}: cannot read this line ({e})")
    return LineResult(line=line, command=Command(verb, contact.email, args, line), error=None)


@dataclass(frozen=True)
class MailCommands:
    """What the lines of one command mail say."""

    results: tuple[LineResult, ...]  # each command, malformed or mistyped command, in order
    meant: str | None = None  # the verb the first prose line's first word is a typo of


def read_commands(subject: str, text: str, contacts: Sequence[Contact] | Resolver) -> MailCommands:
    """The commands of a mail: its subject (unless a reply or forward), then its lines.

    `text` should be `MailInfo.new_text`; quoted (">") lines and anything
    below a "-- " signature line are skipped here too. Lines that are
    commands, or attempted ones (a command word, or a typo of one, see
    `parse_line`), are returned, each with its outcome; prose is not, but
    the verb its first line may have meant is (`meant`), for "no command
    found". The contacts are indexed once for all lines. Never raises.
    """
    names = contacts if isinstance(contacts, Resolver) else Resolver(contacts)
    lines: list[str] = []
    subject = " ".join(str(subject or "").split())
    if subject and not is_reply_subject(subject):
        lines.append(subject)
    for line in str(text or "").splitlines():
        stripped = line.strip()
        if stripped in ("--", "-- "):
            break
        if stripped and not stripped.startswith(">"):
            lines.append(stripped)
    results = []
    meant = None
    for n, line in enumerate(lines):
        if n == MAX_LINES:
            more = f"{len(lines) - MAX_LINES:,} more lines not read (at most {MAX_LINES:,} a mail)"
            results.append(LineResult(line="", command=None, error=more))
            break
        result = parse_line(line, names)
        if result is not None:
            results.append(result)
        elif meant is None:
            meant = _typo_of(line.split(maxsplit=2)[:2])
    return MailCommands(tuple(results), meant)


def parse_commands(
    subject: str, text: str, contacts: Sequence[Contact] | Resolver
) -> list[LineResult]:
    """The commands and attempted commands of a mail (`read_commands`), in order."""
    return list(read_commands(subject, text, contacts).results)
