"""Contacts to a CSV file and back: mailer's own columns, and those of common exports.

Columns are found by name, so files from Google Contacts, Outlook, Thunderbird
or a spreadsheet the owner keeps import as they are; cells that a spreadsheet
would run as a formula are written defused.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

from mailer.core.addressbook.cards import ImportedContact, _card, _check_text
from mailer.core.clean import clean_text, defuse_formula, restore_formula
from mailer.model import Contact

# The columns of mailer's own CSV, in order.
CSV_COLUMNS = (
    "email",
    "name",
    "aliases",
    "status",
    "tier",
    "tags",
    "trust",
    "cadence",
    "notes",
    "intro_opt_out",
    "snoozed_until",
    "name_fixed",
)

# Address columns: mailer's "email", Google's "E-mail 1 - Value", Outlook's
# "E-mail Address", Thunderbird's "Primary Email"; taken in column order.
_EMAIL_COLUMN = re.compile(r"(?:primary |secondary )?e-?mail(?: ?\d+)?(?: ?-? ?(?:value|address))?")


def to_csv(contacts: Iterable[Contact]) -> str:
    """A header row (CSV_COLUMNS) and one row per contact; lists joined with commas."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for c in contacts:
        row = (
            c.email,
            c.name or "",
            ",".join(c.aliases),
            c.status,
            c.tier or "",
            ",".join(c.tags),
            str(c.trust),
            c.cadence or "",
            c.notes,
            "yes" if c.intro_opt_out else "no",
            c.snoozed_until or "",
            "yes" if c.name_fixed else "no",
        )
        writer.writerow([defuse_formula(clean_text(v)) for v in row])
    return buf.getvalue()


def from_csv(text: str) -> list[ImportedContact]:
    """Every row of a CSV file with a header row, in file order.

    Columns are found by name, in any order and case: mailer's own, and the
    usual ones of Google Contacts, Outlook and Thunderbird exports; unknown
    columns are ignored, a missing one gives nothing. ValueError when there
    is no address column (the file is no contact list).
    """
    text = _check_text(text, "CSV")
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)  # European spreadsheets write ";"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
        columns = _Columns(header)
        cards = []
        start = reader.line_num + 1
        for row in reader:
            if any(cell.strip() for cell in row):
                cards.append(columns.card(start, row))
            start = reader.line_num + 1
    except csv.Error as e:
        raise ValueError(f"not a CSV file: line {reader.line_num}: {e}") from None
    return cards


# Each field and the columns that may give it, by name: the first that is not blank wins.
_CSV_FIELDS = {
    "aliases": ("aliases",),
    "name": ("name", "display name", "full name"),
    # Google's newer export: First Name, Middle Name, Last Name
    "first": ("first name", "given name"),
    "middle": ("middle name", "additional name"),
    "last": ("last name", "family name"),
    "tags": ("tags", "categories"),
    "labels": ("labels", "group membership"),
    "notes": ("notes", "note"),
    "name_fixed": ("name fixed",),
    "status": ("status",),
    "tier": ("tier",),
    "trust": ("trust",),
    "cadence": ("cadence",),
    "intro_opt_out": ("intro opt out",),
    "snoozed_until": ("snoozed until",),
}
_NAME_PARTS = ("first", "middle", "last")
_LISTS = ("aliases", "name", *_NAME_PARTS, "tags", "labels")  # read apart from the rest
_CSV_TEXT = tuple(f for f in _CSV_FIELDS if f not in _LISTS)  # as written; _values checks
_SPLIT_ADDRESSES = re.compile(r"\s*(?:,|;|:::)\s*|\s+")


class _Columns:
    """Where each field is in a header row."""

    def __init__(self, header: list[str]) -> None:
        keys = [h.replace("_", " ") for h in header]
        self.emails = [i for i, k in enumerate(keys) if _EMAIL_COLUMN.fullmatch(k)]
        if not self.emails:
            raise ValueError(
                "not a contact list: no email column in the header row "
                "(name one 'email', as mailer contacts export --format csv writes it)"
            )
        index = {k: i for i, k in reversed(list(enumerate(keys)))}  # the first of a name
        self.fields = {
            f: [index[n] for n in names if n in index] for f, names in _CSV_FIELDS.items()
        }

    def get(self, row: list[str], field: str) -> str:
        for i in self.fields[field]:
            if i < len(row) and row[i].strip():
                return restore_formula(row[i])
        return ""

    def card(self, line: int, row: list[str]) -> ImportedContact:
        cells = [restore_formula(row[i]) for i in self.emails if i < len(row)]
        cells.append(self.get(row, "aliases"))
        addresses = [a for cell in cells if cell for a in _SPLIT_ADDRESSES.split(cell)]
        name = self.get(row, "name")
        if not name.strip():
            name = " ".join(filter(None, (self.get(row, f).strip() for f in _NAME_PARTS)))
        tags = self.get(row, "tags").split(",")
        labels = self.get(row, "labels").split(":::")
        tags += [t for t in labels if not t.strip().startswith("*")]  # Google's own: * starred
        first = next((a.strip() for a in addresses if a.strip()), "")
        where = f"line {line}" + (f" ({first})" if first else "")
        return _card(
            where,
            addresses,
            name=name,
            tags=tags,
            **{f: self.get(row, f) for f in _CSV_TEXT},
        )
