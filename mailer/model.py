"""The small value types every part of mailer speaks.

Library types (imapclient's bytes-keyed dicts, TinyDB documents) are turned
into these at the edge, so the core and the CLI never see them.

Glossary:
- contact: a person the owner exchanges mail with, keyed by lower-case address.
- interaction: one message between the owner and a contact, inbound or outbound.
- cadence: how often the owner wants to be in touch with a contact.
- draft: a message mailer writes into the Drafts folder for the owner to send.
- intro: an introduction between two contacts, asked of each side first.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from mailer.core.clean import clean_line

Direction = Literal["in", "out", "group"]  # group: outbound to too many to be personal
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


def iso(dt: datetime | None) -> str | None:
    """ISO-8601 UTC with a trailing Z, the one timestamp format of the store."""
    if dt is None:
        return None
    if dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    # isoformat is several times faster than strftime, and this runs per interaction
    return dt.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One message as a source hands it over: header bytes and what the server knows."""

    header: bytes
    internaldate: datetime | None = None  # timezone-aware, or None (local files)
    uid: int | None = None


@dataclass(frozen=True, slots=True)
class Interaction:
    """One exchange with one contact, learned from one message."""

    email: str  # lower-case
    name: str | None
    when: datetime  # UTC, aware
    direction: Direction
    subject: str | None = None


@dataclass(frozen=True, slots=True)
class Parsed:
    """What one message means: a stable key and the interactions it carries.

    `skipped` names why a message carries none (automated, mass mail, ...);
    mass mail still carries "group" interactions: hints, never counted;
    `error` is set when the header could not be understood at all.
    """

    key: str
    interactions: tuple[Interaction, ...] = ()
    skipped: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class FolderState:
    """Where the incremental scan of one folder stands."""

    source: str  # e.g. "imap:me@example.com@imap.example.com" or "mbox:/path"
    folder: str
    uidvalidity: int | None
    last_uid: int
    scanned_at: str | None = None


@dataclass(frozen=True, slots=True)
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
    # `months` lives in the history file beside the store (mailer.histories): it is ""
    # unless read with it (Store.contacts_with_history, Store.history).
    months: str = ""  # "2024-03:2:1 2024-05:0:3": month, in, out
    gap_days: float | None = None  # the usual gap between exchanges; None: too little history
    weight_at: str | None = None  # the month the decayed weights below are taken at
    weight_in: float = 0.0
    weight_out: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)  # fields of later versions

    @property
    def last_contact(self) -> str | None:
        # ISO strings in UTC sort as times; "" (none) sorts first. Per contact in listings.
        last = max(self.last_inbound or "", self.last_outbound or "", self.last_logged or "")
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
        answered = max(self.last_inbound or "", self.last_logged or "")
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
            "next_due": None,  # the rules' to give: see app.contact_rows
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
            if name == "months":  # the history file's (mailer.histories)
                continue
            value = getattr(self, name)
            if value != default or type(value) is not type(default):
                doc[name] = value
        for name in _TUPLE_FIELDS:
            if getattr(self, name):
                doc[name] = list(getattr(self, name))
        return {**self.extra, **doc}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Contact:
        if doc.keys() <= _CONTACT_FIELDS:
            # The usual case (no keys of a later version), and the hot path of every
            # listing (see _known_doc_reader).
            return _from_known_doc(doc)
        values = {k: v for k, v in doc.items() if k in _CONTACT_FIELDS}
        for name in _TUPLE_FIELDS:
            values[name] = tuple(values.get(name) or ())
        extra = {k: v for k, v in doc.items() if k not in _CONTACT_FIELDS}
        return cls(**values, extra=extra)


_CONTACT_FIELDS = frozenset(f.name for f in dataclasses.fields(Contact)) - {"extra"}
_TUPLE_FIELDS = ("tags", "recent_out", "aliases")  # lists in the store
_PLAIN_DEFAULTS = tuple(
    (f.name, f.default)
    for f in dataclasses.fields(Contact)
    if f.name not in ("email", "extra", *_TUPLE_FIELDS)
)
_set = object.__setattr__  # what a frozen dataclass's __init__ uses


def _known_doc_reader() -> Callable[[dict[str, Any]], Contact]:
    """Contact.from_doc for a document of known fields, written out field by field.

    Every command reads every contact (20,000 of them in 0.2 s at most is the
    aim), so this sets the fields as the dataclass's own __init__ does, but
    without building 30 keyword arguments per contact and without a loop over
    the fields: generated once, as `dataclasses` generates __init__ itself.
    """
    env: dict[str, Any] = {"_new": object.__new__, "_set": _set, "Contact": Contact}
    lines = ["c = _new(Contact)", "get = doc.get", "_set(c, 'email', doc['email'])"]
    for n, (name, default) in enumerate(_PLAIN_DEFAULTS):
        env[f"d{n}"] = default
        lines.append(f"_set(c, {name!r}, get({name!r}, d{n}))")
    for name in _TUPLE_FIELDS:
        lines += [f"v = get({name!r})", f"_set(c, {name!r}, tuple(v) if v else ())"]
    lines += ["_set(c, 'extra', {})", "return c"]
    reader: Callable[[dict[str, Any]], Contact] = _compiled("read(doc)", lines, env)
    return reader


def _compiled(signature: str, lines: list[str], env: dict[str, Any]) -> Any:
    """The function `def <signature>:` with body `lines`, compiled in `env`."""
    name = signature.partition("(")[0]
    source = f"def {signature}:\n" + "\n".join(f"    {line}" for line in lines)
    exec(compile(source, f"<Contact {name}>", "exec"), env)
    return env[name]


_from_known_doc = _known_doc_reader()


def _contact_copier() -> Callable[[Contact, dict[str, Any]], Contact]:
    """`dataclasses.replace` for a Contact, written out field by field: a scan's fold
    replaces every contact a batch touches (12,000 of 20,000 a batch), and
    `dataclasses.replace` (a keyword call of __init__) was a fifth of a commit."""
    names = [f.name for f in dataclasses.fields(Contact)]
    lines = ["c = _new(Contact)"]
    lines += [f"_set(c, {n!r}, changes[{n!r}] if {n!r} in changes else old.{n})" for n in names]
    lines.append("return c")
    env: dict[str, Any] = {"_new": object.__new__, "_set": _set, "Contact": Contact}
    copier: Callable[[Contact, dict[str, Any]], Contact] = _compiled(
        "copy(old, changes)", lines, env
    )
    return copier


_copy_contact = _contact_copier()
_FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(Contact))


def replace_contact(c: Contact, changes: dict[str, Any]) -> Contact:
    """`c` with `changes` (field -> value), as `dataclasses.replace(c, **changes)`."""
    unknown = changes.keys() - _FIELD_NAMES
    if unknown:
        raise TypeError(f"Contact has no field {sorted(unknown)[0]!r}")
    return _copy_contact(c, changes)


@dataclass(frozen=True, slots=True)
class DraftRecord:
    """A draft mailer wrote (or found already written) into the Drafts folder."""

    key: str  # the X-Mailer-Draft-Key header: kind, contact and cycle
    email: str  # the contact it is for (the first, for an introduction)
    kind: str  # reconnect | seed | intro_request | introduction | digest
    written_at: str  # ISO-8601 UTC
    message_id: str | None = None
    folder: str | None = None
    error: str | None = None  # set when it could not be written (e.g. an unusable address)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """An exchange the owner logged by command (`log`, `done`): a meeting, a call."""

    email: str
    when: str  # ISO-8601 UTC
    text: str
    source: str  # the key of the command mail it came from


@dataclass(frozen=True, slots=True)
class LineOutcome:
    """What became of one command line (or of one forwarded or Bcc'd message)."""

    line: str
    ok: bool
    result: str  # what was done, or why not

    def __post_init__(self) -> None:
        _clean_fields(self, ("line", "result"), None)


def _clean_fields(obj: Any, names: tuple[str, ...], limit: int | None) -> None:
    """Text fields of mail made one harmless line (mailer.core.clean), at most `limit` long."""
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, str):
            cleaned = clean_line(value)[:limit]
            if cleaned != value:
                object.__setattr__(obj, name, cleaned)  # frozen: as __init__ itself sets it


# Command mail ids: no 0/o, 1/l/i, so an id read off a phone screen is typed right
ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
ID_LENGTH = 6


def record_id(key: str, length: int = ID_LENGTH) -> str:
    """The short id of a command mail, derived from its key (`undo <id>`).

    Stable (the same key, the same id) and short enough to type on a phone;
    the store lengthens it in the rare case another record has it already.
    """
    n = int.from_bytes(hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest(), "big")
    chars = []
    for _ in range(length):
        n, r = divmod(n, len(ID_ALPHABET))
        chars.append(ID_ALPHABET[r])
    return "".join(chars)


@dataclass(frozen=True)
class ContactChange:
    """The fields one command mail changed on one contact, in their stored (JSON) form.

    `appended` holds text fields the mail only added to (a `note`): the text
    added and a digest of the whole value after, so a record does not carry
    the whole, ever longer, notes twice.
    """

    email: str
    before: dict[str, Any]
    after: dict[str, Any]
    appended: dict[str, tuple[str, str]] = field(default_factory=dict)  # field -> (text, digest)

    @property
    def fields(self) -> tuple[str, ...]:
        return (*self.after, *self.appended)

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"email": self.email}
        if self.after:
            doc["before"], doc["after"] = self.before, self.after
        if self.appended:
            doc["appended"] = {k: list(v) for k, v in self.appended.items()}
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ContactChange:
        appended = {
            str(k): (str(v[0]), str(v[1]))
            for k, v in (doc.get("appended") or {}).items()
            if isinstance(v, list) and len(v) == 2
        }
        return cls(
            str(doc.get("email", "")),
            dict(doc.get("before") or {}),
            dict(doc.get("after") or {}),
            appended,
        )


@dataclass(frozen=True)
class IntroChange:
    """An introduction a command mail answered: as it was (None: the mail made it) and after."""

    key: str
    before: dict[str, Any] | None  # Intro.to_doc()
    after: dict[str, Any]


@dataclass(frozen=True)
class Changes:
    """Everything one applied command mail changed, so that `undo` can put it back.

    Mail it counted (a forward, a Bcc'd copy) is not here: its message keys
    are shared with the scans, which count the same mail once, so an undo
    leaves it counted.
    """

    contacts: tuple[ContactChange, ...] = ()
    logged: tuple[LogEntry, ...] = ()  # exchanges it logged
    unlogged: tuple[LogEntry, ...] = ()  # logged exchanges it removed (an undo)
    intros: tuple[IntroChange, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.contacts or self.logged or self.unlogged or self.intros)

    def to_doc(self) -> dict[str, Any]:
        """Empty parts left out: every applied mail keeps one of these."""
        doc = {
            "contacts": [c.to_doc() for c in self.contacts],
            "logged": [dataclasses.asdict(e) for e in self.logged],
            "unlogged": [dataclasses.asdict(e) for e in self.unlogged],
            "intros": [dataclasses.asdict(i) for i in self.intros],
        }
        return {k: v for k, v in doc.items() if v}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Changes:
        def entries(name: str) -> tuple[LogEntry, ...]:
            return tuple(log_entry(d) for d in doc.get(name) or () if isinstance(d, dict))

        return cls(
            contacts=tuple(
                ContactChange.from_doc(d) for d in doc.get("contacts") or () if isinstance(d, dict)
            ),
            logged=entries("logged"),
            unlogged=entries("unlogged"),
            intros=tuple(
                IntroChange(str(d.get("key", "")), d.get("before"), dict(d.get("after") or {}))
                for d in doc.get("intros") or ()
                if isinstance(d, dict)
            ),
        )


def log_entry(doc: dict[str, Any]) -> LogEntry:
    return LogEntry(
        str(doc.get("email", "")),
        str(doc.get("when", "")),
        str(doc.get("text", "")),
        str(doc.get("source", "")),
    )


@dataclass(frozen=True)
class CommandRecord:
    """One mail to the command address, applied or refused, as the store keeps it."""

    key: str  # of its Message-ID and content: a mail is applied at most once
    message_id: str | None
    sender: str  # the From address as written (a stranger's, for a refused mail)
    subject: str
    received: str | None  # the mail's Date, ISO-8601 UTC
    processed_at: str
    kind: str  # "commands" | "bcc_log" | "forward" | "refused"
    reason: str  # whom it was accepted from, or why it was refused
    lines: tuple[LineOutcome, ...] = ()
    confirmed: str | None = None  # "sent", or why a confirmation could not be sent
    id: str = ""  # short, for `undo <id>`: given by the store; of the key for older records
    changes: Changes | None = None  # what it changed; None: refused, or from before undo existed
    undoes: tuple[str, ...] = ()  # the ids of the mails this one undid
    undone_at: str | None = None
    undone_by: str | None = None  # "mail <id>" or "mailer commands undo"

    def __post_init__(self) -> None:
        # A stranger's words, stored and printed: one harmless line each, and bounded,
        # so that a refused mail's record stays small however long its headers.
        _clean_fields(self, ("message_id", "sender", "subject", "reason", "confirmed"), 300)

    @property
    def accepted(self) -> bool:
        return self.kind != "refused"

    @property
    def undoable(self) -> bool:
        """Is there something `undo <id>` could put back (unless changed again since)?"""
        return (
            self.accepted
            and self.changes is not None
            and not self.changes.empty
            and not self.undoes
            and self.undone_at is None
        )

    @property
    def undo_line(self) -> str | None:
        """The line that undoes this mail (`undo k7m2xq`), when there is anything to undo."""
        return f"undo {self.id}" if self.undoable and self.id else None

    def to_doc(self) -> dict[str, Any]:
        doc = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("lines", "changes", "undoes", "undone_at", "undone_by")
        }
        if self.undone_at is not None:
            doc["undone_at"], doc["undone_by"] = self.undone_at, self.undone_by
        doc["lines"] = [dataclasses.asdict(line) for line in self.lines]
        if self.changes is not None:
            doc["changes"] = self.changes.to_doc()
        if self.undoes:
            doc["undoes"] = list(self.undoes)
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> CommandRecord:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in doc.items() if k in names}
        values["lines"] = tuple(
            LineOutcome(str(x.get("line", "")), bool(x.get("ok")), str(x.get("result", "")))
            for x in doc.get("lines") or ()
            if isinstance(x, dict)
        )
        # records written before undo existed: no id (their key's), no changes
        values["id"] = str(doc.get("id") or record_id(str(doc.get("key", ""))))
        changes = doc.get("changes")
        values["changes"] = Changes.from_doc(changes) if isinstance(changes, dict) else None
        values["undoes"] = tuple(str(i) for i in doc.get("undoes") or ())
        return cls(**values)


INTRO_OPEN = "asked"  # waiting for answers; every other state is closed
INTRO_STATES = ("asked", "introduced", "declined", "expired")


@dataclass(frozen=True)
class Intro:
    """One introduction between two contacts, from the first ask to its outcome.

    `a` and `b` are the two emails in sorted order. A pair may be introduced
    again after the cooldown, so an intro is known by its pair and the day it
    was asked (`key`).
    """

    a: str
    b: str
    asked_at: str  # ISO-8601 UTC (for a direct introduction: when it was made)
    state: str = INTRO_OPEN  # asked | introduced | declined | expired
    answer_a: str | None = None  # "yes" | "no", once given
    answer_b: str | None = None
    note: str = ""  # the owner's word on why they should meet (goes into the drafts)
    direct: bool = False  # introduced without asking first (trust 3 both, when allowed)
    closed_at: str | None = None  # declined or expired
    introduced_at: str | None = None
    outcome: str | None = None  # "good" | "bad", recorded by the owner afterwards
    outcome_note: str = ""
    outcome_at: str | None = None

    @property
    def key(self) -> str:
        return f"{self.a}|{self.b}|{self.asked_at[:10]}"

    @property
    def is_open(self) -> bool:
        return self.state == INTRO_OPEN

    def answer_of(self, email: str) -> str | None:
        return self.answer_a if email == self.a else self.answer_b if email == self.b else None

    def other(self, email: str) -> str:
        return self.b if email == self.a else self.a

    def to_doc(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "key": self.key}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Intro:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in doc.items() if k in names})
