"""Fold interactions into contact records.

Pure and order-independent: folding the same set of interactions in any order
or in any batching gives the same contacts, which is what lets a killed scan
resume and still end where an uninterrupted one would.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
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
        self.months: dict[str, tuple[int, int]] = {}


def fold(
    existing: Mapping[str, Contact], interactions: Iterable[Interaction]
) -> dict[str, Contact]:
    """Return the contacts that `interactions` change, keyed by email.

    Contacts not in `existing` are created as seeds. The display name and the
    last subject come from the most recent interaction that had one; ties
    break on the value, so the result never depends on the order of the input.
    """
    tallies: dict[str, _Tally] = {}
    for it in interactions:
        t = tallies.get(it.email)
        if t is None:
            t = tallies[it.email] = _Tally()
        when = it.when
        if t.first is None or when < t.first:
            t.first = when
        month = history.month_of(when)
        n_in, n_out = t.months.get(month, (0, 0))
        if it.direction == "in":
            t.months[month] = (n_in + 1, n_out)
        else:
            t.months[month] = (n_in, n_out + 1)
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
        updates.update(_with_history(history.add(c.months, t.months)))
        changed[email] = dataclasses.replace(c, **updates)  # type: ignore[arg-type]
    return changed


def _with_history(months: str) -> dict[str, object]:
    """The history fields of a contact whose monthly counts are `months`."""
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
    last = max(c.last_inbound or "", c.last_outbound or "")[:7] or None
    return history.Summary(None, last, float(c.messages_in), float(c.messages_out))


_LATER_OF = ("last_inbound", "last_outbound", "last_logged", "snoozed_until")
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
        **_with_history(history.add(keep.months, history.load(other.months))),  # type: ignore[arg-type]
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


def resolve(contacts: Iterable[Contact], who: str) -> Contact:
    """The contact `who` names: an address, or a name (or part of one) that only one has.

    Raises LookupError with a message listing the candidates when there are
    none or several.
    """
    key = who.strip().lower()
    people = list(contacts)
    for c in people:
        if c.email == key:
            return c
    for c in people:
        if key in c.aliases:
            return c
    if "@" in key:
        raise LookupError(f"no contact {who!r}")
    exact = [c for c in people if c.name and c.name.lower() == key]
    if len(exact) == 1:
        return exact[0]
    partial = exact or [c for c in people if c.name and key in c.name.lower()]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        raise LookupError(f"no contact {who!r}")
    names = ", ".join(f"{c.name} <{c.email}>" for c in partial[:10])
    more = f" and {len(partial) - 10} more" if len(partial) > 10 else ""
    raise LookupError(f"{who!r} is ambiguous: {names}{more}; use the address")
