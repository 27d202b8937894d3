"""The contacts table: what every command reads, and a scan, a rebuild or command mail changes.

Kept apart from the engine so that what a contact is stored as (one document,
its history in the history file beside the store) is decided in one place; the
helpers at the end are shared with the tables that fold mail into contacts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any

from tinydb import TinyDB

from mailer.errors import UsageError
from mailer.model import Contact
from mailer.store.engine import StoreFile
from mailer.store.histories import Histories
from mailer.store.memory import mark_changed, raw_docs, replace_with
from mailer.store.schema import CONTACTS, DRAFTS, LOGGED


class ContactTable(StoreFile):
    """The contacts, one transaction per change."""

    def contacts_with_history(self) -> list[Contact]:
        """All contacts, by email, each with its monthly history (from the history file)."""
        with self._with_files() as (files, db):
            contacts = with_months(raw_docs(db, CONTACTS).values(), files.history(db).all())
        return sorted(contacts, key=attrgetter("email"))

    def history(self, email: str) -> str:
        """The monthly history of contact `email` (core.history's string; "" for none)."""
        with self._with_files() as (files, db):
            return files.history(db).get(email.strip().lower(), "")

    def contact(self, email: str) -> Contact | None:
        email = email.strip().lower()
        with self.snapshot() as db:
            for doc in db.table(CONTACTS).all():
                if doc.get("email") == email or email in (doc.get("aliases") or ()):
                    return Contact.from_doc(doc)
        return None

    def add_contact(self, contact: Contact) -> None:
        """Add a new contact; UsageError if one with that email exists."""
        contact = dataclasses.replace(contact, email=contact.email.strip().lower())
        with self.transaction() as db:
            table = db.table(CONTACTS)
            if contact.email in email_ids(table.all()):
                raise UsageError(f"contact {contact.email} already exists")
            table.insert(contact.to_doc())

    def update_contact(self, email: str, /, **fields: Any) -> Contact:
        """Set `fields` of one contact and return it; UsageError if there is none."""
        return self.change_contact(email, lambda c: dataclasses.replace(c, **fields))

    def change_contact(self, email: str, change: Callable[[Contact], Contact]) -> Contact:
        """One contact through `change`, read and written in one transaction."""
        email = email.strip().lower()
        with self.transaction() as db:
            table = db.table(CONTACTS)
            docs = table.all()
            ids = email_ids(docs)
            doc_id = ids.get(email)
            if doc_id is None:
                raise UsageError(f"no contact {email}")
            current = next(Contact.from_doc(d) for d in docs if d.doc_id == doc_id)
            updated = change(current)
            updated = dataclasses.replace(updated, email=updated.email.strip().lower())
            other = ids.get(updated.email)
            if other is not None and other != doc_id:
                raise UsageError(f"contact {updated.email} already exists")
            table.update(replace_with(updated.to_doc()), doc_ids=[doc_id])
        return updated

    def merge_contacts(self, keep: str, other: str) -> Contact:
        """Fold contact `other` into `keep` (core.contacts.merge), in one transaction.

        `other`'s drafts and logged exchanges move to `keep`, so the rules see
        one history; its introductions keep their emails (a record of the past).
        """
        from mailer.core.contacts import merge

        with self._with_files() as (files, db):
            table = db.table(CONTACTS)
            docs = table.all()
            ids = email_ids(docs)
            for email in (keep, other):
                if email not in ids:
                    raise UsageError(f"no contact {email}")
            by_id = {d.doc_id: d for d in docs}
            months = files.history(db)

            try:
                merged = merge(
                    with_history(by_id[ids[keep]], months),
                    with_history(by_id[ids[other]], months),
                )
            except ValueError as e:
                raise UsageError(str(e)) from None
            files.history.put(db, {keep: merged.months}, gone=[other])
            table.update(replace_with(merged.to_doc()), doc_ids=[ids[keep]])
            table.remove(doc_ids=[ids[other]])
            for name in (DRAFTS, LOGGED):
                moved = db.table(name)
                mine = [d.doc_id for d in moved.all() if d.get("email") == other]
                if mine:
                    moved.update({"email": keep}, doc_ids=mine)
        return merged

    def insert_contacts(self, contacts: Iterable[Contact]) -> None:
        """Add many new contacts in one pass (seeding a store built aside).

        UsageError if one of them exists already (nothing is written then).
        """
        contacts = list(contacts)
        docs = [c.to_doc() for c in contacts]
        with self._with_files() as (files, db):
            table = db.table(CONTACTS)
            known = set(email_ids(table.all()))
            for doc in docs:
                if doc["email"] in known:
                    raise UsageError(f"contact {doc['email']} already exists")
                known.add(doc["email"])
            table.insert_multiple(docs)
            files.history.put(db, {c.email: c.months for c in contacts if c.months})

    def update_contacts(self, change: Callable[[list[Contact]], Sequence[Contact]]) -> None:
        """Read every contact, let `change` return the new or changed ones, write them.

        One transaction: a scan committing meanwhile waits, so neither loses
        the other's update (an address book import, say, decides from the
        contacts as they are under the lock). Written on the stored documents
        in one pass: TinyDB copies its whole table on every call, so a call per
        contact made an import of 50,000 take minutes.
        """
        with self._with_files() as (files, db):
            docs = raw_docs(db, CONTACTS)
            changes = change([Contact.from_doc(d) for d in docs.values()])
            put_contacts(db, docs, contact_ids(docs), {c.email: c.to_doc() for c in changes})
            files.history.put(db, {c.email: c.months for c in changes if c.months})


def email_ids(docs: Iterable[Any]) -> dict[str, int]:
    return {str(d.get("email", "")).lower(): d.doc_id for d in docs}


def contact_ids(docs: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Stored contact id by lower-case email."""
    return {str(d.get("email", "")).lower(): doc_id for doc_id, d in docs.items()}


def put_contacts(
    db: TinyDB,
    docs: dict[str, dict[str, Any]],
    ids: Mapping[str, str],
    new: Mapping[str, dict[str, Any]],
) -> tuple[int, int]:
    """Write `new` (email -> document) into the stored contacts `docs` (ids by email
    in `ids`), in one pass: a contact already there keeps its id, the others get the
    next ids in `new`'s order, as TinyDB gives them. (inserted, updated)."""
    if not new:
        return 0, 0
    inserted = updated = 0
    next_id = 0  # found when first needed: most commits only update
    for email, doc in new.items():
        if email in ids:
            docs[ids[email]] = doc
            updated += 1
        else:
            next_id = next_id or max(map(int, docs), default=0) + 1
            docs[str(next_id)] = doc
            next_id += 1
            inserted += 1
    mark_changed(db)
    return inserted, updated


def with_history(doc: Mapping[str, Any], months: Mapping[str, str] | Histories) -> Contact:
    """The contact of stored document `doc`, with its history from `months` (email ->
    history; a transaction's documents hold none: an old store's are moved first)."""
    return Contact.from_doc({**doc, "months": months.get(str(doc.get("email", "")), "")})


def with_months(docs: Iterable[Mapping[str, Any]], months: Mapping[str, str]) -> list[Contact]:
    """Contacts from their documents, each with its history from `months`."""
    return [with_history(doc, months) for doc in docs]
