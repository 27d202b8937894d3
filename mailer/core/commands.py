"""Commands by email (SPEC section 8): who may give them, and what they say.

The owner steers mailer by mailing its command address. That address is
reachable by anyone, so this module is where strangers are turned away:
a mail counts only when it is addressed to exactly the command address (its
secret plus tag is the first key), comes from one unambiguous allowed sender,
and, when the owner asks for it, carries a DKIM or SPF pass for that sender's
domain from the receiving server.

The grammar is forgiving where it cannot hurt and strict where it could:
lines that do not start with a command word are chatter and are skipped; a
line that does start with one but cannot be read is an error for that line,
so the owner hears about it instead of a command silently doing nothing; and
a name must resolve to exactly one contact, so nothing is ever applied to a
guessed person.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from mailer.core.contacts import Ambiguous, NotFound, check_tier, resolve
from mailer.core.durations import parse_duration
from mailer.core.mailtext import MailInfo
from mailer.model import Contact

__all__ = [
    "USAGE",
    "VERBS",
    "Command",
    "LineResult",
    "Verdict",
    "authenticate",
    "command_stem",
    "is_command_mail",
    "is_reply_subject",
    "judge",
    "kind_of",
    "near_miss",
    "parse_commands",
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
}
VERBS: tuple[str, ...] = tuple(USAGE)

MAX_NAME_WORDS = 6  # the longest name tried when a name runs into the text after it


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


def _strip_comments(value: str) -> str:
    """RFC 5322 comments, "(...)", which may nest, out of a header value."""
    for _ in range(20):
        stripped = re.sub(r"\([^()]*\)", " ", value)
        if stripped == value:
            break
        value = stripped
    return value


def _results(value: str) -> tuple[str, list[tuple[str, str, dict[str, str]]]]:
    """(authserv-id, [(method, result, properties)]) of one Authentication-Results value."""
    parts = _strip_comments(value).split(";")
    authserv = (parts[0].split() or [""])[0].lower()
    found = []
    for part in parts[1:]:
        tokens = part.split()
        if not tokens or "=" not in tokens[0]:
            continue
        method, result = tokens[0].lower().split("=", 1)
        props = {}
        for token in tokens[1:]:
            if "=" in token:
                key, val = token.split("=", 1)
                props[key.lower()] = val.strip('"').lower()
        found.append((method.split("/")[0], result, props))
    return authserv, found


def _domain(value: str) -> str:
    return value.rsplit("@", 1)[-1].strip().rstrip(".").lower()


def auth_passes(auth_results: Sequence[str], domain: str, authserv_id: str | None = None) -> bool:
    """Does the receiving server vouch for `domain` (dkim=pass or spf=pass, aligned)?

    Only the receiving server's own header counts: the one whose authserv-id
    is `authserv_id` when given, else the topmost header (the last hop adds
    its header on top; anything below may have been written by the sender).
    """
    domain = domain.lower()
    if authserv_id:
        mine = [v for v in auth_results if _results(v)[0] == authserv_id.strip().lower()]
    else:
        mine = list(auth_results[:1])
    for value in mine:
        for method, result, props in _results(value)[1]:
            if result != "pass":
                continue
            if method == "dkim":
                signer = props.get("header.d") or props.get("header.i") or ""
                if signer and _domain(signer) == domain:
                    return True
            elif method == "spf":
                mailfrom = props.get("smtp.mailfrom", "")
                if mailfrom and _domain(mailfrom) == domain:
                    return True
    return False


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


def _lookup(contacts: Sequence[Contact], words: list[str]) -> Contact:
    """The contact `words` name, as the CLI finds one, but a part of a name must start a word
    of it ("ann" names Anna, not Joanne): a command is never applied to a guessed person."""
    return resolve(contacts, " ".join(words), within_words=False)


def _whole(contacts: Sequence[Contact], words: list[str], verb: str) -> Contact:
    """All of `words` name one contact."""
    if not words:
        raise _Refused(f"who? write it as: {USAGE[verb]}")
    if "@" in words[0] and len(words) > 1:
        raise _Refused(f"unexpected {' '.join(words[1:])!r} after the address; {USAGE[verb]}")
    try:
        return _lookup(contacts, words)
    except LookupError as e:
        raise _Refused(str(e)) from None


def _leading(
    contacts: Sequence[Contact], words: list[str], verb: str, min_rest: int
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
            return _lookup(contacts, words[:k]), words[k:]
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
) -> Callable[[Sequence[Contact], list[str]], tuple[Contact, tuple[str, ...]]]:
    def parse(contacts: Sequence[Contact], words: list[str]) -> tuple[Contact, tuple[str, ...]]:
        contact, rest = _leading(contacts, words, verb, min_rest)
        return contact, (" ".join(rest),)

    return parse


def _snooze(contacts: Sequence[Contact], words: list[str]) -> tuple[Contact, tuple[str, ...]]:
    contact, rest = _leading(contacts, words, "snooze", 1)
    duration = " ".join(rest).lower()
    try:
        parse_duration(duration)
    except ValueError as e:
        raise _Refused(str(e)) from None
    return contact, (duration,)


def _tier(contacts: Sequence[Contact], words: list[str]) -> tuple[Contact, tuple[str, ...]]:
    contact, rest = _leading(contacts, words, "tier", 1)
    try:
        tier = check_tier(" ".join(rest), ())  # one word; apply_commands knows the configured ones
    except ValueError as e:
        raise _Refused(str(e)) from None
    return contact, (tier,)


def _tag(contacts: Sequence[Contact], words: list[str]) -> tuple[Contact, tuple[str, ...]]:
    contact, rest = _leading(contacts, words, "tag", 1)
    # As `mailer contacts set --tags`: lower-case, no repeats, sorted.
    tags = sorted({t.lower().lstrip("#") for t in re.split(r"[,\s]+", " ".join(rest))} - {""})
    if not tags:
        raise _Refused(f"no tags; write it as: {USAGE['tag']}")
    return contact, tuple(tags)


def _trust(contacts: Sequence[Contact], words: list[str]) -> tuple[Contact, tuple[str, ...]]:
    contact, rest = _leading(contacts, words, "trust", 1)
    level = " ".join(rest)
    if level not in ("0", "1", "2", "3"):
        raise _Refused(f"trust is 0, 1, 2 or 3, not {level!r}")
    return contact, (level,)


def _intro(contacts: Sequence[Contact], words: list[str]) -> tuple[Contact, tuple[str, ...]]:
    answer = words[0].lower() if words else ""
    if answer not in ("yes", "no"):
        raise _Refused(f"write it as: {USAGE['intro']}")
    return _whole(contacts, words[1:], "intro"), (answer,)


def _bare(verb: str) -> Callable[[Sequence[Contact], list[str]], tuple[Contact, tuple[str, ...]]]:
    def parse(contacts: Sequence[Contact], words: list[str]) -> tuple[Contact, tuple[str, ...]]:
        return _whole(contacts, words, verb), ()

    return parse


_PARSERS: dict[str, Callable[[Sequence[Contact], list[str]], tuple[Contact, tuple[str, ...]]]] = {
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


def parse_line(line: str, contacts: Sequence[Contact]) -> LineResult | None:
    """One line: a command, an error for a malformed command, or None for chatter."""
    line = line.strip()
    words = _MAILTO.sub(" ", line).split()
    if not words:
        return None
    verb = words[0].lower()
    if verb not in _PARSERS:
        return None
    rest = [_clean_word(w) for w in words[1:]]
    if verb not in ("log", "note") and rest:
        rest[-1] = rest[-1].rstrip(_TRAILING)  # "done anna." as phones punctuate
    rest = [w for w in rest if w]
    try:
        contact, args = _PARSERS[verb](contacts, rest)
    except _Refused as e:
        return LineResult(line=line, command=None, error=f"{verb}: {e}")
    except Exception as e:  # never let one odd line stop the others
        return LineResult(line=line, command=None, error=f"{verb}: cannot read this line ({e})")
    return LineResult(line=line, command=Command(verb, contact.email, args, line), error=None)


def parse_commands(subject: str, text: str, contacts: Sequence[Contact]) -> list[LineResult]:
    """The commands of a mail: its subject (unless a reply or forward), then its lines.

    `text` should be `MailInfo.new_text`; quoted (">") lines and anything
    below a "-- " signature line are skipped here too. Only lines that are
    commands, or that start with a command word and are malformed, are
    returned. Never raises.
    """
    lines: list[str] = []
    subject = " ".join(str(subject or "").split())
    if subject and not is_reply_subject(subject):
        lines.append(subject)
    for line in str(text or "").splitlines():
        stripped = line.strip()
        if stripped in ("--", "-- "):
            break
        if not stripped.startswith(">"):
            lines.append(stripped)
    results = []
    for line in lines:
        result = parse_line(line, contacts)
        if result is not None:
            results.append(result)
    return results
