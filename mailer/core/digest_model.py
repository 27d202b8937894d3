"""What a digest is made of, and the plain values its template is given.

mailer.core.digest decides what goes in; these are the shapes it fills (an
entry per contact with its reply lines, sections capped with a count of the
rest, the command mails handled), so the template (digest.j2) and the
subject line read one thing whatever built it.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# The command that lists a whole section, for "and N more".
LIST_COMMANDS = {
    "due": "mailer due",
    "drafted": "",  # no listing command: they are in the Drafts folder
    "reply_owed": "mailer due",
    "seeds": "mailer seed",
    "weed": "mailer weed",
    "intros": "mailer intro suggest",
    "commands": "mailer commands list",
    "refused": "mailer commands list --refused",
}


@dataclass(frozen=True, slots=True)
class Entry:
    """One contact in a section: who, why (one line each), and the lines to reply with."""

    email: str
    name: str | None
    details: tuple[str, ...]
    lines: tuple[str, ...]  # exact command lines; empty when none applies
    cli: str | None = None  # a mailer command for what no reply line can do
    title: str | None = None  # the heading, when it is not the contact (an intro's pair)

    @property
    def who(self) -> str:
        if self.title:
            return self.title
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass(frozen=True)
class Section:
    name: str  # a key of LIST_COMMANDS
    entries: tuple[Entry, ...]
    total: int  # before the cap

    @property
    def more(self) -> int:
        return self.total - len(self.entries)

    @property
    def list_command(self) -> str:
        return LIST_COMMANDS[self.name]


@dataclass(frozen=True, slots=True)
class IntroIdea:
    """An introduction worth making (a suggestion), or one asked and waiting for answers."""

    a: str  # email
    b: str
    why: str
    lines: tuple[str, ...] = ()  # reply lines, when an emailed command can do it
    asked: bool = False  # waiting for answers: the reply lines relay them


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    line: str
    result: str


@dataclass(frozen=True, slots=True)
class Handled:
    """An accepted command mail and what each of its lines did."""

    subject: str
    received: str | None
    processed_at: str
    kind: str  # "commands" | "bcc_log" | "forward"
    outcomes: tuple[Outcome, ...]
    more: int  # outcomes left out by the cap
    id: str = ""  # for `undo <id>` and `mailer commands undo ID`
    undo: str | None = None  # the reply line that undoes it, when anything can be undone
    undo_note: str = ""  # undone since, or what it undid itself


@dataclass(frozen=True, slots=True)
class Refused:
    sender: str
    subject: str
    received: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class FolderFault:
    """A folder the scan skips because it cannot be read (see mailer.scan)."""

    folder: str
    error: str
    since: str  # ISO: the first failure in a row


@dataclass(frozen=True)
class Digest:
    now: datetime
    since: datetime
    due: Section
    drafted: Section
    reply_owed: Section
    seeds: Section
    weed: Section
    intros: Section
    commands: tuple[Handled, ...]
    commands_total: int
    refused: tuple[Refused, ...]
    refused_total: int
    faults: tuple[FolderFault, ...] = ()

    @property
    def sections(self) -> tuple[Section, ...]:
        return (self.due, self.drafted, self.reply_owed, self.seeds, self.weed, self.intros)

    @property
    def empty(self) -> bool:
        """Nothing to tell: no item in any section and no command mail."""
        return not (
            any(s.total for s in self.sections)
            or self.commands_total
            or self.refused_total
            or self.faults
        )

    @property
    def reply_lines(self) -> list[str]:
        """Every reply line shown, in order (for checks; the template shows them)."""
        lines = [line for s in self.sections for e in s.entries for line in e.lines]
        return lines + [h.undo for h in self.commands if h.undo]

    def summary(self) -> str:
        """What needs the owner, for the subject: `2 due, 1 reply owed`."""
        parts = [
            (self.due.total, "due", "due"),
            (self.reply_owed.total, "reply owed", "replies owed"),
            (self.seeds.total, "new contact", "new contacts"),
            (self.weed.total, "to weed", "to weed"),
            (self.intros.total, "intro idea", "intro ideas"),
            (self.refused_total, "refused mail", "refused mails"),
            (len(self.faults), "folder not scanned", "folders not scanned"),
        ]
        said = [f"{n} {one if n == 1 else many}" for n, one, many in parts if n]
        if not said and self.drafted.total:
            n = self.drafted.total
            said = [f"{n} draft{'s' if n != 1 else ''} written"]
        if not said and self.commands_total:
            n = self.commands_total
            said = [f"{n} command mail{'s' if n != 1 else ''} done"]
        return ", ".join(said) or "nothing needs you"

    def context(self) -> dict[str, Any]:
        """Plain values for the template (mappings, lists, strings, numbers, dates)."""
        ctx: dict[str, Any] = {s.name: _section_context(s) for s in self.sections}
        ctx["commands"] = {
            "entries": [
                {
                    "subject": h.subject,
                    "received": h.received,
                    "processed_at": h.processed_at,
                    "kind": h.kind,
                    "outcomes": [
                        {"ok": o.ok, "line": o.line, "result": o.result} for o in h.outcomes
                    ],
                    "more": h.more,
                    "id": h.id,
                    "undo": h.undo or "",
                    "undo_note": h.undo_note,
                }
                for h in self.commands
            ],
            "total": self.commands_total,
            "more": self.commands_total - len(self.commands),
            "list_command": LIST_COMMANDS["commands"],
        }
        ctx["refused"] = {
            "entries": [dataclasses.asdict(r) for r in self.refused],
            "total": self.refused_total,
            "more": self.refused_total - len(self.refused),
            "list_command": LIST_COMMANDS["refused"],
        }
        ctx.update(
            now=self.now,
            since=self.since,
            summary=self.summary(),
            empty=self.empty,
            counts={s.name: s.total for s in self.sections}
            | {"commands": self.commands_total, "refused": self.refused_total},
            faults=[dataclasses.asdict(f) for f in self.faults],
        )
        return ctx


def _section_context(s: Section) -> dict[str, Any]:
    return {
        "entries": [
            {
                "email": e.email,
                "name": e.name,
                "who": e.who,
                "details": list(e.details),
                "lines": list(e.lines),
                "cli": e.cli,
            }
            for e in s.entries
        ],
        "total": s.total,
        "more": s.more,
        "list_command": s.list_command,
    }
