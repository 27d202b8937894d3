"""Fold interactions into contact records.

Pure and order-independent: folding the same set of interactions in any order
or in any batching gives the same contacts, which is what lets a killed scan
resume and still end where an uninterrupted one would. (One exception, on
purpose: group mail, to more people than `scan.max_recipients`, creates no
contact, so it marks `last_group` only on people known when it is folded.)
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime

from mailer.core import history
from mailer.model import Contact, Interaction, iso

RECENT_OUT = 10  # outbound times kept per contact: enough to tell a one-sided relationship


def _later(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _earlier(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _newer(when: str, value: str, seen: str | None, current: str | None) -> bool:
    """Is (when, value) later than (seen, current)? Ties break on the value."""
    return seen is None or (when, value) > (seen, current or "")


class _Tally:
    """What one batch says about one person; datetimes until the end (cheap to compare)."""

    __slots__ = (
        "first",
        "last_in",
        "last_out",
        "months",
        "n_in",
        "n_out",
        "name",
        "outs",
        "subject",
    )

    def __init__(self) -> None:
        self.n_in = self.n_out = 0
        self.first: datetime | None = None
        self.last_in: datetime | None = None
        self.last_out: datetime | None = None
        self.name: tuple[datetime, str] | None = None
        self.subject: tuple[datetime, str] | None = None
        self.outs: list[datetime] = []
        self.months: dict[tuple[int, int], list[int]] = {}  # (year, month) -> [in, out]


def fold(
    existing: Mapping[str, Contact], interactions: Iterable[Interaction]
) -> dict[str, Contact]:
    """Return the contacts that `interactions` change, keyed by email.

    Contacts not in `existing` are created as seeds. The display name and the
    last subject come from the most recent interaction that had one; ties
    break on the value, so the result never depends on the order of the input.
    """
    tallies: dict[str, _Tally] = {}
    group: dict[str, datetime] = {}
    for it in interactions:
        if it.direction == "group":
            if it.email not in group or it.when > group[it.email]:
                group[it.email] = it.when
            continue
        t = tallies.get(it.email)
        if t is None:
            t = tallies[it.email] = _Tally()
        when = it.when
        if t.first is None or when < t.first:
            t.first = when
        counts = t.months.get((when.year, when.month))
        if counts is None:
            counts = t.months[(when.year, when.month)] = [0, 0]
        counts[it.direction != "in"] += 1
        if it.direction == "in":
            t.n_in += 1
            if t.last_in is None or when > t.last_in:
                t.last_in = when
        else:
            t.n_out += 1
            t.outs.append(when)
            if t.last_out is None or when > t.last_out:
                t.last_out = when
        if it.name and (t.name is None or (when, it.name) > t.name):
            t.name = (when, it.name)
        if it.subject and (t.subject is None or (when, it.subject) > t.subject):
            t.subject = (when, it.subject)

    changed: dict[str, Contact] = {}
    for email, t in tallies.items():
        c = existing.get(email) or Contact(email=email)
        updates: dict[str, object] = {
            "first_seen": _earlier(c.first_seen, iso(t.first)),
            "messages_in": c.messages_in + t.n_in,
            "messages_out": c.messages_out + t.n_out,
            "last_inbound": _later(c.last_inbound, iso(t.last_in)),
            "last_outbound": _later(c.last_outbound, iso(t.last_out)),
        }
        if t.outs:
            # The newest RECENT_OUT, a multiset: any order or batching keeps the same ones.
            t.outs.sort(reverse=True)
            newest = [iso(w) or "" for w in t.outs[:RECENT_OUT]]
            updates["recent_out"] = tuple(
                sorted((*c.recent_out, *newest), reverse=True)[:RECENT_OUT]
            )
        if t.subject:
            seen = iso(t.subject[0]) or ""
            if _newer(seen, t.subject[1], c.subject_seen, c.last_subject):
                updates["last_subject"], updates["subject_seen"] = t.subject[1], seen
        if t.name and not c.name_fixed:
            seen = iso(t.name[0]) or ""
            if _newer(seen, t.name[1], c.name_seen, c.name):
                updates["name"], updates["name_seen"] = t.name[1], seen
        more = {f"{y:04d}-{m:02d}": (n[0], n[1]) for (y, m), n in t.months.items()}
        updates.update(_with_history(*history.merge(c.months, more)))
        if email in group:
            updates["last_group"] = _later(c.last_group, iso(group.pop(email)))
        changed[email] = dataclasses.replace(c, **updates)  # type: ignore[arg-type]
    # Group mail alone makes no contact (it is not a relationship): it only
    # marks the people mailer already knows.
    for email, when in group.items():
        known = existing.get(email)
        if known is not None and (known.last_group or "") < (iso(when) or ""):
            changed[email] = dataclasses.replace(known, last_group=iso(when))
    return changed


def _with_history(months: str, s: history.Summary | None = None) -> dict[str, object]:
    """The history fields of a contact whose monthly counts are `months` (summary `s`)."""
    if s is None:
        s = history.summarize(months)
    return {
        "months": months,
        "gap_days": s.gap_days,
        "weight_at": s.weight_at,
        "weight_in": s.weight_in,
        "weight_out": s.weight_out,
    }


def summary(c: Contact) -> history.Summary:
    """The stored summary of `c`'s history; estimated from its counts for a store from
    before histories were kept (until `mailer rebuild` gives it the real one)."""
    if c.months or not (c.messages_in or c.messages_out):
        return history.Summary(c.gap_days, c.weight_at, c.weight_in, c.weight_out)
    dates = [d for d in (c.last_inbound, c.last_outbound) if d and d[:1].isdigit()]
    last = max(dates)[:7] if dates else None
    return history.Summary(None, last, float(c.messages_in), float(c.messages_out))


_LATER_OF = ("last_inbound", "last_outbound", "last_logged", "snoozed_until", "last_group")
_STATUS_RANK = {"ignored": 0, "weeded": 1, "dormant": 2, "seed": 3, "active": 4}


def merge(keep: Contact, other: Contact) -> Contact:
    """One person from two records: `other`'s address becomes an alias of `keep`.

    Counts add up, first/last dates are the earliest/latest of the two, the
    recent outbound times are merged, tags are united, the higher trust and
    the livelier status win, the owner's own settings (tier, cadence, name)
    of `keep` win where it has them, and both notes are kept.
    """
    if keep.email == other.email:
        raise ValueError("a contact cannot be merged with itself")
    fields: dict[str, object] = {
        name: _later(getattr(keep, name), getattr(other, name)) for name in _LATER_OF
    }
    outs = sorted({*keep.recent_out, *other.recent_out}, reverse=True)[:RECENT_OUT]
    status = max(keep.status, other.status, key=lambda s: _STATUS_RANK.get(s, 3))
    newer_subject = (other.subject_seen or "") > (keep.subject_seen or "")
    notes = "\n".join(n for n in (keep.notes, other.notes) if n)
    aliases = {*keep.aliases, other.email, *other.aliases} - {keep.email}
    return dataclasses.replace(
        keep,
        **fields,  # type: ignore[arg-type]
        name=keep.name if keep.name_fixed or keep.name else other.name,
        status=status,
        tier=keep.tier or other.tier,
        tags=tuple(sorted({*keep.tags, *other.tags})),
        trust=max(keep.trust, other.trust),
        cadence=keep.cadence or other.cadence,
        notes=notes,
        first_seen=_earlier(keep.first_seen, other.first_seen),
        messages_in=keep.messages_in + other.messages_in,
        messages_out=keep.messages_out + other.messages_out,
        last_subject=other.last_subject if newer_subject else keep.last_subject,
        subject_seen=other.subject_seen if newer_subject else keep.subject_seen,
        recent_out=tuple(outs),
        aliases=tuple(sorted(aliases)),
        intro_opt_out=keep.intro_opt_out or other.intro_opt_out,
        **_with_history(*history.merge(keep.months, history.load(other.months))),  # type: ignore[arg-type]
    )


def weed(c: Contact) -> Contact:
    """Pruned: no drafts, never introduced; the status before is kept for `unweed`."""
    if c.status == "weeded":
        return c
    return dataclasses.replace(c, status="weeded", weeded_from=c.status)


def unweed(c: Contact) -> Contact:
    """The status `weed` kept (active when none was kept); unchanged when not weeded."""
    if c.status != "weeded":
        return c
    back = c.weeded_from if c.weeded_from in _STATUS_RANK and c.weeded_from != "weeded" else None
    return dataclasses.replace(c, status=back or "active", weeded_from=None)


# --- naming a contact ----------------------------------------------------------------------

MAX_LISTED = 10  # candidates an ambiguity error names
MAX_NEAR = 3  # suggestions a miss offers
NEAR_MARGIN = 0.1  # ... only those about as close as the closest
# Letters NFKD leaves whole, as they are typed without accents ("lukasz" for Łukasz).
_PLAIN_LETTERS = {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe"}
_TIER_WORD = re.compile(r"[a-z0-9][a-z0-9_-]*")

_Named = list[tuple[Contact, str]]  # contacts with a name, and that name folded


class Ambiguous(LookupError):
    """`who` names several contacts; the message lists them."""


class NotFound(LookupError):
    """`who` names no contact; `near` are the closest ones ("Name <email>").

    They are looked for only when asked for: reading a command line tries
    several splits of its words into a name and the rest, and most miss.
    """

    def __init__(self, who: str, near: Callable[[], list[str]] = list) -> None:
        super().__init__(who)
        self.who = who
        self._find_near = near
        self._near: tuple[str, ...] | None = None

    @property
    def near(self) -> tuple[str, ...]:
        if self._near is None:
            self._near = tuple(self._find_near())
        return self._near

    @property
    def hint(self) -> str:
        """` (did you mean A <a> or B <b>?)`, or "" when nothing is close."""
        if not self.near:
            return ""
        *most, last = self.near
        return f" (did you mean {', '.join(most) + ' or ' if most else ''}{last}?)"

    def __str__(self) -> str:
        return f"no contact {self.who!r}{self.hint}"


def resolve(contacts: Iterable[Contact], who: str, *, within_words: bool = True) -> Contact:
    """The one contact `who` names, by the first of these rules that finds anyone:

    1. its address, 2. one of its aliases (case and blanks around aside; with a
    trailing dot it is another address); then, accents and case aside ("jose"
    for José, "strasse" for Straße): 3. its whole display name, 4. its first
    name, 5. its address before the @, 6. a part of its name ("alvarez",
    "ann b"); with `within_words` False only a part that starts a word of it
    ("ob" is then nobody, not Bob: mailed commands must not guess).

    Raises Ambiguous, listing the candidates, when that rule finds several,
    and NotFound, with the closest names, when no rule finds anyone. Linear
    in the number of contacts: the CLI looks among all of them.
    """
    people = list(contacts)
    address = who.strip().lower()
    for c in people:
        if c.email == address:
            return c
    for c in people:
        if address in c.aliases:
            return c
    key = _folded(who)
    named: _Named = []
    if key and "@" not in key:  # an address names no one by a name
        named = [(c, _folded(c.name)) for c in people if c.name]
        for found in _by_name(people, named, key, within_words):
            if len(found) == 1:
                return found[0]
            if found:
                listed = ", ".join(_label(c) for c in found[:MAX_LISTED])
                more = f" and {len(found) - MAX_LISTED} more" if len(found) > MAX_LISTED else ""
                raise Ambiguous(f"{who.strip()!r} is ambiguous: {listed}{more}; use the address")
    raise NotFound(who.strip(), lambda: _near(people, named, key))


def _by_name(
    people: Sequence[Contact], named: _Named, key: str, within_words: bool
) -> Iterator[list[Contact]]:
    """The contacts each name rule of `resolve` finds for the folded `key`, in turn."""
    yield [c for c, name in named if name == key]
    yield [c for c, name in named if key in name and _first_name(name) == key]
    yield [c for c in people if _local_part(c.email) == key or _alias_local_part(c, key)]
    yield [c for c, name in named if _part_of(key, name, within_words)]


def _part_of(key: str, name: str, within_words: bool) -> bool:
    """Is `key` a part of `name` (one that starts a word of it, unless `within_words`)?"""
    if key not in name:
        return False
    return within_words or name.startswith(key) or f" {key}" in name or f"-{key}" in name


class _Folding(dict[int, str]):
    """str.translate's table for `_folded`, filled one character at a time as met.

    NFKD, dropping combining marks and casefolding all work per character, so
    this gives what they give on the whole text at a fraction of the cost.
    """

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFKD", chr(code))
        plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
        self[code] = folded = "".join(_PLAIN_LETTERS.get(ch, ch) for ch in plain)
        return folded


_FOLDING = _Folding()


def _folded(text: str) -> str:
    """As a name gets typed on a phone: "Zoë  Müller" -> "zoe muller", "Straße" -> "strasse"."""
    if text.isascii():
        return " ".join(text.lower().split())
    return " ".join(text.translate(_FOLDING).split())


def _first_name(name: str) -> str:
    """The first name in a folded display name: "anna" of "anna berg" and of "berg, anna"."""
    family, comma, given = name.partition(",")
    words = given.split() if comma and len(family.split()) == 1 else name.split()
    return words[0].strip("\"'()") if words else ""


def _local_part(address: str) -> str:
    local = address.rpartition("@")[0]
    return local if local.isascii() else _folded(local)  # addresses are stored lower-case


def _alias_local_part(c: Contact, key: str) -> bool:
    return bool(c.aliases) and any(_local_part(a) == key for a in c.aliases)


def _label(c: Contact) -> str:
    return f"{c.name} <{c.email}>" if c.name else c.email


def _near(people: Sequence[Contact], named: _Named, key: str) -> list[str]:
    """Up to MAX_NEAR contacts something of which is close to the folded `key`
    (difflib's ratio, and about as close as the closest), the closest first:
    for an address their addresses, else their names, first names and
    addresses before the @."""
    if not key:
        return []
    holders: dict[str, list[Contact]] = {}

    def hold(text: str, c: Contact) -> None:
        if text:
            holders.setdefault(text, []).append(c)

    for c in people:
        for a in (c.email, *c.aliases):
            hold(a if "@" in key else _local_part(a), c)
    for c, name in named:
        hold(name, c)
        hold(_first_name(name), c)
    labels: dict[str, None] = {}
    best = 0.0
    for text in difflib.get_close_matches(key, holders, n=3 * MAX_NEAR):
        score = difflib.SequenceMatcher(None, text, key).ratio()
        best = best or score
        if score < best - NEAR_MARGIN:
            break  # the rest are much further: "klein@k.example." is not "ak@k.example"
        labels.update(dict.fromkeys(_label(c) for c in holders[text]))
    return list(labels)[:MAX_NEAR]


def check_tier(text: str, tiers: Collection[str]) -> str:
    """The tier `text` names, as configured (any case); ValueError naming the configured ones.

    With no tiers configured, any one word is a tier (it only labels).
    """
    given = text.strip()
    if tiers:
        for tier in tiers:
            if tier.casefold() == given.casefold():
                return tier
        raise ValueError(f"{given!r} is not a tier (configured: {', '.join(tiers)})")
    if not _TIER_WORD.fullmatch(given.lower()):
        raise ValueError(f"{given!r} is not a tier (a tier is one word, like network)")
    return given.lower()
