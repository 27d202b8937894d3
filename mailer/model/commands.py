"""What the store keeps of command mail: each mail applied or refused, and what it changed.

Apart from contacts: these records are written once per command mail and read
by `undo` (mailer.core.undo) and the digest; their text comes from strangers'
mail, so they clean it on the way in.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from mailer.core.clean import clean_line


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
    import hashlib  # here: loading it (and OpenSSL) is 3 % of the start-up of every command

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
