"""What the digest says: everything that needs the owner, each with the lines to reply with.

The digest is how the owner steers mailer from a phone: they reply to it, and
its Reply-To is the command address. So every item carries the exact command
lines that act on it (`snooze anna@example.com 2w`), always addressing the
contact by email, which names one contact whatever the names in the store.

Everything else in the digest is written so that it can never be read as a
command: item lines start with "- ", details and outcomes with a label, and
text from other people's mail (names, subjects, a refused mail's sender) is
flattened to one line and only ever shown after such a prefix. The reply
lines are the only lines that start with a command word.

Sections, each capped (`cap` items; the rest are counted, with the mailer
command that lists them all):
- due: draft kinds of the plan; drafted at the next drafts run, or held and
  why; beside each, what the owner knows that the draft must not say (last
  subject, tags, notes);
- drafted: drafts written since the previous digest;
- reply_owed (lane owe_reply) and weed (lanes one_sided and rekindle), from
  the plan; a snoozed contact is in neither (its lane is `snoozed`), except
  that a reply owed outranks a snooze: a snooze stops drafts, not the list;
- seeds: contacts in lane `new` (untriaged two-way, first seen within
  `seed_window`), newest first; `mailer seed` lists older ones too;
- intros: introduction ideas, when given;
- commands and refused: the command mails handled since the previous digest;
  each applied one with its id and, when it changed anything that can be put
  back, the reply line `undo <id>` (a reply line like the others);
- faults: folders the scan skips because they cannot be read (one line each):
  their mail is not counted until the owner fixes the config or the folder.

Pure: no I/O, no clock. One pass over the contacts, the drafts and the
command records, so a 10,000-contact store is quick.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from mailer.core.clean import clean_line
from mailer.core.digest_model import (
    Digest,
    Entry,
    FolderFault,
    Handled,
    IntroIdea,
    Outcome,
    Refused,
    Section,
)
from mailer.core.plan import Plan
from mailer.core.rules import DRAFT_KINDS, WEED_LANES, seeds_to_triage, weed_kind
from mailer.core.ruleset import Rules, suggested_tier
from mailer.core.times import stored_time, zone
from mailer.model import CommandRecord, Contact, DraftRecord, iso

__all__ = [
    "CAP",
    "KIND",
    "Digest",
    "Entry",
    "FolderFault",
    "Handled",
    "IntroIdea",
    "Outcome",
    "Refused",
    "Section",
    "build",
    "digest_key",
    "is_digest_day",
    "local_day",
    "since_previous",
]

KIND = "digest"  # the DraftRecord kind of a delivered digest
CAP = 15
MAX_TEXT = 120  # longer names, subjects and reasons are cut: a digest is read on a phone
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DRAFT_NAMES = {
    "reconnect": "reconnect",
    "seed": "follow-up",
    "intro_request": "introduction request",
    "introduction": "introduction",
}


# --- when ---------------------------------------------------------------------------------


def local_day(now: datetime, timezone: str) -> date:
    """The owner's date at `now` (the digest is one a day at most)."""
    return now.astimezone(zone(timezone)).date()


def digest_key(now: datetime, timezone: str) -> str:
    """The digest's draft key: `digest:<local date>`."""
    return f"{KIND}:{local_day(now, timezone).isoformat()}"


def is_digest_day(every: str, weekday: str, now: datetime, timezone: str) -> bool:
    """Does the schedule (digest.every, digest.weekday) send a digest on this local day?"""
    if every == "daily":
        return True
    if every == "weekly":
        return WEEKDAYS[local_day(now, timezone).weekday()] == weekday.lower()
    return False


def since_previous(drafts: Iterable[DraftRecord], every: str, now: datetime) -> datetime:
    """When the previous digest went out; without one, a week (weekly) or a day back."""
    newest = max((d.written_at for d in drafts if d.kind == KIND and d.written_at), default=None)
    previous = stored_time(newest)
    if previous is not None:
        return previous
    return now.astimezone(UTC) - timedelta(days=7 if every == "weekly" else 1)


# --- building -----------------------------------------------------------------------------


def _flat(text: object, limit: int = MAX_TEXT) -> str:
    """One line, at most `limit` characters: other people's text, made harmless."""
    flat = " ".join(clean_line(str(text or "")).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _name(name: str | None) -> str | None:
    return _flat(name, 60) or None


def _who(c: Contact | None, email: str) -> str:
    name = _name(c.name) if c else None
    return f"{name} <{email}>" if name else email


def _day(text: str | None) -> str:
    return (text or "")[:10] or "?"


def _addressable(email: str) -> bool:
    """Can a command line name this contact by its address? (one word, with an @)"""
    return "@" in email and len(email.split()) == 1 and email == email.strip()


def _lines(email: str, *commands: str) -> tuple[str, ...]:
    """`done {}` -> `done anna@example.com`; none for an address no line can carry."""
    if not _addressable(email):
        return ()
    return tuple(c.format(email) for c in commands)


def _subject(c: Contact | None) -> tuple[str, ...]:
    if c is None or not c.last_subject:
        return ()
    return (f'last subject: "{_flat(c.last_subject, 80)}"',)


def _section(name: str, entries: list[Entry], cap: int, total: int | None = None) -> Section:
    return Section(name, tuple(entries[:cap]), len(entries) if total is None else total)


WHAT = {"reconnect": "reconnect", "seed": "follow-up to a new contact", "rekindle": "rekindle"}


def _context(c: Contact | None) -> tuple[str, ...]:
    """The owner's own notes beside a draft: kept out of the draft's body."""
    if c is None:
        return ()
    said = [*_subject(c)]
    if c.tags:
        said.append("tags: " + _flat(", ".join(c.tags), 80))
    if c.notes:
        said.append("notes: " + _flat(c.notes))
    return tuple(said)


def _from_plan(
    plan: Plan, by_email: dict[str, Contact]
) -> tuple[list[Entry], list[Entry], list[Entry]]:
    """Due, reply owed and weed candidates, in the plan's order."""
    due: list[Entry] = []
    owed: list[Entry] = []
    weed: list[Entry] = []
    details: tuple[str, ...]
    for item in plan.items:
        c = by_email.get(item.email)
        name, email = _name(item.name), item.email
        if item.kind in DRAFT_KINDS:
            late = f"{item.overdue_days} days overdue" if item.overdue_days else "due today"
            held = "" if item.draft else f"; held: {item.hold}"  # else drafted at the next run
            details = (f"{WHAT[item.kind]}, {late}{held}", _flat(item.reason), *_context(c))
            due.append(Entry(email, name, details, _lines(email, "done {}", "snooze {} 2w")))
        if item.kind == "reply_owed":
            details = (_flat(item.reason), *_subject(c))
            owed.append(Entry(email, name, details, _lines(email, "done {}")))
        elif item.lane in WEED_LANES:
            what = weed_kind(item.lane).replace("_", "-")
            details = (f"{what}: {_flat(item.reason)}",)
            weed.append(Entry(email, name, details, _lines(email, "weed {}", "snooze {} 3m")))
    return due, owed, weed


def _seed_entry(c: Contact, tier: str) -> Entry:
    details = (
        f"new since {_day(c.first_seen)}; {c.messages_in} from them, "
        f"{c.messages_out} from you; last {_day(c.last_contact)}",
        *_subject(c),
    )
    lines = _lines(c.email, f"tier {{}} {tier}", "tag {} <tags>", "ignore {}")
    return Entry(c.email, _name(c.name), details, lines)


def _drafted_entry(d: DraftRecord, c: Contact | None, tier: str) -> Entry:
    what = DRAFT_NAMES.get(d.kind, d.kind)
    details = (f"{what} draft, written {_day(d.written_at)}",)
    lines: tuple[str, ...] = ()
    if d.kind == "reconnect":
        lines = _lines(d.email, "weed {}")
    elif d.kind == "seed":
        lines = _lines(d.email, f"tier {{}} {tier}", "ignore {}")
    return Entry(d.email, _name(c.name if c else None), details, lines)


def _intro_entry(idea: IntroIdea, by_email: dict[str, Contact]) -> Entry:
    pair = " and ".join(_who(by_email.get(e), e) for e in (idea.a, idea.b))
    return Entry(
        idea.a,
        None,
        (_flat(idea.why),),
        tuple(_flat(line) for line in idea.lines),
        cli=None if idea.asked else f"mailer intro ask {idea.a} {idea.b}",
        title=pair,
    )


def _handled(r: CommandRecord, cap: int) -> Handled:
    outcomes = tuple(
        Outcome(o.ok, _flat(o.line, 80) or "(the mail)", _flat(o.result)) for o in r.lines
    )
    if r.undone_at:
        note = _flat(f"undone since ({r.undone_by or 'by you'}, {_day(r.undone_at)})")
    elif r.undoes:
        note = "this mail was an undo (of " + _flat(", ".join(r.undoes), 60) + ")"
    else:
        note = ""
    return Handled(
        _flat(r.subject, 80),
        r.received,
        r.processed_at,
        r.kind,
        outcomes[:cap],
        max(0, len(outcomes) - cap),
        r.id,
        r.undo_line,
        note,
    )


def build(
    plan: Plan,
    contacts: Iterable[Contact],
    drafts: Iterable[DraftRecord],
    commands: Iterable[CommandRecord],
    rules: Rules,
    now: datetime,
    *,
    since: datetime,
    intros: Sequence[IntroIdea] = (),
    faults: Sequence[FolderFault] = (),
    cap: int = CAP,
) -> Digest:
    """The digest at `now`, covering drafts and command mails after `since`.

    `drafts` and `commands` may hold older records too; they are filtered here.
    `faults` are shown as long as they last, whatever `since`.
    """
    now = now.astimezone(UTC)
    since_iso = iso(since) or ""

    everyone = list(contacts)
    by_email = {c.email: c for c in everyone}
    seeds = seeds_to_triage(plan.lanes, only_new=True)
    tier = suggested_tier(rules)

    due, owed, weed = _from_plan(plan, by_email)

    written = [d for d in drafts if d.kind != KIND and d.written_at > since_iso]
    written.sort(key=lambda d: (d.written_at, d.key), reverse=True)

    handled: list[Handled] = []
    refused: list[Refused] = []
    for r in sorted(commands, key=lambda r: (r.processed_at, r.key), reverse=True):
        if r.processed_at <= since_iso:
            continue
        if r.accepted:
            handled.append(_handled(r, cap))
        else:
            refused.append(
                Refused(_flat(r.sender, 80), _flat(r.subject, 80), r.received, _flat(r.reason))
            )

    return Digest(
        now=now,
        since=since.astimezone(UTC),
        due=_section("due", due, cap),
        drafted=_section(
            "drafted", [_drafted_entry(d, by_email.get(d.email), tier) for d in written], cap
        ),
        reply_owed=_section("reply_owed", owed, cap),
        seeds=_section("seeds", [_seed_entry(c, tier) for c in seeds[:cap]], cap, len(seeds)),
        weed=_section("weed", weed, cap),
        intros=_section("intros", [_intro_entry(i, by_email) for i in intros], cap),
        commands=tuple(handled[:cap]),
        commands_total=len(handled),
        refused=tuple(refused[:cap]),
        refused_total=len(refused),
        faults=tuple(
            FolderFault(_flat(f.folder, 80), _flat(f.error), f.since) for f in faults[:cap]
        ),
    )
