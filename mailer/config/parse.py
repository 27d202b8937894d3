"""Parsers of config values: each takes what TOML gave and returns the value or raises ValueError.

Apart from the key table (keys.py) so the table reads as a table. A
ValueError's text becomes the part after "path: " of the one-line config
error, so it says what was expected.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailer.core.durations import parse_duration


def string(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"expected a string, got {v!r}")
    return v


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def env_name(v: Any) -> str:
    # A password pasted here by mistake must not be echoed into an error line,
    # the daemon's log or `mailer status`: the message never shows the value.
    if not isinstance(v, str) or not _ENV_NAME.fullmatch(v):
        raise ValueError(
            "expected the name of an environment variable (letters, digits, _); "
            "the value is not shown, in case it is the password itself"
        )
    return v


def command(v: Any) -> str:
    # Like env_name: a number pasted here (a PIN, a password) is not echoed.
    if not isinstance(v, str):
        raise ValueError("expected a command line as a string; the value is not shown")
    return v


def integer(lo: int, hi: int) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise ValueError(f"expected a whole number from {lo} to {hi}, got {v!r}")
        return v

    return check


def number(lo: float, hi: float) -> Callable[[Any], float]:
    def check(v: Any) -> float:
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not lo <= v <= hi:
            raise ValueError(f"expected a number from {lo:g} to {hi:g}, got {v!r}")
        return float(v)

    return check


def boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"expected true or false, got {v!r}")
    return v


def choice(*options: str) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if v not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {v!r}")
        return str(v)

    return check


def str_list(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ValueError(f"expected a list of strings, got {v!r}")
    return tuple(v)


def addresses(v: Any) -> tuple[str, ...]:
    items = str_list(v)
    for a in items:
        if "@" not in a or " " in a.strip():
            raise ValueError(f"{a!r} is not an email address")
    return tuple(a.strip().lower() for a in items)


def address(v: Any) -> str:
    return addresses([v])[0]


def file_path(v: Any) -> Path:
    return Path(os.path.expandvars(string(v))).expanduser()


def duration(v: Any) -> timedelta:
    return parse_duration(string(v))


def duration_or_zero(v: Any) -> timedelta:
    if isinstance(v, str) and v.strip() in ("0", "0d"):
        return timedelta(0)
    return duration(v)


def durations(v: Any) -> dict[str, timedelta]:
    if not isinstance(v, dict):
        raise ValueError(f"expected a table of name = duration, got {v!r}")
    return {str(k): parse_duration(string(d)) for k, d in v.items()}


def pairs(v: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(v, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(t, str) and t.strip() for t in p)
        for p in v
    ):
        raise ValueError(f"expected a list of [tag, tag] pairs, got {v!r}")
    return tuple((p[0].strip().lower(), p[1].strip().lower()) for p in v)


def time_of_day(v: Any) -> str:
    s = string(v)
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", s)
    if not m:
        raise ValueError(f"expected a time like 08:30, got {v!r}")
    return f"{int(m[1]):02d}:{m[2]}"


def timezone(v: Any) -> str:
    s = string(v)
    try:
        ZoneInfo(s)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {s!r}; use a name like Europe/Berlin") from None
    return s
