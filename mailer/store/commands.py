"""What command mail writes: its record, what it changed, and what an undo restores.

Kept apart because a command mail's record and every change it makes are
written in one transaction or not at all: the record is what keeps a rerun
from applying the mail twice and what `undo` reads, so the tables it touches
(commands, logged, intros, and the contacts) are changed only here together.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tinydb import TinyDB

from mailer.core import undo as core_undo
from mailer.core.undo import Past
from mailer.errors import MailerError, UsageError
from mailer.model import CommandRecord, Contact, Intro, LogEntry, Parsed, log_entry
from mailer.store.contacts import email_ids
from mailer.store.engine import StoreFile
from mailer.store.memory import replace_with
from mailer.store.scans import count_new
from mailer.store.schema import COMMANDS, CONTACTS, DRAFTS, INTROS, LOGGED

# Records of refused command mail kept at most, besides commands.keep_refused. A
# record is about 0.3 KB (its text fields are cut to 300 characters: 1.4 KB at
# most in ASCII, 5 KB in 4-byte characters), so 2,000 are 0.6 MB as a rule and
# never more than a 10,000-contact store. And 2,000 is 22 a day for 90 days, far
# more than look-alike mail and spam to a secret address bring: the age limit is
# what prunes them normally; only a flood reaches this one.
MAX_REFUSED = 2_000


@dataclass(frozen=True)
class Decision:
    """What one command mail changes: written together with its record, or not at all."""

    record: CommandRecord
    changed: Mapping[str, Contact]  # by email
    logs: Sequence[LogEntry] = ()
    intros: Sequence[Intro] = ()  # introductions answered (or restored by an undo) by the mail
    unlogged: Sequence[LogEntry] = ()  # logged exchanges its undo lines remove
    undone: Sequence[str] = ()  # the keys of the mails its undo lines undid


# A command mail's decision, given every contact by email, every introduction, and what
# an undo reads (command records, logged exchanges, drafts; read only when called).
Decide = Callable[[Mapping[str, Contact], Sequence[Intro], Callable[[], Past]], Decision]


class CommandTables(StoreFile):
    """Command mail handled once, its undo, and the introductions it answers."""

    def apply_command_mail(
        self, key: str, parsed: Sequence[Parsed], decide: Decide
    ) -> CommandRecord | None:
        """Handle one command mail in one transaction, unless it was handled before (None).

        The interactions it carries (a forward, a Bcc'd copy) are counted once
        by their message keys; `decide` then sees every contact and every
        introduction as they are now and returns what it changed and the
        record of the mail. All of it, and the record that makes a rerun skip
        the mail, is written together or not at all. The record gets its id
        (`undo <id>`) and what the mail changed (core.undo.record_changes),
        taken from exactly what is written.
        """
        with self._with_files() as (files, db):
            records = db.table(COMMANDS)
            record_docs = records.all()
            if any(d.get("key") == key for d in record_docs):
                return None
            if parsed:
                count_new(db, parsed, files)
            table = db.table(CONTACTS)
            docs = table.all()
            contacts = {str(d.get("email", "")): Contact.from_doc(d) for d in docs}
            intros = [Intro.from_doc(dict(d)) for d in db.table(INTROS).all()]
            decision = decide(contacts, intros, lambda: _past(db, record_docs))
            if decision.changed:
                ids = email_ids(docs)
                for email, c in decision.changed.items():
                    if email in ids:
                        table.update(replace_with(c.to_doc()), doc_ids=[ids[email]])
            if decision.logs:
                db.table(LOGGED).insert_multiple(dataclasses.asdict(e) for e in decision.logs)
            if decision.intros:
                _put_intros(db, decision.intros)
            _unlog(db, decision.unlogged)
            taken = {str(d.get("id") or CommandRecord.from_doc(dict(d)).id) for d in record_docs}
            record = dataclasses.replace(
                decision.record,
                id=core_undo.new_id(key, taken),
                changes=core_undo.record_changes(
                    contacts,
                    decision.changed,
                    decision.logs,
                    decision.unlogged,
                    intros,
                    decision.intros,
                )
                if decision.record.accepted
                else None,  # a refused mail changes nothing: no empty record of it
            )
            if decision.undone:
                undone = {str(d.get("key")): d for d in record_docs}
                record = dataclasses.replace(
                    record,
                    undoes=tuple(
                        CommandRecord.from_doc(dict(undone[k])).id
                        for k in decision.undone
                        if k in undone
                    ),
                )
                marks = {"undone_at": record.processed_at, "undone_by": f"mail {record.id}"}
                records.update(marks, doc_ids=[undone[k].doc_id for k in decision.undone])
            records.insert(record.to_doc())
            if not record.accepted:  # strangers' mail cannot grow the store without bound
                _remove_refused(records, before=None, keep=MAX_REFUSED)
        return record

    def undo_command(self, ident: str, when: str, *, dry_run: bool = False) -> core_undo.Restore:
        """Undo the command mail with id `ident` (`mailer commands undo`), in one transaction.

        All or nothing: UsageError when the id names nothing that can be undone,
        MailerError (exit 1) when a later change is in the way; then nothing is
        written. With `dry_run`, only what it would restore.
        """
        with self.transaction() as db:
            records = db.table(COMMANDS)
            record_docs = records.all()
            past = _past(db, record_docs)
            contacts = {
                str(d.get("email", "")): Contact.from_doc(d) for d in db.table(CONTACTS).all()
            }
            intros = [Intro.from_doc(dict(d)) for d in db.table(INTROS).all()]
            try:
                record = core_undo.find(past.records, ident)
                restore = core_undo.plan(record, contacts, intros, past.logged, past.drafts)
            except core_undo.CannotUndo as e:
                raise (MailerError if e.later else UsageError)(str(e)) from None
            if dry_run:
                return restore
            table = db.table(CONTACTS)
            ids = email_ids(table.all())
            for email, c in restore.contacts.items():
                table.update(replace_with(c.to_doc()), doc_ids=[ids[email]])
            _unlog(db, restore.unlogged)
            if restore.intros:
                _put_intros(db, restore.intros)
            mine = [d.doc_id for d in record_docs if d.get("key") == record.key]
            records.update({"undone_at": when, "undone_by": "mailer commands undo"}, doc_ids=mine)
        return restore

    def past(self) -> Past:
        """What an undo reads, as last committed (a dry run's view)."""
        with self.snapshot() as db:
            return _past(db, db.table(COMMANDS).all())

    def command_records(self, since: str | None = None) -> list[CommandRecord]:
        """Handled command mails, oldest first; with `since`, those processed after it."""
        with self.snapshot() as db:  # read inside: a document of the wrong shape is named
            records = [CommandRecord.from_doc(dict(d)) for d in db.table(COMMANDS).all()]
        if since:
            records = [r for r in records if r.processed_at > since]
        return sorted(records, key=lambda r: r.processed_at)  # stable: then as handled

    def prune_refused(self, before: str | None, keep: int = MAX_REFUSED) -> int:
        """Forget refused command mail processed before `before` (ISO-8601 UTC) and
        all but the newest `keep` of the rest; how many were forgotten.

        Only refused mail: a record of applied mail is what keeps it from being
        applied twice, and what `undo` reads.
        """
        with self.transaction() as db:
            return _remove_refused(db.table(COMMANDS), before=before, keep=keep)

    def set_confirmed(self, key: str, confirmed: str) -> None:
        """Note whether the confirmation of a command mail went out (or why not)."""
        with self.transaction() as db:
            table = db.table(COMMANDS)
            ids = [d.doc_id for d in table.all() if d.get("key") == key]
            if ids:
                table.update({"confirmed": confirmed}, doc_ids=ids)

    def logged(self, email: str | None = None) -> list[LogEntry]:
        """Exchanges logged by command, oldest first (one contact's, or everyone's)."""
        fields = {f.name for f in dataclasses.fields(LogEntry)}
        with self.snapshot() as db:
            docs = db.table(LOGGED).all()
            entries = [LogEntry(**{k: v for k, v in d.items() if k in fields}) for d in docs]
        if email is not None:
            entries = [e for e in entries if e.email == email]
        return sorted(entries, key=lambda e: e.when)

    # -- introductions -------------------------------------------------------

    def intros(self) -> list[Intro]:
        """Every introduction, oldest ask first."""
        with self.snapshot() as db:
            intros = [Intro.from_doc(dict(d)) for d in db.table(INTROS).all()]
            return sorted(intros, key=lambda i: (i.asked_at, i.key))

    def update_intros(
        self, change: Callable[[Sequence[Intro]], Sequence[Intro]]
    ) -> Sequence[Intro]:
        """Read every intro, let `change` return those to store, store them: one transaction.

        For a transition that depends on the current state (an answer, an
        expiry), so two processes cannot both make it.
        """
        with self.transaction() as db:
            current = [Intro.from_doc(dict(d)) for d in db.table(INTROS).all()]
            changed = change(current)
            _put_intros(db, changed)
        return changed


def _past(db: TinyDB, record_docs: Sequence[Any]) -> Past:
    """What an undo reads, from inside a transaction."""
    return Past(
        records=[CommandRecord.from_doc(dict(d)) for d in record_docs],
        logged=[log_entry(dict(d)) for d in db.table(LOGGED).all()],
        drafts={str(d.get("key")) for d in db.table(DRAFTS).all()},
    )


def _unlog(db: TinyDB, entries: Sequence[LogEntry]) -> None:
    """Remove these logged exchanges, each once (two alike are two entries)."""
    if not entries:
        return
    wanted = list(entries)
    gone = []
    for d in db.table(LOGGED).all():
        entry = log_entry(dict(d))
        if entry in wanted:
            wanted.remove(entry)
            gone.append(d.doc_id)
    db.table(LOGGED).remove(doc_ids=gone)


def refused_to_prune(
    records: Iterable[tuple[int, Mapping[str, Any]]], *, before: str | None, keep: int
) -> list[int]:
    """The ids of the refused records among `records` (id, document) to forget: those
    processed before `before`, and all but the newest `keep` of the rest (by when
    processed, then by id). Records of accepted mail are never among them."""
    refused = sorted(
        (str(doc.get("processed_at") or ""), doc_id)
        for doc_id, doc in records
        if doc.get("kind") == "refused"
    )
    old = [doc_id for at, doc_id in refused if before is not None and at < before]
    rest = [doc_id for at, doc_id in refused if before is None or at >= before]
    return old + rest[: max(len(rest) - keep, 0)]


def _remove_refused(table: Any, *, before: str | None, keep: int) -> int:
    gone = refused_to_prune(((d.doc_id, d) for d in table.all()), before=before, keep=keep)
    if gone:
        table.remove(doc_ids=gone)
    return len(gone)


def _put_intros(db: TinyDB, intros: Sequence[Intro]) -> None:
    table = db.table(INTROS)
    ids = {str(d.get("key")): d.doc_id for d in table.all()}
    for intro in intros:
        doc = intro.to_doc()
        if intro.key in ids:
            table.update(replace_with(doc), doc_ids=[ids[intro.key]])
        else:
            ids[intro.key] = table.insert(doc)
