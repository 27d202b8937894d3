"""The store file's tables, and what to tell the user when a document in them is malformed.

Kept apart from the engine and the tables: the engine checks the outline of
every file it reads, and each table's reader blames the document it cannot
read; both need the same names and the same notion of a well-formed document.
A store edited by hand is the likely cause of a bad one, and the user needs to
know which document to fix, not a TypeError.

Tables: contacts, folders (scan state per source/folder), keys (which key
files hold the keys of the messages counted: `keystore`; older stores kept
the keys in a `seen` table, moved there on first use), history (which file
holds the histories: `histories`), failures (parse failures: total, the most
recent, and the keys of the messages that failed, so a rescan records each
once), meta (small key/value state), drafts (drafts written), commands
(command mails handled, with their outcomes), logged (exchanges logged by
command), intros. Other modules may add tables of their own through
`transaction()`; those are not checked.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from mailer.errors import StoreFormatError
from mailer.model import CommandRecord, Contact, DraftRecord, FolderState, Intro, LogEntry
from mailer.model.contact import PAIRS

CONTACTS = "contacts"
FOLDERS = "folders"
SEEN = "seen"  # message keys, as stores before the key files kept them
KEYS = "keys"  # one document: the KeysRef of the key files
HISTORY = "history"  # one document: the id of the history file (histories.py)
FAILURES = "failures"
META = "meta"
DRAFTS = "drafts"
COMMANDS = "commands"  # command mails handled (applied or refused)
LOGGED = "logged"  # exchanges the owner logged by command
INTROS = "intros"  # introductions: asked, answered, introduced, closed
OPEN_DRAFTS = "drafts.open"  # meta: the draft keys in the Drafts folder at the last look
OPEN_DRAFTS_AT = "drafts.open_at"  # meta: when that look was (ISO-8601 UTC)

Data = dict[str, dict[str, Any]]


# -- documents of the wrong shape ------------------------------------------------

_SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)
_STR_LIST = "list of strings"
# What reading each table's documents needs: the fields present in every one,
# and the JSON types of the fields (from the model's dataclasses, so they stay
# in step); tables of other modules are not checked.
_REQUIRED = {
    CONTACTS: ("email",),
    COMMANDS: (
        "key",
        "message_id",
        "sender",
        "subject",
        "received",
        "processed_at",
        "kind",
        "reason",
    ),
    DRAFTS: ("key", "email", "kind", "written_at"),
    LOGGED: ("email", "when", "text", "source"),
    INTROS: ("a", "b", "asked_at"),
    FOLDERS: ("source", "folder"),
    META: ("key",),
    SEEN: ("k",),
    KEYS: ("id", "log", "count"),
}
_MODELS: dict[str, type] = {
    CONTACTS: Contact,
    COMMANDS: CommandRecord,
    DRAFTS: DraftRecord,
    LOGGED: LogEntry,
    INTROS: Intro,
    FOLDERS: FolderState,
}
_PLAIN_TYPES: dict[str, dict[str, Any]] = {
    META: {"key": (str,)},
    SEEN: {"k": (str,), "n": (int,)},
    KEYS: {"id": (str,), "log": (int,), "count": (int,)},
    FAILURES: {"total": (int,), "recent": (list,), "keys": (list,)},
}


def json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    for kind, name in ((dict, "an object"), (list, "an array"), (str, "a string")):
        if isinstance(value, kind):
            return name
    return "null" if value is None else "a number"


@functools.cache
def _field_types(table: str) -> dict[str, Any]:
    """Field name -> the Python types its JSON value may have, or _STR_LIST."""
    if table in _PLAIN_TYPES:
        return _PLAIN_TYPES[table]
    hints = typing.get_type_hints(_MODELS[table])
    out: dict[str, Any] = {}
    for f in dataclasses.fields(_MODELS[table]):
        hint = hints[f.name]
        if typing.get_origin(hint) is tuple and typing.get_args(hint) == (str, ...):
            out[f.name] = _STR_LIST
            continue
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        simple = {str: (str,), int: (int,), bool: (bool,), float: (int, float)}
        if all(a in simple or a is type(None) for a in args):
            out[f.name] = tuple(
                t for a in args for t in (simple.get(a) or (type(None),))
            )  # nested models, dicts and Literal are left to their readers
    if table == CONTACTS:
        out.update((packed, _Pair(out[a])) for packed, (a, _) in PAIRS.items())
    return out


@dataclasses.dataclass(frozen=True)
class _Pair:
    """A stored [in, out] pair (Contact's PAIRS), each of these types."""

    types: tuple[type, ...]

    def problem(self, value: object) -> str | None:
        if not isinstance(value, list) or len(value) != 2:
            return f"{json_kind(value)}, not a pair [in, out]"
        bad = next((v for v in value if not _is(v, self.types)), _NONE)
        return None if bad is _NONE else f"a pair holding {json_kind(bad)}"


_NONE = object()


def _is(value: object, types_: tuple[type, ...]) -> bool:
    return isinstance(value, types_) and (bool in types_ or not isinstance(value, bool))


def _document_problem(table: str, doc: Mapping[str, Any]) -> str | None:
    for name in _REQUIRED.get(table, ()):
        if name not in doc:
            return f"has no {name!r}"
    types_of = _field_types(table)
    for name, value in doc.items():
        allowed = types_of.get(name)
        if allowed is None:
            continue
        if allowed is _STR_LIST:
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                return f"has {name!r} = {json_kind(value)}, not a list of strings"
        elif isinstance(allowed, _Pair):
            if (problem := allowed.problem(value)) is not None:
                return f"has {name!r} = {problem}"
        elif not _is(value, allowed):
            return f"has {name!r} = {json_kind(value)}"
    if table == CONTACTS and not doc["email"]:
        return "has an empty 'email'"
    return None


def shape_error(path: Path, data: Data) -> StoreFormatError | None:
    """The first document of `data` that mailer cannot read, as the error naming it.

    Run when reading a store failed (and by the CLI on an unexpected error): a
    store edited by hand is then the likely cause, and the user needs to know
    which document to fix, not a TypeError.
    """
    for name, docs in data.items():  # ids: TinyDB reads them as numbers
        bad = next((i for i in docs if not i.isdigit()), None)
        if bad is not None:
            return format_error(path, f"{name} document {bad} has no numeric id")
    for table in (*_MODELS, *_PLAIN_TYPES):
        for doc_id, doc in (data.get(table) or {}).items():
            problem = _document_problem(table, doc)
            if problem is not None:
                return format_error(path, f"{table} document {doc_id} {problem}")
    return None


def format_error(path: Path, what: str) -> StoreFormatError:
    return StoreFormatError(
        f"store {path}: {what}",
        hint="fix that in the file, or move the file away to start with an empty store",
    )


@contextlib.contextmanager
def blame_the_data(path: Path, data: Data) -> Iterator[None]:
    """Turn an error of reading `data` into one naming the document to blame, if any."""
    try:
        yield
    except _SHAPE_ERRORS:
        error = shape_error(path, data)
        if error is None:
            raise  # a bug, not the data
        raise error from None
