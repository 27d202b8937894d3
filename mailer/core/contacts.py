"""Fold interactions into contact records, and the owner's own changes to one.

Pure and order-independent: folding the same set of interactions in any order
or in any batching gives the same contacts, which is what lets a killed scan
resume and still end where an uninterrupted one would. (One exception, on
purpose: group mail, to more people than `scan.max_recipients`, creates no
contact, so it marks `last_group` only on people known when it is folded.)

The owner's changes (merge, weed and unweed, triage, tags, tiers) are here
too, so the CLI and command mail make each the same way. Naming a contact
(`resolve`) is in mailer.core.naming.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import datetime

from mailer.core import history
from mailer.model import Contact, Interaction, iso, replace_contact

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

    def joined(self, other: _Tally) -> _Tally:
        """This tally and `other` as one (two addresses of one person)."""
        t = _Tally()
        t.n_in, t.n_out = self.n_in + other.n_in, self.n_out + other.n_out
        t.first = min((w for w in (self.first, other.first) if w), default=None)
        t.last_in = max((w for w in (self.last_in, other.last_in) if w), default=None)
        t.last_out = max((w for w in (self.last_out, other.last_out) if w), default=None)
        t.name = max((v for v in (self.name, other.name) if v), default=None)
        t.subject = max((v for v in (self.subject, other.subject) if v), default=None)
        t.outs = [*self.outs, *other.outs]
        for months in (self.months, other.months):
            for month, (n_in, n_out) in months.items():
                counts = t.months.setdefault(month, [0, 0])
                counts[0] += n_in
                counts[1] += n_out
        return t


_OUTS_KEPT = 4 * RECENT_OUT  # a tally trims its outbound times to the newest RECENT_OUT past this


class Tallies:
    """The first half of `fold`: what interactions say per person, before they meet
    the stored contacts.

    Tallies add up in any order, so a scan tallies mail as it arrives and holds
    one tally per person, not the messages: a batch of 100,000 messages costs
    the memory of the people in it, and its fold into the stored contacts
    (`apply`, the costly half: every touched contact's history is merged and
    summed up again) runs once per person per batch.
    """

    __slots__ = ("group", "people")

    def __init__(self) -> None:
        self.people: dict[str, _Tally] = {}
        self.group: dict[str, datetime] = {}  # group mail: the latest per person

    def add(self, interactions: Iterable[Interaction]) -> None:
        people, group = self.people, self.group
        for it in interactions:
            if it.direction == "group":
                if it.email not in group or it.when > group[it.email]:
                    group[it.email] = it.when
                continue
            t = people.get(it.email)
            if t is None:
                t = people[it.email] = _Tally()
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
                if len(t.outs) > _OUTS_KEPT:  # only the newest RECENT_OUT ever count
                    t.outs.sort(reverse=True)
                    del t.outs[RECENT_OUT:]
                if t.last_out is None or when > t.last_out:
                    t.last_out = when
            if it.name and (t.name is None or (when, it.name) > t.name):
                t.name = (when, it.name)
            if it.subject and (t.subject is None or (when, it.subject) > t.subject):
                t.subject = (when, it.subject)

    def renamed(self, aliases: Mapping[str, str]) -> Tallies:
        """These tallies with each alias's counted for the address it belongs to."""
        out = Tallies()
        for email, t in self.people.items():
            email = aliases.get(email, email)
            mine = out.people.get(email)
            if mine is None:
                out.people[email] = t
            else:
                out.people[email] = mine.joined(t)
        for email, when in self.group.items():
            email = aliases.get(email, email)
            if email not in out.group or when > out.group[email]:
                out.group[email] = when
        return out

    def apply(self, existing: Mapping[str, Contact]) -> dict[str, Contact]:
        """The contacts these tallies change, keyed by email (`fold`'s second half)."""
        return dict(self.changes(existing.get))

    def changes(self, existing: Callable[[str], Contact | None]) -> Iterator[tuple[str, Contact]]:
        """`apply` one contact at a time: `existing` gives the stored contact of an
        email (None: new), and only the contact at hand is held (a commit touches
        every contact of a large batch)."""
        group = dict(self.group)
        for email, t in self.people.items():
            c = existing(email) or Contact(email=email)
            updates: dict[str, object] = {
                "first_seen": _earlier(c.first_seen, iso(t.first)),
                "messages_in": c.messages_in + t.n_in,
                "messages_out": c.messages_out + t.n_out,
                "last_inbound": _later(c.last_inbound, iso(t.last_in)),
                "last_outbound": _later(c.last_outbound, iso(t.last_out)),
            }
            if t.outs or (t.last_in and c.recent_out):
                t.outs.sort(reverse=True)
                newest = [iso(w) or "" for w in t.outs[:RECENT_OUT]]
                updates["recent_out"] = _unanswered(
                    (*c.recent_out, *newest),
                    updates["last_inbound"],  # type: ignore[arg-type]
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
            yield email, replace_contact(c, updates)
        # Group mail alone makes no contact (it is not a relationship): it only
        # marks the people mailer already knows.
        for email, when in group.items():
            known = existing(email)
            if known is not None and (known.last_group or "") < (iso(when) or ""):
                yield email, replace_contact(known, {"last_group": iso(when)})


def fold(
    existing: Mapping[str, Contact], interactions: Iterable[Interaction]
) -> dict[str, Contact]:
    """Return the contacts that `interactions` change, keyed by email.

    Contacts not in `existing` are created as seeds. The display name and the
    last subject come from the most recent interaction that had one; ties
    break on the value, so the result never depends on the order of the input.
    """
    tallies = Tallies()
    tallies.add(interactions)
    return tallies.apply(existing)


def _unanswered(outs: Iterable[str], last_inbound: str | None) -> tuple[str, ...]:
    """The newest RECENT_OUT of `outs` later than `last_inbound`, newest first.

    Both cuts keep the newest times, so any order or batching of the mail
    keeps the same ones; the older ones never count as unanswered and would
    only make the stored contact grow with its history.
    """
    newest = sorted(outs, reverse=True)[:RECENT_OUT]
    return tuple(t for t in newest if t > (last_inbound or ""))


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
    if c.has_history or not (c.messages_in or c.messages_out):
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
    outs = _unanswered(
        {*keep.recent_out, *other.recent_out}, _later(keep.last_inbound, other.last_inbound)
    )
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


def triage(c: Contact, *, tier: str | None = None, tags: tuple[str, ...] | None = None) -> Contact:
    """`c` with the tier or tags the owner gave (None: unchanged).

    A tier or tags say what the tie is, so they make the contact active: a
    seed is triaged, a weeded or ignored one comes back (and the status `weed`
    kept goes). Trust alone, or no tags, changes no status.
    """
    changes: dict[str, object] = {}
    if tier is not None:
        changes["tier"] = tier
    if tags is not None:
        changes["tags"] = tags
    if tier or tags:
        changes.update(status="active", weeded_from=None)
    return dataclasses.replace(c, **changes)  # type: ignore[arg-type]


_TIER_WORD = re.compile(r"[a-z0-9][a-z0-9_-]*")


def tag_list(text: str) -> tuple[str, ...]:
    """`AI, berlin` -> ("ai", "berlin"): tags as the store keeps them (lower-case, sorted,
    each once)."""
    return tuple(sorted({t.strip().lower() for t in text.split(",") if t.strip()}))


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
