"""One card or row of an address book, with the values it gives checked.

What both readers (vcard, csvfile) turn their file into, and what the merge
takes: the checks of each field live here once, so a vCard and a CSV row with
the same text give the same contact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from mailer.core.durations import format_duration, parse_duration
from mailer.model import STATUSES, iso, parse_iso

DAY, ZERO = timedelta(days=1), timedelta()
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
