"""The file side of address book import and export (`mailer contacts import|export`).

core.addressbook turns text into contacts and back; this reads and writes the
files, picks the format, and writes an import in one store transaction, after
the whole file was read and checked: a broken file changes nothing. The
contacts go in as one batch (Store.update_contacts), not one write each.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from mailer.core.addressbook import (
    ImportedContact,
    ImportPlan,
    from_csv,
    from_vcard,
    plan_import,
    to_csv,
    to_vcard,
)
from mailer.errors import UsageError
from mailer.model import Contact

if TYPE_CHECKING:
    from mailer.app import App

_EXTENSIONS = {".vcf": "vcard", ".vcard": "vcard", ".csv": "csv"}


def format_of(path: Path | None, fmt: str | None) -> str | None:
    """--format if given, else what the file name says (None: it says nothing)."""
    if fmt:
        return fmt
    return _EXTENSIONS.get(path.suffix.lower()) if path is not None else None


def export(app: App, output: Path | None, fmt: str | None) -> tuple[int, str]:
    """Write every contact to `output` (None: stdout); (how many, the format)."""
    fmt = format_of(output, fmt) or "vcard"
    contacts = app.store.contacts()
    text = to_vcard(contacts) if fmt == "vcard" else to_csv(contacts)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        # A BOM makes Excel read a CSV as UTF-8 (names with accents); vCard has none.
        _write(output, text.encode("utf-8-sig" if fmt == "csv" else "utf-8"))
    return len(contacts), fmt


def _write(path: Path, payload: bytes) -> None:
    """Replace `path` whole: an interrupted export leaves the old file, not half a new one."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.chmod(tmp, 0o600)  # contacts are personal data
        os.replace(tmp, path)
    except OSError as e:
        os.unlink(tmp)
        raise UsageError(f"cannot write {path}: {e.strerror or e}") from None


def read(path: Path, fmt: str | None) -> list[ImportedContact]:
    """Every card of the file at `path`; UsageError when it is no vCard or CSV file."""
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory; give a .vcf or .csv file") from None
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        text = _decode(raw)
        kind = format_of(path, fmt) or _sniff(text)
        return from_vcard(text) if kind == "vcard" else from_csv(text)
    except ValueError as e:
        raise UsageError(
            f"{path}: {' '.join(str(e).split())}", hint="nothing was imported"
        ) from None


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16, as some Windows tools write
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if b"BEGIN:VCARD" in raw.upper():
        # Some writers fold vCard lines inside a multi-byte character: unfold first.
        try:
            return re.sub(rb"\r?\n[ \t]", b"", raw).decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
    raise ValueError("not a vCard or CSV file: not UTF-8 text")


def _sniff(text: str) -> str:
    return "vcard" if text.lstrip("\ufeff \t\r\n").upper().startswith("BEGIN:VCARD") else "csv"


def import_(app: App, path: Path, fmt: str | None, *, dry_run: bool) -> ImportPlan:
    """Merge the contacts of the file into the store (unless `dry_run`); the plan."""
    cards = read(path, fmt)
    own = app.identity.addresses  # the owner's, and the command address
    tiers = tuple(app.rules.tiers)
    store = app.store
    if dry_run:
        return plan_import(store.contacts(), cards, own=own, tiers=tiers)
    planned: list[ImportPlan] = []

    def change(contacts: list[Contact]) -> list[Contact]:
        planned.append(plan_import(contacts, cards, own=own, tiers=tiers))
        return list(planned[0].contacts)

    store.update_contacts(change)
    return planned[0]
