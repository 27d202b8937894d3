"""The merge of imported cards into the stored contacts, and its report.

Apart from the readers: it is the same whatever the file's format, and it is
where an import's rules live (a card joins the contact that has any of its
addresses; what the scan learned is never touched).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mailer.core.addressbook.cards import NO_EMAIL, ImportedContact
from mailer.core.contacts import check_tier
from mailer.core.durations import parse_duration
from mailer.model import Contact

MERGE_FIRST = "merge them first with mailer contacts merge"


@dataclass(frozen=True, slots=True)
class Updated:
    email: str
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Skipped:
    where: str
    reason: str


@dataclass(frozen=True)
class ImportPlan:
    """What an import changes: the contacts to write (whole values) and the report."""

    contacts: tuple[Contact, ...]  # added and updated, to write
    added: tuple[str, ...]
    updated: tuple[Updated, ...]
    unchanged: tuple[str, ...]
    skipped: tuple[Skipped, ...]

    def summary(self) -> str:
        """One line: `3 added, 2 updated (tags, notes), 1 unchanged, 1 skipped: ...`."""
        fields = list(dict.fromkeys(f for u in self.updated for f in u.fields))
        updated = f"{len(self.updated)} updated" + (f" ({', '.join(fields)})" if fields else "")
        text = f"{len(self.added)} added, {updated}, {len(self.unchanged)} unchanged"
        text += f", {len(self.skipped)} skipped"
        if self.skipped:
            no_email = sum(1 for s in self.skipped if s.reason == NO_EMAIL)
            reasons = [f"{s.where}: {s.reason}" for s in self.skipped if s.reason != NO_EMAIL]
            shown = ([f"{no_email} without an email address"] if no_email else []) + reasons[:3]
            more = f" and {len(reasons) - 3} more" if len(reasons) > 3 else ""
            text += ": " + "; ".join(shown) + more
        return text

    def lines(self) -> list[str]:
        """One line per contact added or updated and per card skipped."""
        out = [f"added {e}" for e in self.added]
        out += [f"updated {u.email}: {', '.join(u.fields)}" for u in self.updated]
        out += [f"skipped {s.where}: {s.reason}" for s in self.skipped]
        return out


def plan_import(
    existing: Sequence[Contact],
    imported: Iterable[ImportedContact],
    own: Collection[str] = (),
    tiers: Collection[str] | None = None,
) -> ImportPlan:
    """Merge the cards into the contacts by address; what to write and the report.

    Cards are taken in file order: a later card's single values (status,
    trust, ...) win over an earlier one's for the same person, tags are
    united and notes kept. A card whose addresses belong to two stored
    contacts is skipped: which person it is, is the owner's call. `own` are
    the owner's addresses, never a contact. `tiers` are the configured ones
    (rules.tiers): a card with another tier is skipped, as one with a bad
    trust is; None takes any tier as it is.
    """
    stored = {c.email: c for c in existing}
    current: dict[str, Contact] = dict(stored)
    holder: dict[str, str] = {}  # address -> the email of the contact that has it
    for c in existing:
        for a in c.aliases:
            holder.setdefault(a, c.email)
    holder.update({c.email: c.email for c in existing})
    new_cards: dict[str, list[ImportedContact]] = {}  # contacts this import creates
    matched: set[str] = set()
    skipped: list[Skipped] = []
    mine = {a.strip().lower() for a in own}

    for card in imported:
        if card.problem:
            skipped.append(Skipped(card.where, card.problem))
            continue
        if card.tier is not None and tiers is not None:
            try:
                card = dataclasses.replace(card, tier=check_tier(card.tier, tiers))
            except ValueError as e:
                skipped.append(Skipped(card.where, str(e)))
                continue
        if ours := [a for a in card.addresses if a in mine]:
            skipped.append(Skipped(card.where, f"{ours[0]} is your own address (me.addresses)"))
            continue
        hits = [holder[a] for a in card.addresses if a in holder]
        if len(hits) > 1:
            hits = list(dict.fromkeys(hits))
        olds = [e for e in hits if e in stored]
        if len(olds) > 1:
            skipped.append(
                Skipped(card.where, f"its addresses belong to {' and '.join(olds)}: {MERGE_FIRST}")
            )
            continue
        target = olds[0] if olds else hits[0] if hits else card.addresses[0]
        if target not in stored:
            new_cards.setdefault(target, [])
        contact = current.get(target)
        if contact is None:  # nobody has its addresses: a new contact, made in one go
            contact = Contact(email=target, **_changes(_NOBODY, card, target))
        else:
            for other in hits:
                if other != target:  # a contact this import created: the same person after all
                    for earlier in new_cards.pop(other):
                        contact = _apply(contact, earlier)
                        if target in new_cards:
                            new_cards[target].append(earlier)
                    del current[other]
            contact = _apply(contact, card)
        current[target] = contact
        if target in new_cards:
            new_cards[target].append(card)
        else:
            matched.add(target)
        for a in (contact.email, *contact.aliases):
            holder[a] = target

    added = sorted(e for e in current if e not in stored)
    updated: list[Updated] = []
    unchanged: list[str] = []
    for email in sorted(matched):
        fields = _changed(stored[email], current[email])
        if fields:
            updated.append(Updated(email, fields))
        else:
            unchanged.append(email)
    return ImportPlan(
        contacts=tuple(current[e] for e in (*added, *(u.email for u in updated))),
        added=tuple(added),
        updated=tuple(updated),
        unchanged=tuple(unchanged),
        skipped=tuple(skipped),
    )


_FIELDS = tuple(f.name for f in dataclasses.fields(Contact))
_NOBODY = Contact(email="")  # what a contact the import creates starts from


def _changed(old: Contact, new: Contact) -> tuple[str, ...]:
    if old is new:  # what _apply returns when a card changes nothing
        return ()
    return tuple(name for name in _FIELDS if getattr(old, name) != getattr(new, name))


def _apply(c: Contact, card: ImportedContact) -> Contact:
    """`c` with what `card` gives; the scan's counts and dates stay as they are."""
    changes = _changes(c, card, c.email)
    return dataclasses.replace(c, **changes) if changes else c


def _changes(c: Contact, card: ImportedContact, email: str) -> dict[str, Any]:
    """The fields `card` changes of `c` (whose email is `email`), with their new values."""
    changes: dict[str, Any] = {}
    new_aliases = [a for a in card.addresses if a != email and a not in c.aliases]
    if new_aliases:
        changes["aliases"] = (*c.aliases, *new_aliases)
    if card.name is not None:
        if card.name_fixed is False:
            # A name the scan learned (mailer's own export): the scan keeps it current.
            if not c.name:
                changes["name"], changes["name_fixed"] = card.name, False
        elif card.name != c.name:
            changes["name"], changes["name_fixed"] = card.name, True  # the owner's word
        elif card.name_fixed and not c.name_fixed:
            changes["name_fixed"] = True
    for field in ("status", "tier", "trust", "intro_opt_out", "snoozed_until"):
        value = getattr(card, field)
        if value is not None and value != getattr(c, field):
            changes[field] = value
    if card.cadence is not None and not _same_duration(card.cadence, c.cadence):
        changes["cadence"] = card.cadence
    new_tags = [t for t in card.tags or () if t not in c.tags]
    if new_tags:
        changes["tags"] = tuple(sorted({*c.tags, *new_tags}))  # united and sorted, as everywhere
    if card.notes is not None:
        notes = _notes(c.notes, card.notes)
        if notes != c.notes:
            changes["notes"] = notes
    return changes


def _same_duration(a: str, b: str | None) -> bool:
    try:
        return b is not None and parse_duration(a) == parse_duration(b)
    except ValueError:
        return a == b


def _notes(old: str, new: str) -> str:
    """Both texts, without repeating one the other already holds."""
    if not old.strip() or old.strip() in new:
        return new  # nothing yet, or the file's text extends it (edited in a spreadsheet)
    if new.strip() in old:
        return old
    return f"{old}\n{new}"
