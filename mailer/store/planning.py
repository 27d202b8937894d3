"""What judging everyone reads, and the small state beside it: drafts written, meta, status.

Kept apart because these are the hot reads (`contacts list`, the plan, `mailer
status`): they take the documents straight from the decoded file, skipping
TinyDB's per-document copies, and reuse what was made of the same version of
the file. The drafts and meta tables are the small state that plan reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from operator import attrgetter
from typing import Any

from mailer.model import CommandRecord, Contact, DraftRecord
from mailer.store.engine import StoreFile, derived
from mailer.store.memory import replace_with
from mailer.store.scans import failures_doc, folder_from_doc
from mailer.store.schema import (
    COMMANDS,
    CONTACTS,
    DRAFTS,
    FAILURES,
    FOLDERS,
    KEYS,
    META,
    OPEN_DRAFTS,
    OPEN_DRAFTS_AT,
    SEEN,
    Data,
    blame_the_data,
)


class PlanningTables(StoreFile):
    """The contacts and drafts as the plan reads them, meta, and `mailer status`."""

    def contacts(self) -> list[Contact]:
        """All contacts, by email (without their `months`: see `contacts_with_history`)."""
        return self.contacts_and_drafts()[0]

    def drafts(self) -> list[DraftRecord]:
        """Every draft written, oldest first."""
        return self.contacts_and_drafts()[1]

    def contacts_and_drafts(self) -> tuple[list[Contact], list[DraftRecord]]:
        """Both, from one read of the file."""
        contacts, drafts, _ = self.planning()
        return contacts, drafts

    def planning(self) -> tuple[list[Contact], list[DraftRecord], set[str]]:
        """What judging everyone needs, from one read of the file: the contacts,
        the drafts written, and the draft keys last seen in the Drafts folder.

        The hot read path (`contacts list` at 10,000 contacts): it takes the
        documents straight from the decoded file, skipping TinyDB's per-document
        copies, which cost a fifth of the command's time.
        """
        data = self._committed()
        contacts, drafts, open_keys = derived(data, "planning", lambda: self._plan_of(data))
        return list(contacts), list(drafts), set(open_keys)

    def _plan_of(
        self, data: Data
    ) -> tuple[tuple[Contact, ...], tuple[DraftRecord, ...], frozenset[str]]:
        docs = (data.get(CONTACTS) or {}).values()
        draft_docs = (data.get(DRAFTS) or {}).values()
        open_keys: set[str] = set()
        for doc in (data.get(META) or {}).values():
            if doc.get("key") == OPEN_DRAFTS:
                open_keys = set(doc.get("value") or ())
        with blame_the_data(self.path, data):
            contacts = sorted(map(Contact.from_doc, docs), key=attrgetter("email"))
            drafts = sorted((_draft(d) for d in draft_docs), key=lambda r: (r.written_at, r.key))
        return tuple(contacts), tuple(drafts), frozenset(open_keys)

    def record_draft(self, record: DraftRecord) -> bool:
        """Remember a written draft; False (and no change) when its key is known."""
        with self.transaction() as db:
            table = db.table(DRAFTS)
            if any(d.get("key") == record.key for d in table.all()):
                return False
            table.insert(dataclasses.asdict(record))
            return True

    def open_drafts_seen_at(self) -> str | None:
        """When the Drafts folder was last looked at (None: not since this was kept)."""
        value = self.meta_get(OPEN_DRAFTS_AT)
        return value if isinstance(value, str) else None

    def remember_drafts_look(self, keys: Iterable[str], at: str) -> None:
        """What a look into the Drafts folder saw, and when, in one transaction."""
        self.meta_set_many({OPEN_DRAFTS: sorted(keys), OPEN_DRAFTS_AT: at})

    def meta_get(self, key: str, default: Any = None) -> Any:
        with self.snapshot() as db:
            for doc in db.table(META).all():
                if doc.get("key") == key:
                    return doc.get("value")
        return default

    def meta_items(self, prefix: str) -> dict[str, Any]:
        """Every meta value whose key starts with `prefix`, by key (e.g. the jobs' states)."""
        with self.snapshot() as db:
            docs = db.table(META).all()
        return {
            str(doc["key"]): doc.get("value")
            for doc in docs
            if str(doc.get("key", "")).startswith(prefix)
        }

    def meta_set(self, key: str, value: Any) -> None:
        """Store a small JSON value under `key` (e.g. a job's last run time)."""
        self.meta_set_many({key: value})

    def meta_set_many(self, values: Mapping[str, Any]) -> None:
        """Store several meta values in one transaction (one rewrite of the file)."""
        with self.transaction() as db:
            table = db.table(META)
            docs = table.all()
            for key, value in values.items():
                ids = [d.doc_id for d in docs if d.get("key") == key]
                if ids:
                    table.update(replace_with({"key": key, "value": value}), doc_ids=ids[:1])
                    if len(ids) > 1:
                        table.remove(doc_ids=ids[1:])
                else:
                    table.insert({"key": key, "value": value})

    def stats(self) -> dict[str, Any]:
        """Counts for `mailer status`, read from one consistent snapshot."""
        data = self._committed()  # as stored: TinyDB's copies of every contact cost more

        def docs(table: str) -> list[dict[str, Any]]:
            return list((data.get(table) or {}).values())

        with blame_the_data(self.path, data):
            contacts = docs(CONTACTS)
            refs = docs(KEYS)
            seen = int(refs[0].get("count", 0)) if refs else 0
            seen += sum(int(d.get("n", 0)) for d in docs(SEEN))  # not yet moved
            fail = failures_doc(docs(FAILURES))
            folders = [folder_from_doc(d) for d in docs(FOLDERS)]
            commands = docs(COMMANDS)
        refused = sorted(
            (r for r in commands if r.get("kind") == "refused"),
            key=lambda r: str(r.get("processed_at")),
        )
        by_status: dict[str, int] = {}
        for c in contacts:
            status = str(c.get("status", "seed"))
            by_status[status] = by_status.get(status, 0) + 1
        return {
            "contacts": len(contacts),
            "contacts_by_status": dict(sorted(by_status.items())),
            "messages_seen": seen,
            "parse_failures": int(fail.get("total", 0)),
            "last_failures": list(fail.get("recent", [])),
            "folders": [
                dataclasses.asdict(s) for s in sorted(folders, key=lambda s: (s.source, s.folder))
            ],
            "command_mails": {
                "handled": len(commands),
                "refused": len(refused),
                "last_refused": [  # read as records: a stranger's text comes out clean
                    {k: getattr(r, k) for k in ("processed_at", "sender", "subject", "reason")}
                    for r in map(CommandRecord.from_doc, refused[-5:])
                ],
            },
        }


def _draft(doc: Any) -> DraftRecord:
    fields = {f.name for f in dataclasses.fields(DraftRecord)}
    return DraftRecord(**{k: v for k, v in doc.items() if k in fields})
