"""The store: one TinyDB file beside a lock, the message keys and the histories.

A package so that the file engine (lock, atomic write, one read and one write
per transaction, the files beside the store: `engine`, `beside`, `memory`,
`files`, `keystore`, `histories`) stays apart from the tables the rest of
mailer reads and writes (`contacts`, `scans`, `commands`, `planning`). Only
this package knows TinyDB: `Store` speaks `mailer.model` dataclasses, never
documents. The store never reads the clock (MAILER_NOW is the caller's
business): timestamps come in as ISO-8601 UTC strings.
"""

from __future__ import annotations

from mailer.store.commands import MAX_REFUSED, CommandTables, Decide, Decision, refused_to_prune
from mailer.store.contacts import ContactTable
from mailer.store.engine import check_shape
from mailer.store.planning import PlanningTables
from mailer.store.scans import (
    FAILED_KEYS_KEPT,
    MAX_ERROR_CHARS,
    RECENT_FAILURES,
    BatchResult,
    ScanTables,
)
from mailer.store.schema import (
    COMMANDS,
    CONTACTS,
    DRAFTS,
    FAILURES,
    FOLDERS,
    HISTORY,
    INTROS,
    KEYS,
    LOGGED,
    META,
    OPEN_DRAFTS,
    OPEN_DRAFTS_AT,
    SEEN,
    shape_error,
)


class Store(ContactTable, ScanTables, CommandTables, PlanningTables):
    """The mailer store at `path` (a TinyDB JSON file).

    `lock_timeout` is how many seconds a transaction waits for another process
    to finish before it fails with StoreError; None waits as long as it takes.
    Other modules may add tables of their own through `transaction()`.
    """


__all__ = [
    "COMMANDS",
    "CONTACTS",
    "DRAFTS",
    "FAILED_KEYS_KEPT",
    "FAILURES",
    "FOLDERS",
    "HISTORY",
    "INTROS",
    "KEYS",
    "LOGGED",
    "MAX_ERROR_CHARS",
    "MAX_REFUSED",
    "META",
    "OPEN_DRAFTS",
    "OPEN_DRAFTS_AT",
    "RECENT_FAILURES",
    "SEEN",
    "BatchResult",
    "Decide",
    "Decision",
    "Store",
    "check_shape",
    "refused_to_prune",
    "shape_error",
]
