"""Contacts to vCard (through vobject) and back (through a small reader of our own).

The reader looks only at the properties mailer uses, so photos and the rest
are dropped unread; vobject, which writes the export, took minutes to read
50,000 cards.
"""

from __future__ import annotations

import base64
import functools
import quopri
import re
from collections.abc import Iterable, Sequence
from typing import Any

from mailer.core.addressbook.cards import ImportedContact, _card, _check_text
from mailer.core.clean import clean_text
from mailer.model import Contact

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
