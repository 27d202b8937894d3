"""Contacts to and from address books (vCard) and spreadsheets (CSV).

People keep their contacts in Apple Contacts, Google Contacts, Thunderbird or
a spreadsheet; mailer must take them in without duplicating anyone it already
learned from mail, and give its own back so nothing is locked in. Pure: text
in, values out; reading and writing files is mailer.addressbook's job.

The merge is by address: a card matches the contact whose email or alias is
any of the card's addresses. What a file gives updates that contact; what the
scan learned (counts, dates, subjects) is never touched.

Address books of tens of thousands of cards are common, and an import must take
them in seconds: vCard is read by a small reader of our own that looks only at
the properties mailer uses (vobject, which writes the export, took minutes for
50,000 cards), and the merge is one pass over the cards.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import functools
import io
import quopri
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

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

# The properties mailer reads and END, with the text after the name (";params:value");
# the line that begins a card.
_PROPERTY_RE = re.compile(
    r"^(?:[A-Za-z0-9-]+\.)?(n|fn|email|note|categories|end|x-mailer-[a-z0-9-]+)([;:].*)$",
    re.IGNORECASE | re.MULTILINE,
)
_BEGIN_RE = re.compile(
    r"^(?:[A-Za-z0-9-]+\.)?BEGIN(?:;[^:\n]*)?:[^\S\n]*VCARD[^\S\n]*$", re.IGNORECASE | re.MULTILINE
)
_QP_RE = re.compile(r"^[^:]*QUOTED-PRINTABLE[^:]*:", re.IGNORECASE)
_ESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)
_ESCAPES = {"n": "\n", "N": "\n", "\\": "\\", ",": ",", ";": ";", '"': '"'}
_TOKEN_RE = re.compile(r"[^\\;,]+|\\.?|[;,]", re.DOTALL)
_X = "x-mailer-"
# A property's parameters as written (";" between them) and its value, decoded but
# still escaped.
_Value = tuple[str, str]


def to_vcard(contacts: Iterable[Contact]) -> str:
    """One vCard 3.0 per contact; mailer's own fields as X-MAILER-* properties."""
    return "".join(_vcard(c).serialize() for c in contacts)


def _plain(text: str) -> str:
    # vCard escapes line feeds only: a carriage return would break the line. Escape
    # sequences from a stored subject or name must not reach whoever cats the file.
    return clean_text(text)


def _vcard(c: Contact) -> Any:
    import vobject  # here: every command imports this module, only an export needs it

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
    # Each card is the text after a BEGIN:VCARD line, up to its END:VCARD line. Our own
    # reader, not vobject's: that took 25 s for 50,000 cards, for five properties.
    cards = _BEGIN_RE.split(_unfold(text))[1:]
    if not cards:
        raise ValueError("not a vCard file: no BEGIN:VCARD line")
    return [_read_card(n, card) for n, card in enumerate(cards, 1)]


def _unfold(text: str) -> str:
    """Logical lines, "\\n" between them: folded lines and quoted-printable soft breaks joined."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "quoted-printable" not in text.lower():
        return text.replace("\n ", "").replace("\n\t", "")
    lines: list[str] = []
    qp = False
    for line in text.split("\n"):
        if lines and qp and lines[-1].endswith("="):
            lines[-1] = lines[-1][:-1] + line
        elif lines and line[:1] in (" ", "\t"):
            lines[-1] += line[1:]
        elif line.strip():
            lines.append(line)
            qp = bool(_QP_RE.match(line))
    return "\n".join(lines)


def _value_start(rest: str) -> int:
    """Where the value begins: after the first colon outside a quoted parameter; -1: none."""
    colon = rest.find(":")
    if colon < 0:
        return -1
    if '"' not in rest[:colon]:
        return colon + 1
    quoted = False
    for i, ch in enumerate(rest):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            return i + 1
    return -1


def _parse(prop: str, rest: str) -> _Value:
    """The parameters and value of a line (quoted-printable or base64 decoded); ValueError
    when it is unreadable."""
    if rest[0] == ":":  # no parameters, as most lines
        return "", rest[1:]
    start = _value_start(rest)
    if start < 0:
        raise ValueError(f"no value in {prop.upper()}{rest}")
    head, value = rest[1 : start - 1], rest[start:]
    upper = head.upper()
    if "ENCODING" in upper or "QUOTED-PRINTABLE" in upper or "BASE64" in upper:
        params = _params(head)
        encoding = {e.upper() for e in (*params.get("ENCODING", ()), *params.get("", ()))}
        try:
            if "QUOTED-PRINTABLE" in encoding:
                charset = (params.get("CHARSET") or ["utf-8"])[0]
                value = quopri.decodestring(value.encode()).decode(charset)
            elif encoding & {"B", "BASE64"}:
                value = base64.b64decode(value).decode()
        except (LookupError, ValueError) as e:  # an unknown charset, bad bytes or base64
            raise ValueError(str(e)) from None
    return head, value


def _params(head: str) -> dict[str, list[str]]:
    """Parameters by upper-case name; vCard 2.1's bare ones (PREF, QUOTED-PRINTABLE) under ""."""
    params: dict[str, list[str]] = {}
    for param in _split_quoted(head, ";"):
        key, eq, values = param.partition("=")
        if eq:
            got = params.setdefault(key.strip().upper(), [])
            got += [v.strip().strip('"') for v in _split_quoted(values, ",")]
        elif param.strip():
            params.setdefault("", []).append(param.strip())
    return params


def _split_quoted(text: str, sep: str) -> list[str]:
    if '"' not in text:
        return text.split(sep)
    parts, start, quoted = [], 0, False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def _unescape(value: str) -> str:
    """A text value: \\n a line break, \\, \\; \\\\ \\" the character; others kept as written."""
    if "\\" not in value:
        return value
    if "\\\\" not in value:  # then every backslash starts a pair of its own
        for escaped, char in _ESCAPES.items():
            value = value.replace("\\" + escaped, char)
        return value
    return _ESCAPE_RE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(0)), value)


def _items(value: str, separators: str = ",") -> list[list[str]]:
    """A structured value: fields at each unescaped ';' (if a separator), each a list of
    the items at each unescaped ','; unescaped."""
    if "\\" not in value:
        return [f.split(",") for f in value.split(";")] if ";" in separators else [value.split(",")]
    fields: list[list[str]] = [[""]]
    for m in _TOKEN_RE.finditer(value):
        piece = m.group(0)
        if piece == ";" and ";" in separators:
            fields.append([""])
        elif piece == ",":
            fields[-1].append("")
        else:
            fields[-1][-1] += _unescape(piece)
    return fields


def _read_card(n: int, text: str) -> ImportedContact:
    """Card `n` from the text after its BEGIN line, or one naming its problem."""
    where = f"card {n}"
    props: dict[str, list[_Value]] = {}
    problem = None
    for prop, rest in _PROPERTY_RE.findall(text):
        prop = prop.lower()
        if prop == "end":
            start = _value_start(rest)
            if start > 0 and rest[start:].strip().upper() == "VCARD":
                break
        elif problem is None:
            try:
                value = _parse(prop, rest)
            except ValueError as e:
                problem = f"unreadable: {' '.join(str(e).split())}"
                continue
            if prop in props:
                props[prop].append(value)
            else:
                props[prop] = [value]
    else:
        return ImportedContact(where, problem="no END:VCARD (is the file cut short?)")
    if problem:
        return ImportedContact(where, problem=problem)
    emails = _emails(props.get("email", ()))
    name = _name(props, emails)
    if name:
        where = f"{where} ({' '.join(name.split())})"
    raw: dict[str, str] = {}  # mailer's own fields, from its export
    for prop, found in props.items():
        if prop.startswith(_X) and (key := prop[len(_X) :].replace("-", "_")) in _X_FIELDS:
            raw[key] = _unescape(found[0][1])
    tags = [t for _, value in props.get("categories", ()) for t in _items(value)[0]]
    notes = "\n".join(_unescape(value) for _, value in props.get("note", ()))
    return _card(where, emails, name=name, tags=tags, notes=notes, **raw)


_X_FIELDS = {"status", "tier", "trust", "cadence", "intro_opt_out", "snoozed_until", "name_fixed"}


def _emails(props: Sequence[_Value]) -> list[str]:
    """The addresses, the preferred first: TYPE=pref (3.0) or the lowest PREF=n (4.0)."""
    if len(props) > 1 and any("PREF" in head.upper() for head, _ in props):
        props = sorted(props, key=lambda p: _rank(p[0]))  # stable: file order among equals
    return [_unescape(value) for _, value in props]


@functools.lru_cache(maxsize=256)  # a file repeats a few parameter lists on every card
def _rank(head: str) -> int:
    """How preferred an address is by its parameters: PREF=n (4.0) is n, TYPE=pref 0, else 101."""
    if "PREF" not in head.upper():
        return 101
    params = _params(head)
    pref = (params.get("PREF") or [""])[0]
    if pref.isascii() and pref.isdigit():
        return int(pref)
    types = [t.upper() for t in (*params.get("TYPE", ()), *params.get("", ()))]
    return 0 if "PREF" in types else 101


def _name(props: dict[str, list[_Value]], emails: list[str]) -> str | None:
    """FN, else the parts of N; a name that is one of the addresses is no name."""
    addresses = {e.strip().lower() for e in emails}
    for _, value in props.get("fn", ()):
        name = _unescape(value).strip()
        if name and name.lower() not in addresses:
            return name
    for _, value in props.get("n", ()):
        fields = (_items(value, ";,") + [[]] * 5)[:5]  # family; given; additional; prefix; suffix
        family, given, additional, prefix, suffix = (" ".join(f) for f in fields)
        name = " ".join(f"{prefix} {given} {additional} {family} {suffix}".split())
        if name and name.lower() not in addresses:
            return name
    return None


# -- CSV -------------------------------------------------------------------------------------

# Address columns: mailer's "email", Google's "E-mail 1 - Value", Outlook's
# "E-mail Address", Thunderbird's "Primary Email"; taken in column order.
_EMAIL_COLUMN = re.compile(r"(?:primary |secondary )?e-?mail(?: ?\d+)?(?: ?-? ?(?:value|address))?")
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
                return _restore(row[i])
        return ""

    def card(self, line: int, row: list[str]) -> ImportedContact:
        cells = [_restore(row[i]) for i in self.emails if i < len(row)]
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
        hits = [holder[a] for a in card.addresses if a in holder]
        if len(hits) > 1:
            hits = list(dict.fromkeys(hits))
        olds = [e for e in hits if e in stored]
        if len(olds) > 1:
            skipped.append(
                Skipped(card.where, f"its addresses belong to {' and '.join(olds)}: {MERGE_FIRST}")
            )
            continue
        target = olds[0] if olds else hits[0] if hits else card.addresses[0]
        if target not in stored:
            new_cards.setdefault(target, [])
        contact = current.get(target)
        if contact is None:  # nobody has its addresses: a new contact, made in one go
            contact = Contact(email=target, **_changes(_NOBODY, card, target))
        else:
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


_FIELDS = tuple(f.name for f in dataclasses.fields(Contact))
_NOBODY = Contact(email="")  # what a contact the import creates starts from


def _changed(old: Contact, new: Contact) -> tuple[str, ...]:
    if old is new:  # what _apply returns when a card changes nothing
        return ()
    return tuple(name for name in _FIELDS if getattr(old, name) != getattr(new, name))


def _apply(c: Contact, card: ImportedContact) -> Contact:
    """`c` with what `card` gives; the scan's counts and dates stay as they are."""
    changes = _changes(c, card, c.email)
    return dataclasses.replace(c, **changes) if changes else c


def _changes(c: Contact, card: ImportedContact, email: str) -> dict[str, Any]:
    """The fields `card` changes of `c` (whose email is `email`), with their new values."""
    changes: dict[str, Any] = {}
    new_aliases = [a for a in card.addresses if a != email and a not in c.aliases]
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
    return changes


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
