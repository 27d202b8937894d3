"""Dates as mail writes them, read as aware UTC datetimes.

Two readers need them: the scan reads every message's Date header
(`parse_date`: a fast path for the common RFC 5322 form, believable years
only), and a command mail's own Date and the dates a client prints in a
forwarded header block (`parse_rfc_date`, `parse_loose_date`: any year, and
a date without a zone is placed in the owner's zone). They share the
standard library fallback and the conversion to UTC.

Pure: no I/O, no clock (a zoneless date is never read in the local zone).
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

__all__ = ["as_utc", "offset_of", "parse_date", "parse_loose_date", "parse_rfc_date"]

_UTC = UTC
_FIRST_YEAR, _LAST_YEAR = "1970", "2100"  # a Date outside these is a broken clock

# The RFC 5322 date almost everyone writes: "Tue, 1 Jul 2003 10:52:37 +0200 (CEST)".
_DATE_RE = re.compile(
    r"\s*(?:[A-Za-z]+,?\s*)?(\d\d?)\s+([A-Za-z]{3})[A-Za-z]*\.?\s+(\d{4})\s+"
    r"(\d\d?):(\d\d)(?::(\d\d))?\s*(?:([+-]\d{4})|[Uu][Tt][Cc]?|[Gg][Mm][Tt]|[Zz])?"
    r"\s*(?:\([^()]*\)\s*)?",
    re.ASCII,
)
_MONTH_NUMBERS = {
    name: f"{i:02d}"
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
    for name in (m, m.title())
}


def _stdlib_date(value: str) -> datetime | None:
    """What `email.utils` makes of a date, None when it cannot read it."""
    try:
        return email.utils.parsedate_to_datetime(value)
    except Exception:  # ValueError, TypeError, OverflowError, IndexError by version
        return None


def as_utc(when: datetime | None, default_tz: tzinfo = UTC) -> datetime | None:
    """`when` in UTC; without a zone it is taken in `default_tz`. None if out of range."""
    if when is None:
        return None
    if when.tzinfo is None:  # never the local zone: that would make this impure
        when = when.replace(tzinfo=default_tz)
    try:
        return when.astimezone(_UTC)
    except (OverflowError, ValueError):
        return None


# --- the Date header of scanned mail ----------------------------------------------


def parse_date(value: str | None) -> datetime | None:
    """A Date header value as an aware UTC datetime, or None if not believable.

    No zone (or "-0000") counts as UTC; years outside 1970-2100 are a broken
    clock, not a date.
    """
    if not value:
        return None
    m = _DATE_RE.fullmatch(value)
    if m is not None:
        day, mon, year, hour, minute, second, offset = m.groups()
        month = _MONTH_NUMBERS.get(mon) or _MONTH_NUMBERS.get(mon.lower())
        if month is None or not _FIRST_YEAR <= year <= _LAST_YEAR:  # 4 digits: str order
            return None
        # fromisoformat is C and validates (31 February, 25 o'clock, +9900):
        # several times faster than int() on each part and datetime().
        iso = f"{year}-{month}-{day:0>2}T{hour:0>2}:{minute}:{second or '00'}{offset or '+0000'}"
        try:
            when = datetime.fromisoformat(iso)
        except ValueError:
            if second != "60":
                return None
            when = datetime.fromisoformat(iso.replace(":60", ":59"))  # a leap second
        return when if when.tzinfo is _UTC else when.astimezone(_UTC)
    read = _stdlib_date(value)
    if read is None or not int(_FIRST_YEAR) <= read.year <= int(_LAST_YEAR):
        return None
    return as_utc(read)


# --- a command mail and what it forwards ------------------------------------------


def parse_rfc_date(value: str | None, default_tz: tzinfo = UTC) -> datetime | None:
    """An RFC 2822 date as UTC; a date without a zone is taken in `default_tz`.

    Unlike `parse_date`, any year is read: a command mail is judged by its
    sender, not by its clock.
    """
    if not value:
        return None
    return as_utc(_stdlib_date(value), default_tz)


def offset_of(value: str | None) -> tzinfo:
    """The UTC offset the owner's client wrote its Date in, to place zoneless dates."""
    if not value:
        return UTC
    dt = _stdlib_date(value)
    return dt.tzinfo if dt is not None and dt.tzinfo is not None else UTC


_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        (
            # English, German, French, Spanish, Italian, Dutch, Portuguese, Scandinavian,
            # then Polish, Czech and Russian (genitive), Turkish, Finnish (partitive)
            "jan january januar janvier enero gennaio januari janv janeiro "
            "stycznia ledna января ocak tammikuuta",
            "feb february februar février fevrier febrero febbraio februari févr fevr fevereiro "
            "lutego února февраля şubat helmikuuta",
            "mar march märz maerz mars marzo maart marts março marco "
            "marca března марта mart maaliskuuta",
            "apr april avril abril aprile kwietnia dubna апреля nisan huhtikuuta",
            "may mai mayo maggio mei maj maio maja května мая mayıs toukokuuta",
            "jun june juni juin junio giugno junho czerwca června июня haziran kesäkuuta",
            "jul july juli juillet julio luglio juil julho lipca července июля temmuz heinäkuuta",
            "aug august août aout agosto augustus augusti sierpnia srpna августа ağustos elokuuta",
            "sep sept september septembre septiembre settembre setembro "
            "września září сентября eylül syyskuuta",
            "oct october oktober octobre octubre ottobre okt outubro "
            "października října октября ekim lokakuuta",
            "nov november novembre noviembre novembro listopada listopadu ноября kasım marraskuuta",
            "dec december dezember décembre decembre diciembre dicembre dez dezembro "
            "grudnia prosince декабря aralık joulukuuta",
        )
    )
    for name in names.split()
}
_ZONES = {
    "utc": 0,
    "gmt": 0,
    "z": 0,
    "wet": 0,
    "bst": 60,
    "west": 60,
    "cet": 60,
    "mez": 60,
    "cest": 120,
    "mesz": 120,
    "eet": 120,
    "eest": 180,
    "est": -300,
    "edt": -240,
    "cst": -360,
    "cdt": -300,
    "mst": -420,
    "mdt": -360,
    "pst": -480,
    "pdt": -420,
}
_TIME = re.compile(r"^([0-9]{1,2})[:.]([0-9]{2})(?:[:.]([0-9]{2}))?$")
_OFFSET = re.compile(r"^(?:utc|gmt)?([+-])([0-9]{1,2})(?::?([0-9]{2}))?$")
_ISO_DAY = re.compile(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$")
_NUMERIC_DAY = re.compile(r"^([0-9]{1,2})[/.]([0-9]{1,2})[/.]([0-9]{2,4})$")


def parse_loose_date(value: str, default_tz: tzinfo = UTC) -> datetime | None:
    """A date as mail clients print it in a forwarded header, as UTC.

    RFC 2822 first; then the human forms: Gmail "Tue, Mar 3, 2026 at 9:15 AM",
    Apple "3 March 2026 at 09:15:00 CET", Outlook "Tuesday, March 3, 2026
    9:15 AM". A date without a zone is read in `default_tz`. Numeric dates
    whose day and month could be swapped give None rather than a guess.
    """
    value = value.strip()
    if not value:
        return None
    # The RFC parser silently ignores "PM" (it reads 9:15 PM as 09:15).
    if not re.search(r"\b[ap]\.?m\b", value, re.IGNORECASE):
        rfc = parse_rfc_date(value, default_tz)
        if rfc is not None:
            return rfc
    # "2026年3月4日 7:30" (Japanese, Chinese): the day as ISO
    value = re.sub(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日", r" \1-\2-\3 ", value)
    tokens = re.split(r"[\s,]+", value.lower().replace("\u202f", " "))
    year = month = day = None
    hour = minute = second = 0
    ampm = None
    zone: tzinfo | None = None
    for tok in tokens:
        tok = tok.strip("()")
        if not tok or tok in ("at", "um", "à", "a", "las", "alle", "om", "de", "the"):
            continue
        word = tok.rstrip(".")
        if word in _MONTHS and month is None:
            month = _MONTHS[word]
        elif word in ("am", "pm", "a.m", "p.m"):
            ampm = word[0]
        elif word in _ZONES:
            zone = timezone(timedelta(minutes=_ZONES[word]))
        elif m := _OFFSET.match(word):
            sign = -1 if m.group(1) == "-" else 1
            minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
            if minutes < 24 * 60:
                zone = timezone(sign * timedelta(minutes=minutes))
        elif m := _TIME.match(word):
            hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        elif m := _ISO_DAY.match(word):
            year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
        elif m := _NUMERIC_DAY.match(word):
            a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
            year = y + 2000 if y < 100 else y
            if a == b or b > 12:
                month, day = a, b
            elif a > 12:
                day, month = a, b
            else:
                return None  # 3/4/2026: March 4th or 3 April? Not ours to guess.
        elif word.isascii() and word.isdigit() and len(word) == 4:
            year = int(word)
        elif word.isascii() and word.isdigit() and len(word) <= 2 and day is None:
            day = int(word)
    if year is None or month is None or day is None:
        return None
    if ampm == "p" and hour < 12:
        hour += 12
    elif ampm == "a" and hour == 12:
        hour = 0
    try:
        dt = datetime(year, month, day, hour, minute, second, tzinfo=zone or default_tz)
        return dt.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
