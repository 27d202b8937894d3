"""Durations as people write them: `14d`, `2w`, `3m`, `1y`.

A month is 30 days and a year 365: cadences are rhythms, not calendar dates.
"""

from __future__ import annotations

import re
from datetime import timedelta

MAX_DAYS = 100 * 365  # longer is a typo, and would overflow a date
_UNITS = {"h": 1 / 24, "d": 1, "w": 7, "m": 30, "y": 365}
_PART = re.compile(r"(\d+)\s*([hdwmy])")
_WHOLE = re.compile(r"^\s*(?:\d+\s*[hdwmy]\s*)+$")


def parse_duration(text: str) -> timedelta:
    """`2w` -> 14 days; `1y 2m` works too. Raises ValueError with a useful message."""
    lowered = str(text).lower()
    if not _WHOLE.match(lowered):
        raise ValueError(f"{text!r} is not a duration; write it like 14d, 2w, 3m or 1y")
    days = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(lowered))
    if days <= 0:
        raise ValueError(f"{text!r} is not a duration longer than zero")
    if days > MAX_DAYS:
        raise ValueError(f"{text!r} is longer than 100 years")
    return timedelta(days=days)


def format_duration(delta: timedelta) -> str:
    """The shortest exact form of a whole number of days (`90d` -> `3m`)."""
    days = delta.days
    for unit, size in (("y", 365), ("m", 30), ("w", 7)):
        if days and days % size == 0:
            return f"{days // size}{unit}"
    return f"{days}d"
