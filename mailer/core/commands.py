"""Commands by email (SPEC section 8): who may give them, and what they say.

The owner steers mailer by mailing its command address. That address is
reachable by anyone, so this module is where strangers are turned away:
a mail counts only when it is addressed to exactly the command address (its
secret plus tag is the first key), comes from one unambiguous allowed sender,
and, when the owner asks for it, carries a DKIM or SPF pass for that sender's
domain from the receiving server.

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
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from mailer.core import authres
from mailer.core.contacts import check_tier
from mailer.core.durations import parse_duration
from mailer.core.mailtext import MailInfo
from mailer.core.naming import Ambiguous, NotFound, Resolver
from mailer.model import Contact

__all__ = [
    "USAGE",
    "VERBS",
    "Command",
    "LineResult",
    "MailCommands",
    "Verdict",
    "authenticate",
    "command_stem",
    "is_command_mail",
    "is_reply_subject",
    "judge",
    "kind_of",
    "near_miss",
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

MAX_NAME_WORDS = 6  # the longest name tried when a name runs into the text after it
MAX_LINES = 5_000  # lines read per mail (mailtext hands over 64 KB of text at most anyway)
MAX_VERB_LENGTH = 12  # a longer first word is no typo of a command word


# --- who may command -------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str  # why it was refused, or whom it was accepted from


def is_command_mail(info: MailInfo, command_address: str) -> bool:
    """Addressed (To, Cc, Bcc, Delivered-To, X-Original-To) to exactly `command_address`.

    Case-insensitive; another plus tag is another address.
    """
    address = command_address.strip().lower()
    return "@" in address and address in info.recipients


def _domain(value: str) -> str:
    return value.rsplit("@", 1)[-1].strip().rstrip(".").lower()


def auth_passes(auth_results: Sequence[str], domain: str, authserv_id: str | None = None) -> bool:
    """Does the receiving server vouch for `domain` (dkim=pass or spf=pass, aligned)?

    Only the receiving server's own header counts: the topmost one whose
    authserv-id is `authserv_id` (RFC 8601 section 5; see `core.authres`).
    Without `authserv_id` nothing counts: the topmost header may be the
    sender's own when the receiving server adds none.
    """
    if not authserv_id:
        return False
    return authres.vouches(auth_results, domain, authserv_id)


def authenticate(
    info: MailInfo,
    allowed_senders: Collection[str],
    require_dkim: bool,
    *,
    authserv_id: str | None = None,
) -> Verdict:
    """Is this mail from the owner? Reads only the From header and the server's verdict."""
    if info.from_problem:
        return Verdict(False, info.from_problem)
    if not info.from_addresses:
        return Verdict(False, "no From address")
    if len(info.from_addresses) > 1:
        return Verdict(False, "more than one From address: " + ", ".join(info.from_addresses))
    sender = info.from_addresses[0]
    allowed = {a.strip().lower() for a in allowed_senders}
    if sender not in allowed:
        return Verdict(False, f"sender not allowed: {sender}")
    if require_dkim:
        domain = _domain(sender)
        if not authserv_id:  # config.py refuses this; a caller of the core may not
            return Verdict(False, "commands.authserv_id is not set; no server's verdict counts")
        if not info.auth_results:
            return Verdict(False, f"no Authentication-Results header; cannot check {domain}")
        if not auth_passes(info.auth_results, domain, authserv_id):
            return Verdict(False, f"DKIM/SPF did not pass for {domain}")
        return Verdict(True, f"from {sender}, DKIM/SPF pass")
    return Verdict(True, f"from {sender}")


def near_miss(info: MailInfo, command_address: str) -> str | None:
    """A recipient that looks like the command address with another tag, if any.

    `me+mailer-k3x9q2@example.com` has the tag `mailer-k3x9q2`; mail to
    `me+mailer-zzz@example.com` or `me+mailer@example.com` is someone guessing
    (or an old address): refused and recorded, never applied. Other plus
    addresses of the owner (`me+lists@...`) are ordinary mail.
    """
    address = command_address.strip().lower()
    stem = command_stem(address)
    if stem == address:
        return None  # no tag, so no wrong tag
    domain = address.rpartition("@")[2]
    for recipient in info.recipients:
        local, _, r_domain = recipient.rpartition("@")
        if recipient == address or r_domain != domain or not local.startswith(stem):
            continue
        rest = local[len(stem) :]
        if rest == "" or rest[0] in "-_.":  # me+mailer, me+mailer-old; not me+mailerlite
            return recipient
    return None


def command_stem(address: str) -> str:
    """What every look-alike of the command address starts with: `me+mailer` of
    `me+mailer-k3x9q2@example.com` (the whole address when it has no tag)."""
    address = address.strip().lower()
    local, _, _domain = address.rpartition("@")
    base, plus, tag = local.partition("+")
    if not plus or not tag:
        return address
    return f"{base}+{re.split(r'[-_.]', tag, maxsplit=1)[0]}"


def kind_of(info: MailInfo, command_address: str, own: Collection[str] = ()) -> str | None:
    """What a mail to the command address is: "commands", "bcc_log", "near_miss" or None.

    Written to mailer alone (the owner's own addresses aside): the mail talks
    to mailer. Written to other people too, with mailer in Bcc, Cc or only in
    the delivery headers: the owner copied mailer on a mail to them, which
    logs that mail and runs no command (its text is for them, not for mailer).
    """
    address = command_address.strip().lower()
    if not is_command_mail(info, command_address):
        return "near_miss" if near_miss(info, command_address) else None
    mine = {address, *(a.strip().lower() for a in own)}
    others = [a for a in info.to_cc if a not in mine]
    return "bcc_log" if others else "commands"


def judge(
    info: MailInfo,
    command_address: str,
    allowed_senders: Collection[str],
    require_dkim: bool,
    *,
    authserv_id: str | None = None,
) -> Verdict:
    """Detection and authentication together: may this mail's commands be applied?"""
    if not is_command_mail(info, command_address):
        return Verdict(False, "not addressed to the command address")
    return authenticate(info, allowed_senders, require_dkim, authserv_id=authserv_id)


# --- what the commands say --------------------------------------------------------


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


class _Refused(ValueError):
    """A line that starts with a command word but cannot be read."""


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


def _lookup(names: Resolver, words: list[str]) -> Contact:
    """The contact `words` name, as the CLI finds one, but a part of a name must start a word
    of it ("ann" names Anna, not Joanne): a command is never applied to a guessed person."""
    return names.find(" ".join(words), within_words=False)


def _whole(names: Resolver, words: list[str], verb: str) -> Contact:
    """All of `words` name one contact."""
    if not words:
        raise _Refused(f"who? write it as: {USAGE[verb]}")
    if "@" in words[0] and len(words) > 1:
        raise _Refused(f"unexpected {' '.join(words[1:])!r} after the address; {USAGE[verb]}")
    try:
        return _lookup(names, words)
    except LookupError as e:
        raise _Refused(str(e)) from None


def _leading(
    names: Resolver, words: list[str], verb: str, min_rest: int
) -> tuple[Contact, list[str]]:
    """The contact named by the longest run of leading words that names one, and the rest.

    A name may have several words and is followed by free text, so the
    longest prefix that resolves wins. When none does, the error of the
    longest ambiguous prefix (with its candidates) is the most useful one.
    """
    if len(words) < 1 + min_rest:
        raise _Refused(f"too short; write it as: {USAGE[verb]}")
    longest = 1 if "@" in words[0] else min(len(words) - min_rest, MAX_NAME_WORDS)
    ambiguous: Ambiguous | None = None
    missed = NotFound(words[0])
    for k in range(longest, 0, -1):
        try:
            return _lookup(names, words[:k]), words[k:]
        except Ambiguous as e:
            if ambiguous is None:  # the longest reading's candidates
                ambiguous = e
        except NotFound as e:
            missed = e  # the last is the first word alone: its suggestions are the ones to give
    if ambiguous:
        raise _Refused(str(ambiguous))
    if "@" in words[0]:
        raise _Refused(str(missed))
    raise _Refused(
        f"no contact named {words[0]!r} (nor a longer name starting with it){missed.hint}"
    )


def _text_verb(
    verb: str, min_rest: int
) -> Callable[[Resolver, list[str]], tuple[Contact, tuple[str, ...]]]:
    def parse(names: Resolver, words: list[str]) -> tuple[Contact, tuple[str, ...]]:
        contact, rest = _leading(names, words, verb, min_rest)
        return contact, (" ".join(rest),)

    return parse


def _snooze(names: Resolver, words: list[str]) -> tuple[Contact, tuple[str, ...]]:
    contact, rest = _leading(names, words, "snooze", 1)
    duration = " ".join(rest).lower()
    try:
        parse_duration(duration)
    except ValueError as e:
        raise _Refused(str(e)) from None
    return contact, (duration,)


def _tier(names: Resolver, words: list[str]) -> tuple[Contact, tuple[str, ...]]:
    contact, rest = _leading(names, words, "tier", 1)
    try:
        tier = check_tier(" ".join(rest), ())  # one word; apply_commands knows the configured ones
    except ValueError as e:
        raise _Refused(str(e)) from None
    return contact, (tier,)


def _tag(names: Resolver, words: list[str]) -> tuple[Contact, tuple[str, ...]]:
    contact, rest = _leading(names, words, "tag", 1)
    # As `mailer contacts set --tags`: lower-case, no repeats, sorted.
    tags = sorted({t.lower().lstrip("#") for t in re.split(r"[,\s]+", " ".join(rest))} - {""})
    if not tags:
        raise _Refused(f"no tags; write it as: {USAGE['tag']}")
    return contact, tuple(tags)


def _trust(names: Resolver, words: list[str]) -> tuple[Contact, tuple[str, ...]]:
    contact, rest = _leading(names, words, "trust", 1)
    level = " ".join(rest)
    if level not in ("0", "1", "2", "3"):
        raise _Refused(f"trust is 0, 1, 2 or 3, not {level!r}")
    return contact, (level,)


def _intro(names: Resolver, words: list[str]) -> tuple[Contact, tuple[str, ...]]:
    answer = words[0].lower() if words else ""
    if answer not in ("yes", "no"):
        raise _Refused(f"write it as: {USAGE['intro']}")
    return _whole(names, words[1:], "intro"), (answer,)


def _bare(verb: str) -> Callable[[Resolver, list[str]], tuple[Contact, tuple[str, ...]]]:
    def parse(names: Resolver, words: list[str]) -> tuple[Contact, tuple[str, ...]]:
        return _whole(names, words, verb), ()

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
            names.find(" ".join(words[:k]), within_words=False)
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
    except _Refused as e:
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
