"""Contact: a person and what mailer knows of the relationship, and its stored form.

Apart from the other types because it is the one read in bulk (every command
reads every contact): its reader from the store and its copy are made for
speed (a dict copy each, not a call per field), and that machinery belongs
with the fields it mirrors.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STATUSES = ("seed", "active", "dormant", "weeded", "ignored")
# Where a contact stands, in order of precedence (mailer.core.rules.judge)
LANES = (
    "pruned",
    "inbound_only",
    "owe_reply",
    "snoozed",
    "one_sided",
    "new",
    "due",
    "rekindle",
    "quiet",
)


# Not slotted, on purpose: every command reads every contact, and a contact with a
# __dict__ is made by copying one dict of defaults and updating it with the stored
# document, two C calls (`_from_known_doc`), where slots took a call per field: a
# 20,000-contact listing spent a quarter of its time there.
@dataclass(frozen=True)
class Contact:
    """A person and what mailer knows of the relationship."""

    email: str
    name: str | None = None
    status: str = "seed"
    tier: str | None = None
    tags: tuple[str, ...] = ()
    trust: int = 0
    cadence: str | None = None
    notes: str = ""
    first_seen: str | None = None
    last_inbound: str | None = None
    last_outbound: str | None = None
    messages_in: int = 0
    messages_out: int = 0
    last_subject: str | None = None
    subject_seen: str | None = None  # when `last_subject` was seen
    name_seen: str | None = None  # when `name` was last seen, so newer names win
    name_fixed: bool = False  # set by the owner: scans no longer change it
    # the owner's newest outbound times (at most 10, newest first) since their last
    # inbound mail: older ones never count as unanswered, so they are not kept
    recent_out: tuple[str, ...] = ()
    snoozed_until: str | None = None
    last_logged: str | None = None  # the newest exchange the owner logged (met, called, done)
    aliases: tuple[str, ...] = ()  # other addresses of the same person (lower-case)
    intro_opt_out: bool = False  # never suggest or ask to introduce this person
    weeded_from: str | None = None  # the status before `mailer weed --apply`, for --undo
    last_group: str | None = None  # the newest mail from the owner to them and many others
    # mail per month and what it says (mailer.core.history): rebuilt from the sources.
    # `months` lives in the history file beside the store (mailer.store.histories): it is ""
    # unless read with it (Store.contacts_with_history, Store.history).
    months: str = ""  # "2024-03:2:1 2024-05:0:3": month, in, out
    gap_days: float | None = None  # the usual gap between exchanges; None: too little history
    weight_at: str | None = None  # the month the decayed weights below are taken at
    weight_in: float = 0.0
    weight_out: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)  # fields of later versions

    @property
    def last_contact(self) -> str | None:
        # ISO strings in UTC sort as times. Per contact in listings: two comparisons
        # cost a third of max() of three, which walks its arguments as a sequence.
        last = self.last_inbound
        other = self.last_outbound
        if other and (not last or other > last):
            last = other
        other = self.last_logged
        if other and (not last or other > last):
            last = other
        return last or None

    @property
    def has_history(self) -> bool:
        """Whether a monthly history was derived (its summary below is then the real one)."""
        return self.weight_at is not None

    @property
    def outbound_unanswered(self) -> int:
        """Outbound messages since they last answered (inbound, or an exchange the owner logged)."""
        if not self.recent_out:
            return 0
        answered = self.last_inbound or ""
        logged = self.last_logged
        if logged and logged > answered:  # not max(): see last_contact
            answered = logged
        # newest first: count until the first one they answered
        for n, t in enumerate(self.recent_out):
            if t <= answered:
                return n
        return len(self.recent_out)

    def to_json(self) -> dict[str, Any]:
        """The SPEC section 4 contract object (plus a few extra keys)."""
        return {
            "email": self.email,
            "name": self.name,
            "status": self.status,
            "tier": self.tier,
            "tags": list(self.tags),
            "trust": self.trust,
            "cadence": self.cadence,
            "notes": self.notes,
            "first_seen": self.first_seen,
            "last_inbound": self.last_inbound,
            "last_outbound": self.last_outbound,
            "last_contact": self.last_contact,
            "messages_in": self.messages_in,
            "messages_out": self.messages_out,
            "last_subject": self.last_subject,
            "outbound_unanswered": self.outbound_unanswered,
            "next_due": None,  # the rules' to give: see App.contact_rows
            "snoozed_until": self.snoozed_until,
            "last_logged": self.last_logged,
            "aliases": list(self.aliases),
            "intro_opt_out": self.intro_opt_out,
        }

    def to_doc(self) -> dict[str, Any]:
        """The stored form (TinyDB document body). Fields at their default are left
        out: most contacts set few of them, and every command reads every contact."""
        doc: dict[str, Any] = {"email": self.email}
        for name, default in _PLAIN_DEFAULTS:
            if name == "months":  # the history file's (mailer.store.histories)
                continue
            value = getattr(self, name)
            if value != default or type(value) is not type(default):
                doc[name] = value
        for name in _TUPLE_FIELDS:
            if getattr(self, name):
                doc[name] = list(getattr(self, name))
        for packed, (a, b) in _PAIR_ITEMS:
            if a in doc or b in doc:
                doc[packed] = [doc.pop(a, getattr(self, a)), doc.pop(b, getattr(self, b))]
        return {**self.extra, **doc}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Contact:
        known = _from_known_doc(doc)  # the hot path of every listing
        if known is not None:
            return known
        values = {k: v for k, v in doc.items() if k in _STORED_NAMES}
        _unpack(values)
        for name in _TUPLE_FIELDS:
            values[name] = tuple(values.get(name) or ())
        extra = {k: v for k, v in doc.items() if k not in _STORED_NAMES}
        return cls(**values, extra=extra)


# What the owner's mail says of both directions is stored as one [in, out] pair per
# fact: two named fields cost 20 to 40 bytes more, paid by every contact the owner
# ever wrote to, and every command reads every contact. Stores written before
# keep the two fields until the contact next changes; both read the same.
PAIRS = {
    "messages": ("messages_in", "messages_out"),
    "last_mail": ("last_inbound", "last_outbound"),
    "weight": ("weight_in", "weight_out"),
}
_PAIR_ITEMS = tuple(PAIRS.items())


def _unpack(values: dict[str, Any]) -> None:
    """Stored [in, out] pairs in `values` (a stored document's copy) as their two fields."""
    for packed, (a, b) in _PAIR_ITEMS:
        pair = values.pop(packed, None)
        if pair is not None:
            values[a], values[b] = pair


_CONTACT_FIELDS = frozenset(f.name for f in dataclasses.fields(Contact)) - {"extra"}
_STORED_NAMES = _CONTACT_FIELDS | PAIRS.keys()
_TUPLE_FIELDS = ("tags", "recent_out", "aliases")  # lists in the store
_PLAIN_DEFAULTS = tuple(
    (f.name, f.default)
    for f in dataclasses.fields(Contact)
    if f.name not in ("email", "extra", *_TUPLE_FIELDS)
)
_set = object.__setattr__  # what a frozen dataclass's __init__ uses


def _known_doc_reader() -> Callable[[dict[str, Any]], Contact | None]:
    """Contact.from_doc for a document of known fields; None for one with fields of a
    later version.

    Every command reads every contact (20,000 of them in 0.1 s at most is the
    aim), so this makes the instance's __dict__ as the dataclass's own __init__
    would leave it, without its 30 keyword arguments: the defaults, updated with
    the document, its pairs unpacked, its lists made tuples. (A __dict__ of the
    document's fields alone, the others read from the class, made every attribute
    lookup slower: 9 % more instructions in a listing.) Unknown fields show in the
    number of keys, which costs less than checking the document's keys first.
    """
    defaults: dict[str, Any] = {"email": None}
    defaults.update(_PLAIN_DEFAULTS)
    defaults.update((name, ()) for name in _TUPLE_FIELDS)
    n_fields = len(defaults)
    new, set_ = object.__new__, _set
    # Spelled out, not looped: a loop over three pairs and three lists was a third
    # of the time of reading a contact.
    (p1, (p1a, p1b)), (p2, (p2a, p2b)), (p3, (p3a, p3b)) = _PAIR_ITEMS
    t1, t2, t3 = _TUPLE_FIELDS

    def read(doc: dict[str, Any]) -> Contact | None:
        values = defaults.copy()
        values["email"] = doc["email"]  # required: a KeyError names the bad document
        values.update(doc)
        pair = values.pop(p1, None)
        if pair is not None:
            values[p1a], values[p1b] = pair
        pair = values.pop(p2, None)
        if pair is not None:
            values[p2a], values[p2b] = pair
        pair = values.pop(p3, None)
        if pair is not None:
            values[p3a], values[p3b] = pair
        if len(values) != n_fields:
            return None
        v = values[t1]
        if v.__class__ is not tuple:
            values[t1] = tuple(v) if v else ()
        v = values[t2]
        if v.__class__ is not tuple:
            values[t2] = tuple(v) if v else ()
        v = values[t3]
        if v.__class__ is not tuple:
            values[t3] = tuple(v) if v else ()
        values["extra"] = {}
        c = new(Contact)
        set_(c, "__dict__", values)
        return c

    return read


_from_known_doc = _known_doc_reader()


def _copy_contact(old: Contact, changes: dict[str, Any]) -> Contact:
    """`dataclasses.replace` for a Contact as a dict copy: a scan's fold replaces every
    contact a batch touches (all 20,000 in a batch of 100,000 messages), and
    `dataclasses.replace` (a keyword call of __init__) was a fifth of a commit."""
    c = object.__new__(Contact)
    values = old.__dict__.copy()
    values.update(changes)
    _set(c, "__dict__", values)
    return c


_FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(Contact))


def replace_contact(c: Contact, changes: dict[str, Any]) -> Contact:
    """`c` with `changes` (field -> value), as `dataclasses.replace(c, **changes)`."""
    unknown = changes.keys() - _FIELD_NAMES
    if unknown:
        raise TypeError(f"Contact has no field {sorted(unknown)[0]!r}")
    return _copy_contact(c, changes)
