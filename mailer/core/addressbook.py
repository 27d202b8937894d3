"""Contacts to and from address books (vCard) and spreadsheets (CSV).

People keep their contacts in Apple Contacts, Google Contacts, Thunderbird or
a spreadsheet; mailer must take them in without duplicating anyone it already
learned from mail, and give its own back so nothing is locked in. Pure: text
in, values out; reading and writing files is mailer.addressbook's job.

The merge is by address: a card matches the contact whose email or alias is
any of the card's addresses. What a file gives updates that contact; what the
scan learned (counts, dates, subjects) is never touched.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import vobject

from mailer.core.clean import clean_text
from mailer.core.contacts import check_tier
from mailer.core.durations import format_duration, parse_duration
from mailer.model import STATUSES, Contact, iso, parse_iso

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
DAY, ZERO = timedelta(days=1), timedelta()
MERGE_FIRST = "merge them first with mailer contacts merge"
NO_EMAIL = "no email address"

# Like the scan's plausible address (core.headers): no blanks, controls or
# delimiters; and a dot in the domain, as an address book's addresses have.
_LOCAL = r"[^\s@<>(),;:\"\\\[\]\x00-\x1f\x7f]+"
_LABEL = r"[^\s@<>(),;:\"'\\\[\]\x00-\x1f\x7f.]+"
_ADDRESS_RE = re.compile(rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})+")
_YES = ("yes", "y", "true", "1", "x")
_NO = ("no", "n", "false", "0", "")


@dataclass(frozen=True, slots=True)
class ImportedContact:
    """One card or row of a file: its addresses and the fields it gives (None: not given).

    `problem` is set when the card cannot be imported (no address, a trust
    of 7, ...); `where` names it for the report ("card 3 (Anna Berg)").
    """

    where: str
    addresses: tuple[str, ...] = ()  # lower-case, the primary first
    name: str | None = None
    name_fixed: bool | None = None
    status: str | None = None
    tier: str | None = None
    tags: tuple[str, ...] | None = None
    trust: int | None = None
    cadence: str | None = None
    notes: str | None = None
    intro_opt_out: bool | None = None
    snoozed_until: str | None = None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Updated:
    email: str
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Skipped:
    where: str
    reason: str


@dataclass(frozen=True)
class ImportPlan:
    """What an import changes: the contacts to write (whole values) and the report."""

    contacts: tuple[Contact, ...]  # added and updated, to write
    added: tuple[str, ...]
    updated: tuple[Updated, ...]
    unchanged: tuple[str, ...]
    skipped: tuple[Skipped, ...]

    def summary(self) -> str:
        """One line: `3 added, 2 updated (tags, notes), 1 unchanged, 1 skipped: ...`."""
        fields = list(dict.fromkeys(f for u in self.updated for f in u.fields))
        updated = f"{len(self.updated)} updated" + (f" ({', '.join(fields)})" if fields else "")
        text = f"{len(self.added)} added, {updated}, {len(self.unchanged)} unchanged"
        text += f", {len(self.skipped)} skipped"
        if self.skipped:
            no_email = sum(1 for s in self.skipped if s.reason == NO_EMAIL)
            reasons = [f"{s.where}: {s.reason}" for s in self.skipped if s.reason != NO_EMAIL]
            shown = ([f"{no_email} without an email address"] if no_email else []) + reasons[:3]
            more = f" and {len(reasons) - 3} more" if len(reasons) > 3 else ""
            text += ": " + "; ".join(shown) + more
        return text

    def lines(self) -> list[str]:
        """One line per contact added or updated and per card skipped."""
        out = [f"added {e}" for e in self.added]
        out += [f"updated {u.email}: {', '.join(u.fields)}" for u in self.updated]
        out += [f"skipped {s.where}: {s.reason}" for s in self.skipped]
        return out


# -- values shared by both formats ---------------------------------------------------------


def _address(text: str) -> str | None:
    address = text.strip().lower()
    if address.startswith("mailto:"):
        address = address[7:]
    return address if _ADDRESS_RE.fullmatch(address) else None


def _flag(text: str, what: str) -> bool:
    value = text.strip().lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise ValueError(f"{what} {text!r} is not yes or no")


def _card(where: str, raw_addresses: Iterable[str], **raw: Any) -> ImportedContact:
    """An ImportedContact from the strings a file gives, or one naming the problem."""
    addresses: list[str] = []
    for text in raw_addresses:
        if not text.strip():
            continue
        address = _address(text)
        if address is None:
            return ImportedContact(where, problem=f"{text.strip()!r} is not an email address")
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        return ImportedContact(where, problem=NO_EMAIL)
    try:
        values = _values(raw)
    except ValueError as e:
        return ImportedContact(where, tuple(addresses), problem=str(e))
    return ImportedContact(where, tuple(addresses), **values)


def _values(raw: dict[str, Any]) -> dict[str, Any]:
    """Check and normalize the given fields; ValueError names the first bad one."""
    values: dict[str, Any] = {}
    name = (raw.get("name") or "").strip()
    if name:
        values["name"] = name
    if raw.get("name_fixed"):
        values["name_fixed"] = _flag(raw["name_fixed"], "name_fixed")
    status = (raw.get("status") or "").strip().lower()
    if status:
        if status not in STATUSES:
            raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        values["status"] = status
    tier = (raw.get("tier") or "").strip()
    if tier:
        values["tier"] = tier
    tags = tuple(dict.fromkeys(t.strip().lower() for t in raw.get("tags") or () if t.strip()))
    tags = tuple(t for t in tags if t != "mycontacts")  # Google's label for every contact
    if tags:
        values["tags"] = tags
    trust = (raw.get("trust") or "").strip()
    if trust:
        if trust not in ("0", "1", "2", "3"):
            raise ValueError(f"trust {trust!r} is not 0, 1, 2 or 3")
        values["trust"] = int(trust)
    cadence = (raw.get("cadence") or "").strip()
    if cadence:
        delta = parse_duration(cadence)  # ValueError: "'x' is not a duration; write it..."
        # as `contacts set --cadence` stores it: 90d -> 3m
        values["cadence"] = format_duration(delta) if delta % DAY == ZERO else cadence
    notes = raw.get("notes") or ""
    if notes.strip():
        values["notes"] = notes
    if (raw.get("intro_opt_out") or "").strip():
        values["intro_opt_out"] = _flag(raw["intro_opt_out"], "intro_opt_out")
    snoozed = (raw.get("snoozed_until") or "").strip()
    if snoozed:
        try:
            values["snoozed_until"] = iso(parse_iso(snoozed))
        except ValueError:
            raise ValueError(f"snoozed_until {snoozed!r} is not a date like 2026-05-01") from None
    return values


def _check_text(text: str, kind: str) -> str:
    """The text without a BOM; ValueError for an empty or binary file."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise ValueError("the file is empty")
    if "\x00" in text:
        raise ValueError(f"not a {kind} file: it holds binary data")
    return text


# -- vCard -----------------------------------------------------------------------------------

_STRUCTURED = {"version", "n", "categories"}  # the other properties mailer reads
_SINGLE_TEXT = {"fn", "email", "note"}  # one text value each: a comma in it is text
_LINE_RE = re.compile(r"(?:[A-Za-z0-9-]+\.)?([A-Za-z0-9-]+)[;:]")
_QP_RE = re.compile(r"^[^:]*QUOTED-PRINTABLE[^:]*:", re.IGNORECASE)
_X = "x-mailer-"


def to_vcard(contacts: Iterable[Contact]) -> str:
    """One vCard 3.0 per contact; mailer's own fields as X-MAILER-* properties."""
    return "".join(_vcard(c).serialize() for c in contacts)


def _plain(text: str) -> str:
    # vCard escapes line feeds only: a carriage return would break the line. Escape
    # sequences from a stored subject or name must not reach whoever cats the file.
    return clean_text(text)


def _vcard(c: Contact) -> Any:
    card = vobject.vCard()
    name = _plain(c.name) if c.name else None
    # FN is required; an address as the name reads back as no name.
    card.add("fn").value = name or c.email
    words = (name or "").split()
    family, given = (words[-1], " ".join(words[:-1])) if len(words) > 1 else ("", " ".join(words))
    card.add("n").value = vobject.vcard.Name(family=family, given=given)
    for i, address in enumerate((c.email, *c.aliases)):
        email = card.add("email")
        email.value = address
        email.type_param = ["INTERNET", "pref"] if i == 0 else ["INTERNET"]
    if c.tags:
        card.add("categories").value = list(c.tags)
    if c.notes:
        card.add("note").value = _plain(c.notes)
    fields = {
        "status": c.status,
        "tier": c.tier,
        "trust": str(c.trust),
        "cadence": c.cadence,
        "intro-opt-out": "yes" if c.intro_opt_out else "no",
        "snoozed-until": c.snoozed_until,
        "name-fixed": "yes" if c.name_fixed else "no",
    }
    for key, value in fields.items():
        if value is not None:
            card.add(_X + key).value = _plain(value)
    return card


def from_vcard(text: str) -> list[ImportedContact]:
    """Every card of a vCard file (2.1, 3.0 or 4.0), in file order.

    Only the properties mailer uses are parsed (photos and the rest are
    dropped unread), so one odd address or photo cannot spoil a card.
    ValueError when the text is no vCard file at all.
    """
    text = _check_text(text, "vCard")
    cards = _split_cards(text)
    if cards is None:
        raise ValueError("not a vCard file: no BEGIN:VCARD line")
    return [_read_card(n, lines, closed) for n, (lines, closed) in enumerate(cards, 1)]


def _split_cards(text: str) -> list[tuple[list[str], bool]] | None:
    """The cards as lists of unfolded lines (the kept properties only), and if each was closed."""
    cards: list[tuple[list[str], bool]] = []
    current: list[str] | None = None
    seen_begin = False
    for line in _unfold(text):
        m = _LINE_RE.match(line)
        if m is None:
            continue  # not a property line: junk between or inside cards
        prop = m.group(1).lower()
        start = _value_start(line)
        value = line[start:].strip().upper()
        if prop == "begin" and value == "VCARD":
            seen_begin = True
            if current is not None:
                cards.append((current, False))
            current = ["BEGIN:VCARD"]
        elif prop == "end" and value == "VCARD":
            if current is not None:
                cards.append(([*current, "END:VCARD"], True))
            current = None
        elif current is not None and (prop in _SINGLE_TEXT or prop.startswith(_X)):
            # vobject reads a text value as a list and keeps the first item: a
            # comma the writer did not escape ("FN:Berg, Anna") would cut it.
            head, value = line[:start], line[start:]
            if _QP_RE.match(line):
                value = re.sub("=2[Cc]", r"\\,", value)
            current.append(head + re.sub(r"(\\.)|,", lambda m: m.group(1) or "\\,", value))
        elif current is not None and prop in _STRUCTURED:
            current.append(line)
    if current is not None:
        cards.append((current, False))
    return cards if seen_begin else None


def _unfold(text: str) -> list[str]:
    """Logical lines: folded lines and quoted-printable soft breaks joined."""
    lines: list[str] = []
    qp = False
    for line in re.split(r"\r\n|\r|\n", text):
        if lines and qp and lines[-1].endswith("="):
            lines[-1] = lines[-1][:-1] + line
        elif lines and line[:1] in (" ", "\t"):
            lines[-1] += line[1:]
        elif line.strip():
            lines.append(line)
            qp = bool(_QP_RE.match(line))
    return lines


def _value_start(line: str) -> int:
    """Where the value begins: after the first colon outside a quoted parameter."""
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            return i + 1
    return len(line)


def _read_card(n: int, lines: list[str], closed: bool) -> ImportedContact:
    where = f"card {n}"
    if not closed:
        return ImportedContact(where, problem="no END:VCARD (is the file cut short?)")
    try:
        card = vobject.readOne("\r\n".join(lines) + "\r\n", allowQP=True)
    except Exception as e:  # vobject raises several types for a broken card
        return ImportedContact(where, problem=f"unreadable: {' '.join(str(e).split())}")
    contents = card.contents
    emails = _emails(contents.get("email", ()))
    name = _name(contents, emails)
    if name:
        where = f"{where} ({' '.join(name.split())})"
    tags = [t for c in contents.get("categories", ()) for t in _list(c.value)]
    x = {
        key[len(_X) :].replace("-", "_"): _text(props[0].value)
        for key, props in contents.items()
        if key.startswith(_X)
    }
    return _card(
        where,
        emails,
        name=name,
        tags=tags,
        notes="\n".join(_text(p.value) for p in contents.get("note", ())),
        **{k: v for k, v in x.items() if k in _X_FIELDS},
    )


_X_FIELDS = {"status", "tier", "trust", "cadence", "intro_opt_out", "snoozed_until", "name_fixed"}


def _text(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def _list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else str(value).split(",")


def _emails(props: Sequence[Any]) -> list[str]:
    """The addresses, the preferred first: TYPE=pref (3.0) or the lowest PREF=n (4.0)."""

    def rank(item: tuple[int, Any]) -> tuple[int, int]:
        i, prop = item
        params = {k.upper(): v for k, v in prop.params.items()}
        pref = (params.get("PREF") or [""])[0]
        if str(pref).isdigit():
            return int(pref), i
        types = [str(t).upper() for t in (*params.get("TYPE", ()), *prop.singletonparams)]
        return (0 if "PREF" in types else 101), i

    ordered = sorted(enumerate(props), key=rank)
    return [_text(p.value) for _, p in ordered]


def _name(contents: dict[str, list[Any]], emails: list[str]) -> str | None:
    """FN, else the parts of N; a name that is one of the addresses is no name."""
    addresses = {e.strip().lower() for e in emails}
    for prop in contents.get("fn", ()):
        name = _text(prop.value).strip()
        if name and name.lower() not in addresses:
            return name
    for prop in contents.get("n", ()):
        n = prop.value
        parts = [getattr(n, k, "") for k in ("prefix", "given", "additional", "family", "suffix")]
        name = " ".join(" ".join(_list(p)) if isinstance(p, list) else str(p) for p in parts)
        name = " ".join(name.split())
        if name and name.lower() not in addresses:
            return name
    return None


# -- CSV -------------------------------------------------------------------------------------

# Address columns: mailer's "email", Google's "E-mail 1 - Value", Outlook's
# "E-mail Address", Thunderbird's "Primary Email"; taken in column order.
_EMAIL_COLUMN = re.compile(r"(?:primary |secondary )?e-?mail(?: ?\d+)?(?: ?-? ?(?:value|address))?")
_NAME_PARTS = (
    ("first name", "given name"),
    ("middle name", "additional name"),
    ("last name", "family name"),
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs a cell starting so


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
        writer.writerow([_defuse(clean_text(v)) for v in row])
    return buf.getvalue()


def _defuse(value: str) -> str:
    # Names come from strangers' mail: `=HYPERLINK(...)` must stay text in a
    # spreadsheet. The quote is taken off again on import (_restore).
    return "'" + value if value.lstrip("'").startswith(_FORMULA) else value


def _restore(value: str) -> str:
    return value[1:] if value.startswith("'") and value.lstrip("'").startswith(_FORMULA) else value


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
                cards.append(columns.card(start, [_restore(cell) for cell in row]))
            start = reader.line_num + 1
    except csv.Error as e:
        raise ValueError(f"not a CSV file: line {reader.line_num}: {e}") from None
    return cards


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
        self.index = {k: i for i, k in reversed(list(enumerate(keys)))}  # the first of a name

    def get(self, row: list[str], *names: str) -> str:
        for name in names:
            i = self.index.get(name)
            if i is not None and i < len(row) and row[i].strip():
                return row[i]
        return ""

    def card(self, line: int, row: list[str]) -> ImportedContact:
        cells = [row[i] for i in self.emails if i < len(row)] + [self.get(row, "aliases")]
        addresses = [a for cell in cells for a in re.split(r"\s*(?:,|;|:::)\s*|\s+", cell)]
        name = self.get(row, "name", "display name", "full name")
        if not name.strip():  # Google's newer export: First Name, Middle Name, Last Name
            name = " ".join(filter(None, (self.get(row, *n).strip() for n in _NAME_PARTS)))
        tags = self.get(row, "tags", "categories").split(",")
        labels = self.get(row, "labels", "group membership").split(":::")
        tags += [t for t in labels if not t.strip().startswith("*")]  # Google's own: * starred
        first = next((a.strip() for a in addresses if a.strip()), "")
        where = f"line {line}" + (f" ({first})" if first else "")
        fields = ("status", "tier", "trust", "cadence", "intro opt out", "snoozed until")
        return _card(
            where,
            addresses,
            name=name,
            tags=tags,
            notes=self.get(row, "notes", "note"),
            name_fixed=self.get(row, "name fixed"),
            **{f.replace(" ", "_"): self.get(row, f) for f in fields},
        )


# -- the merge -------------------------------------------------------------------------------


def plan_import(
    existing: Sequence[Contact],
    imported: Iterable[ImportedContact],
    own: Collection[str] = (),
    tiers: Collection[str] | None = None,
) -> ImportPlan:
    """Merge the cards into the contacts by address; what to write and the report.

    Cards are taken in file order: a later card's single values (status,
    trust, ...) win over an earlier one's for the same person, tags are
    united and notes kept. A card whose addresses belong to two stored
    contacts is skipped: which person it is, is the owner's call. `own` are
    the owner's addresses, never a contact. `tiers` are the configured ones
    (rules.tiers): a card with another tier is skipped, as one with a bad
    trust is; None takes any tier as it is.
    """
    stored = {c.email: c for c in existing}
    current: dict[str, Contact] = dict(stored)
    holder: dict[str, str] = {}  # address -> the email of the contact that has it
    for c in existing:
        for a in c.aliases:
            holder.setdefault(a, c.email)
    holder.update({c.email: c.email for c in existing})
    new_cards: dict[str, list[ImportedContact]] = {}  # contacts this import creates
    matched: set[str] = set()
    skipped: list[Skipped] = []
    mine = {a.strip().lower() for a in own}

    for card in imported:
        if card.problem:
            skipped.append(Skipped(card.where, card.problem))
            continue
        if card.tier is not None and tiers is not None:
            try:
                card = dataclasses.replace(card, tier=check_tier(card.tier, tiers))
            except ValueError as e:
                skipped.append(Skipped(card.where, str(e)))
                continue
        if ours := [a for a in card.addresses if a in mine]:
            skipped.append(Skipped(card.where, f"{ours[0]} is your own address (me.addresses)"))
            continue
        hits = list(dict.fromkeys(holder[a] for a in card.addresses if a in holder))
        olds = [e for e in hits if e in stored]
        if len(olds) > 1:
            skipped.append(
                Skipped(card.where, f"its addresses belong to {' and '.join(olds)}: {MERGE_FIRST}")
            )
            continue
        target = olds[0] if olds else hits[0] if hits else card.addresses[0]
        contact = current.get(target) or Contact(email=target)
        if target not in stored:
            new_cards.setdefault(target, [])
        for other in hits:
            if other != target:  # a contact this import created: the same person after all
                for earlier in new_cards.pop(other):
                    contact = _apply(contact, earlier)
                    if target in new_cards:
                        new_cards[target].append(earlier)
                del current[other]
        contact = _apply(contact, card)
        current[target] = contact
        if target in new_cards:
            new_cards[target].append(card)
        else:
            matched.add(target)
        for a in (contact.email, *contact.aliases):
            holder[a] = target

    added = sorted(e for e in current if e not in stored)
    updated: list[Updated] = []
    unchanged: list[str] = []
    for email in sorted(matched):
        fields = _changed(stored[email], current[email])
        if fields:
            updated.append(Updated(email, fields))
        else:
            unchanged.append(email)
    return ImportPlan(
        contacts=tuple(current[e] for e in (*added, *(u.email for u in updated))),
        added=tuple(added),
        updated=tuple(updated),
        unchanged=tuple(unchanged),
        skipped=tuple(skipped),
    )


def _changed(old: Contact, new: Contact) -> tuple[str, ...]:
    return tuple(
        f.name for f in dataclasses.fields(Contact) if getattr(old, f.name) != getattr(new, f.name)
    )


def _apply(c: Contact, card: ImportedContact) -> Contact:
    """`c` with what `card` gives; the scan's counts and dates stay as they are."""
    changes: dict[str, Any] = {}
    new_aliases = [a for a in card.addresses if a != c.email and a not in c.aliases]
    if new_aliases:
        changes["aliases"] = (*c.aliases, *new_aliases)
    if card.name is not None:
        if card.name_fixed is False:
            # A name the scan learned (mailer's own export): the scan keeps it current.
            if not c.name:
                changes["name"], changes["name_fixed"] = card.name, False
        elif card.name != c.name:
            changes["name"], changes["name_fixed"] = card.name, True  # the owner's word
        elif card.name_fixed and not c.name_fixed:
            changes["name_fixed"] = True
    for field in ("status", "tier", "trust", "intro_opt_out", "snoozed_until"):
        value = getattr(card, field)
        if value is not None and value != getattr(c, field):
            changes[field] = value
    if card.cadence is not None and not _same_duration(card.cadence, c.cadence):
        changes["cadence"] = card.cadence
    new_tags = [t for t in card.tags or () if t not in c.tags]
    if new_tags:
        changes["tags"] = tuple(sorted({*c.tags, *new_tags}))  # united and sorted, as everywhere
    if card.notes is not None:
        notes = _notes(c.notes, card.notes)
        if notes != c.notes:
            changes["notes"] = notes
    return dataclasses.replace(c, **changes) if changes else c


def _same_duration(a: str, b: str | None) -> bool:
    try:
        return b is not None and parse_duration(a) == parse_duration(b)
    except ValueError:
        return a == b


def _notes(old: str, new: str) -> str:
    """Both texts, without repeating one the other already holds."""
    if not old.strip() or old.strip() in new:
        return new  # nothing yet, or the file's text extends it (edited in a spreadsheet)
    if new.strip() in old:
        return old
    return f"{old}\n{new}"
