"""Undo one command mail: put back exactly what it changed, or change nothing and say why.

A command typed on a phone can name the wrong person or the wrong tier, and
`weed` or `ignore` takes someone out of every list. So every applied mail
keeps what it changed (`model.Changes`, written with the mail in one store
transaction, computed here by `record_changes` from what the store writes),
and `undo <id>` by mail or `mailer commands undo ID` puts it back:

- every contact field the mail changed gets the value it had before;
  exchanges it logged are removed; introductions it answered are as they
  were;
- all or nothing: when any of those fields now holds another value than the
  mail left there (a later command, `contacts set`, a merge), or a logged
  exchange or an answered introduction moved on, nothing is changed and the
  refusal names each field and its value now. Undoing the undo of a later
  change would lose that change silently; the owner decides instead;
- mail the command mail counted (a forward, a Bcc'd copy) stays counted: its
  message keys are shared with the scans, which count the same mail once, and
  uncounting it could take away what a scan saw;
- a mail is undone once; an undo is not undone (its own record says what it
  restored; the owner gives the commands again instead).

Pure: no I/O, no clock.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mailer.core.intros import needed_drafts
from mailer.model import (
    Changes,
    CommandRecord,
    Contact,
    ContactChange,
    Intro,
    IntroChange,
    LogEntry,
    record_id,
)

__all__ = [
    "CannotUndo",
    "MailUndo",
    "Past",
    "Restore",
    "find",
    "new_id",
    "plan",
    "record_changes",
]

# Fields a command never changes and undo never sets: the identity, and what later versions add
_SKIP = frozenset({"email", "extra"})
_FIELDS = tuple(f.name for f in dataclasses.fields(Contact) if f.name not in _SKIP)
# Text fields commands only add to (`note`): kept as the text added and a digest of the
# whole, so records do not carry the ever longer notes twice each
APPENDED = frozenset({"notes"})
MAX_SHOWN = 60  # a value in a message is cut to this


class CannotUndo(ValueError):
    """Nothing was changed. `later`: a later change (or an earlier undo) is in the way,
    so the store's state refuses; otherwise the id names nothing that undo can restore."""

    def __init__(self, message: str, *, later: bool = False) -> None:
        super().__init__(message)
        self.later = later


@dataclass(frozen=True)
class Past:
    """What an undo reads besides contacts and introductions."""

    records: Sequence[CommandRecord]
    logged: Sequence[LogEntry]
    drafts: Collection[str]  # keys of the drafts written


@dataclass(frozen=True)
class Restore:
    """What undoing one mail writes, and says."""

    record: CommandRecord
    contacts: dict[str, Contact]  # by email: each contact as restored
    unlogged: tuple[LogEntry, ...]  # logged exchanges to remove
    intros: tuple[Intro, ...]  # as restored
    said: tuple[str, ...]  # one line per contact, exchange or introduction put back

    @property
    def summary(self) -> str:
        return f"mail {self.record.id} undone: " + "; ".join(self.said)


# --- what a mail changed ---------------------------------------------------------------


def _value(c: Contact, name: str) -> Any:
    """A field in its stored (JSON) form: tuples as lists."""
    value = getattr(c, name)
    return list(value) if isinstance(value, tuple) else value


def _digest(text: str) -> str:
    import hashlib  # here: loading it (and OpenSSL) is 3 % of the start-up of every command

    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def contact_change(before: Contact, after: Contact) -> ContactChange | None:
    """The fields that differ between two states of one contact; None when none does."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    appended: dict[str, tuple[str, str]] = {}
    for name in _FIELDS:
        a, b = _value(before, name), _value(after, name)
        if a == b:
            continue
        if name in APPENDED and isinstance(a, str) and isinstance(b, str) and b.startswith(a):
            appended[name] = (b[len(a) :], _digest(b))
        else:
            old[name], new[name] = a, b
    if not (old or appended):
        return None
    return ContactChange(before.email, old, new, appended)


def record_changes(
    before: Mapping[str, Contact],
    changed: Mapping[str, Contact],
    logged: Sequence[LogEntry],
    unlogged: Sequence[LogEntry],
    intros_before: Sequence[Intro],
    intros_after: Sequence[Intro],
) -> Changes:
    """What a mail changes, from the contacts before and what the store writes.

    Only contacts that exist before are written (the store does not create
    contacts from commands), so only those are recorded.
    """
    contacts = []
    for email in sorted(changed):
        if email in before:
            change = contact_change(before[email], changed[email])
            if change is not None:
                contacts.append(change)
    old = {i.key: i for i in intros_before}
    intros = []
    for intro in intros_after:
        prior = old.get(intro.key)
        if prior != intro:
            intros.append(IntroChange(intro.key, prior.to_doc() if prior else None, intro.to_doc()))
    return Changes(tuple(contacts), tuple(logged), tuple(unlogged), tuple(intros))


def new_id(key: str, taken: Collection[str]) -> str:
    """The record id of `key`: six characters, longer only when another record has them."""
    for length in range(6, 17):
        candidate = record_id(key, length)
        if candidate not in taken:
            return candidate
    raise ValueError(f"no free id for {key}")  # 16 characters taken: not a real store


# --- undoing ---------------------------------------------------------------------------


def find(records: Sequence[CommandRecord], ident: str) -> CommandRecord:
    """The record with id `ident` (case does not matter); CannotUndo when there is none."""
    wanted = ident.strip().lower()
    found = [r for r in records if r.id == wanted]
    if not found:
        raise CannotUndo(f"no command mail with id {ident!r}; mailer commands list shows the ids")
    if len(found) > 1:  # only records from before ids were stored could share one
        raise CannotUndo(f"{len(found)} command mails have the id {ident!r}; nothing undone")
    return found[0]


def _show(value: Any) -> str:
    if value is None or value == [] or value == "":
        return "none"
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    text = " ".join(str(value).split())
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _undoable(record: CommandRecord) -> Changes:
    """The record's changes, or why the mail cannot be undone at all."""
    rid = record.id
    if not record.accepted:
        raise CannotUndo(f"mail {rid} was refused ({_show(record.reason)}); it changed nothing")
    if record.undone_at is not None:
        by = f" by {record.undone_by}" if record.undone_by else ""
        raise CannotUndo(f"mail {rid} was undone already{by} at {record.undone_at}", later=True)
    if record.undoes:
        raise CannotUndo(
            f"mail {rid} was an undo (of {', '.join(record.undoes)}); an undo is not undone: "
            "give the commands of that mail again"
        )
    if record.changes is None:
        raise CannotUndo(
            f"mail {rid} was handled before mailer kept what a mail changes; "
            "set it back by hand (mailer contacts set)"
        )
    if record.changes.empty:
        kept = " (the mail it logged stays counted)" if record.kind != "commands" else ""
        raise CannotUndo(f"mail {rid} changed nothing that undo restores{kept}")
    return record.changes


def _restore_contact(
    change: ContactChange, current: Contact | None, problems: list[str]
) -> Contact | None:
    if current is None:
        problems.append(f"{change.email} is no longer a contact (merged or removed)")
        return None
    values: dict[str, Any] = {}
    for name, set_to in change.after.items():
        now = _value(current, name) if name in _FIELDS else None
        if name not in _FIELDS or now != set_to:
            problems.append(
                f"{change.email}: {name} is now {_show(now)} (the mail set {_show(set_to)})"
            )
            continue
        values[name] = change.before.get(name)
    for name, (text, after) in change.appended.items():
        now = _value(current, name) if name in _FIELDS else None
        if not isinstance(now, str) or _digest(now) != after:
            problems.append(f"{change.email}: {name} changed since (a later edit or note)")
            continue
        values[name] = now[: len(now) - len(text)]
    for name, value in values.items():
        if isinstance(getattr(current, name), tuple):
            values[name] = tuple(value or ())
    return dataclasses.replace(current, **values)


def _describe(change: ContactChange, restored: Contact) -> str:
    back = [f"{name} back to {_show(_value(restored, name))}" for name in change.before]
    back += [f"{name} without {_show(text)}" for name, (text, _) in change.appended.items()]
    return f"{change.email}: " + ", ".join(back)


def _take(entries: Sequence[LogEntry], wanted: Sequence[LogEntry]) -> list[LogEntry] | None:
    """`wanted` found among `entries` (each as often as it is wanted), or None."""
    have = Counter(entries)
    for entry, n in Counter(wanted).items():
        if have[entry] < n:
            return None
    return list(wanted)


def _restore_intro(
    change: IntroChange, current: Intro | None, drafts: Collection[str], problems: list[str]
) -> Intro | None:
    after = Intro.from_doc(change.after)
    pair = f"the introduction of {after.a} and {after.b}"
    if current is None or current != after:
        now = current.state if current else "gone"
        problems.append(f"{pair} moved on since (now {now})")
        return None
    if change.before is None:
        problems.append(f"{pair} was made by the mail; close it with mailer intro answer")
        return None
    before = Intro.from_doc(change.before)
    caused = {d.key for d in needed_drafts([after], ())} - {
        d.key for d in needed_drafts([before], ())
    }
    if caused & set(drafts):
        problems.append(f"the introduction draft for {after.a} and {after.b} was written already")
        return None
    return before


def plan(
    record: CommandRecord,
    contacts: Mapping[str, Contact],
    intros: Sequence[Intro],
    logged: Sequence[LogEntry],
    drafts: Collection[str] = (),
) -> Restore:
    """What undoing `record` writes, given everything as it is now; CannotUndo when
    anything is in the way (then every obstacle is named, and nothing is to be written)."""
    changes = _undoable(record)
    problems: list[str] = []
    restored: dict[str, Contact] = {}
    said: list[str] = []
    unlogged = _take(logged, changes.logged)
    if unlogged is None:
        problems.append("an exchange it logged was removed or moved since (a merge?)")
        unlogged = []
    kept = Counter(logged) - Counter(unlogged)
    for change in changes.contacts:
        contact = _restore_contact(change, contacts.get(change.email), problems)
        if contact is not None:
            if "last_logged" in change.before:
                contact = _newest_logged(contact, kept)
            restored[contact.email] = contact
            said.append(_describe(change, contact))
    said += [f"{e.email}: logged exchange of {e.when[:10]} removed" for e in unlogged]
    by_key = {i.key: i for i in intros}
    back: list[Intro] = []
    for ichange in changes.intros:
        intro = _restore_intro(ichange, by_key.get(ichange.key), drafts, problems)
        if intro is not None:
            back.append(intro)
            said.append(f"the introduction of {intro.a} and {intro.b} is {_answers(intro)} again")
    if changes.unlogged:
        problems.append("it removed logged exchanges (an undo), which are not put back")
    if problems:
        raise CannotUndo(
            f"mail {record.id} not undone, nothing changed: " + "; ".join(problems), later=True
        )
    if record.kind != "commands":
        said.append("the mail it logged stays counted")
    return Restore(record, restored, tuple(unlogged), tuple(back), tuple(said))


def _newest_logged(contact: Contact, kept: Counter[LogEntry]) -> Contact:
    """`last_logged` is the newest logged exchange: one logged by a later mail at the
    same time (the field did not change then) stays counted when this mail's goes."""
    newest = max((e.when for e in kept if e.email == contact.email), default="")
    if newest > (contact.last_logged or ""):
        return dataclasses.replace(contact, last_logged=newest)
    return contact


def _answers(intro: Intro) -> str:
    said = [
        f"{who} said {a}" for who, a in ((intro.a, intro.answer_a), (intro.b, intro.answer_b)) if a
    ]
    return f"{intro.state}, " + (", ".join(said) if said else "no answers")


class MailUndo:
    """The `undo <id>` lines of one command mail, in the order they come.

    Each line is planned against the contacts and introductions as the
    mail's earlier lines left them; what the lines undid and unlogged
    gathers here for the store to write with the mail. `past` is read at the
    first undo line only (most mails have none).
    """

    def __init__(self, past: Callable[[], Past]) -> None:
        self._load = past
        self._past: Past | None = None
        self.undone: list[str] = []  # record keys
        self.unlogged: list[LogEntry] = []

    def __call__(
        self, ident: str, contacts: Mapping[str, Contact], intros: Sequence[Intro]
    ) -> Restore:
        if self._past is None:
            self._past = self._load()
        record = find(self._past.records, ident)
        if record.key in self.undone:
            raise CannotUndo(f"mail {record.id} is undone already by an earlier line", later=True)
        logged = list(self._past.logged)
        for entry in self.unlogged:
            logged.remove(entry)
        restore = plan(record, contacts, intros, logged, self._past.drafts)
        self.undone.append(record.key)
        self.unlogged.extend(restore.unlogged)
        return restore

    def clear(self) -> None:
        """Forget what was undone: the mail is not applied after all."""
        self.undone.clear()
        self.unlogged.clear()
