"""What a command mail does: commands to contact changes, forwards and Bcc copies to interactions.

`mailer.inbox` reads the mail and holds the store's lock; this module decides,
without I/O and with `now` given, what the mail changes. Everything here
returns new values (contacts, log entries, line outcomes) for the store to
write in one transaction together with the record that the mail was handled,
so a mail is applied entirely or not at all, and only once.

Meanings chosen where SPEC section 8 names a command but not its effect:
- `log <who> <text>`: the owner was in touch outside mail (a coffee, a call).
  It sets `last_logged`, which counts as contact for every rule (cadence,
  reply owed, one-sided), and keeps the text in the log.
- `done <who>`: "handled": the same as `log` without text. It answers a reply
  owed and restarts the cadence from the mail's date.
- `note` appends a dated line to the notes; `tag` adds tags (the CLI's
  `contacts set --tags` replaces them); `tier` takes one of the configured
  tiers (as `contacts set --tier` does) and also makes the contact active
  (triage), reviving a weeded or ignored one; `snooze` counts from the mail's
  date; `weed` and `ignore` set the status.
- A command's time is the mail's Date, but never later than `now` (a client
  with a wrong clock cannot snooze someone into next year by accident).
- `undo <id>` puts back what an earlier mail changed (`core.undo`), as the
  mail's earlier lines left the contacts; its later lines see the result.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from mailer.core.commands import Command, LineResult
from mailer.core.contacts import check_tier, triage, weed
from mailer.core.durations import parse_duration
from mailer.core.headers import Identity, message_id_key
from mailer.core.mailtext import Forwarded, MailInfo
from mailer.core.ruleset import DEFAULT_TIERS
from mailer.core.undo import Restore
from mailer.model import Contact, Interaction, LineOutcome, LogEntry, Parsed, iso

__all__ = [
    "Applied",
    "IntroAnswer",
    "UndoLine",
    "apply_commands",
    "forward_interactions",
    "mail_key",
    "when_of",
]

# Answers an intro request: (contact, "yes"|"no", when) -> what happened; raises ValueError.
IntroAnswer = Callable[[Contact, str, datetime], str]
# Undoes an earlier mail: (its id, the contacts now) -> what to write; raises ValueError.
UndoLine = Callable[[str, Mapping[str, Contact]], Restore]


@dataclass(frozen=True)
class Applied:
    outcomes: tuple[LineOutcome, ...]
    changed: dict[str, Contact]  # by email: the contacts as they are after the mail
    logs: tuple[LogEntry, ...]


def mail_key(info: MailInfo) -> str:
    """The identity of a command mail: its Message-ID and what it says.

    The same mail delivered twice (To and Bcc, a server retry) has both the
    same; "done anna" sent again next month has another Message-ID, and a
    forged Message-ID with new commands has other content.
    """
    data = f"{info.message_id or ''}\0{info.content_hash}\0{info.from_addresses}"
    return "cmd-" + hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def when_of(info: MailInfo, now: datetime) -> datetime:
    """The mail's Date, never in the future."""
    if info.date is None or info.date > now:
        return now
    return info.date


def _day(when: datetime) -> str:
    return when.date().isoformat()


def _no_intro(contact: Contact, answer: str, when: datetime) -> str:
    raise ValueError(f"no introduction is waiting for an answer from {contact.email}")


def _no_undo(ident: str, contacts: Mapping[str, Contact]) -> Restore:
    raise ValueError("undo is not possible here")


def _effect(
    cmd: Command,
    c: Contact,
    when: datetime,
    source: str,
    intro: IntroAnswer,
    tiers: Collection[str],
) -> tuple[Contact, str, LogEntry | None]:
    """One command on one contact: the new contact, what was done, and a log entry."""
    verb, args = cmd.verb, cmd.args
    stamp = iso(when)
    assert stamp is not None
    if verb in ("log", "done"):
        text = args[0] if verb == "log" and args and args[0] else verb
        logged = max(c.last_logged or "", stamp)
        entry = LogEntry(email=c.email, when=stamp, text=text, source=source)
        said = f"logged {_day(when)}" + (f": {text}" if verb == "log" and args[0] else "")
        return dataclasses.replace(c, last_logged=logged), said, entry
    if verb == "note":
        line = f"{_day(when)}: {args[0]}"
        notes = f"{c.notes}\n{line}" if c.notes else line
        return dataclasses.replace(c, notes=notes), "note added", None
    if verb == "snooze":
        until = iso(when + parse_duration(args[0]))
        return dataclasses.replace(c, snoozed_until=until), f"snoozed until {until}", None
    if verb == "tier":
        tier = check_tier(args[0], tiers)  # ValueError naming the configured tiers
        revived = triage(c, tier=tier)
        return revived, f"tier {tier}, active", None
    if verb == "tag":
        tags = tuple(sorted(set(c.tags) | set(args)))
        return dataclasses.replace(c, tags=tags), "tags now " + ", ".join(tags), None
    if verb == "trust":
        return dataclasses.replace(c, trust=int(args[0])), f"trust {args[0]}", None
    if verb == "weed":
        # as `mailer weed --apply`: the status before is kept, for `mailer weed --undo`
        return weed(c), "weeded already" if c.status == "weeded" else "weeded", None
    if verb == "ignore":
        return dataclasses.replace(c, status="ignored"), "ignored", None
    if verb == "intro":
        return c, intro(c, args[0], when), None
    raise ValueError(f"unknown command {verb!r}")


def apply_commands(
    results: Sequence[LineResult],
    contacts: Mapping[str, Contact],
    when: datetime,
    source: str,
    intro: IntroAnswer | None = None,
    *,
    tiers: Collection[str] = tuple(DEFAULT_TIERS),
    undo: UndoLine | None = None,
) -> Applied:
    """Apply parsed lines in order; a line that fails changes nothing and the rest go on.

    `tiers` are the configured ones (rules.tiers): `tier anna vip` is an error
    naming them. `undo` plans an `undo <id>` line (core.undo.MailUndo).
    """
    current = dict(contacts)
    changed: dict[str, Contact] = {}
    outcomes: list[LineOutcome] = []
    logs: list[LogEntry] = []
    for r in results:
        if r.command is None:
            outcomes.append(LineOutcome(r.line, False, r.error or "not understood"))
            continue
        if r.command.verb == "undo":
            try:
                restore = (undo or _no_undo)(r.command.args[0], current)
            except ValueError as e:  # core.undo.CannotUndo: nothing of it is applied
                outcomes.append(LineOutcome(r.line, False, str(e)))
                continue
            for c in restore.contacts.values():
                current[c.email] = changed[c.email] = c
            outcomes.append(LineOutcome(r.line, True, restore.summary))
            continue
        contact = current.get(r.command.who)
        if contact is None:  # the parser resolved it against these contacts; cannot happen
            outcomes.append(LineOutcome(r.line, False, f"no contact {r.command.who}"))
            continue
        try:
            new, said, entry = _effect(r.command, contact, when, source, intro or _no_intro, tiers)
        except (ValueError, OverflowError) as e:  # e.g. a snooze past the year 9999
            outcomes.append(LineOutcome(r.line, False, str(e)))
            continue
        if new != contact:
            current[new.email] = changed[new.email] = new
        if entry is not None:
            logs.append(entry)
        outcomes.append(LineOutcome(r.line, True, f"{contact.email}: {said}"))
    return Applied(tuple(outcomes), changed, tuple(logs))


def _forward_key(f: Forwarded) -> str:
    if f.message_id:
        return message_id_key(f.message_id)  # as the scan keys the original: never twice
    data = f"f\0{f.sender}\0{iso(f.date) or ''}\0{f.subject or ''}"
    return "f" + hashlib.blake2b(data.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def forward_interactions(
    forwarded: Sequence[Forwarded], who: Identity, when: datetime
) -> tuple[list[Parsed], list[LineOutcome]]:
    """Each forwarded message as one inbound interaction with its original sender."""
    parsed: list[Parsed] = []
    outcomes: list[LineOutcome] = []
    for f in forwarded:
        label = f"forwarded mail from {f.sender}"
        if f.sender in who.addresses:
            outcomes.append(
                LineOutcome(label, False, "that is your own mail; Bcc mailer when you send instead")
            )
            continue
        if who.ignores(f.sender):
            outcomes.append(LineOutcome(label, False, f"{f.sender} is ignored (automated mail)"))
            continue
        date = f.date if f.date is not None and f.date <= when else when
        interaction = Interaction(f.sender, f.name, date, "in", f.subject)
        parsed.append(Parsed(key=_forward_key(f), interactions=(interaction,)))
        undated = "" if f.date is not None else " (no date in the forward: the mail's date)"
        outcomes.append(LineOutcome(label, True, f"on record: their mail of {_day(date)}{undated}"))
    return parsed, outcomes
