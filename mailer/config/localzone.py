"""The system's time zone by its IANA name, for `mailer init`'s rules.timezone default.

The standard library has the zone data (zoneinfo) but not the local zone's
name, which the config needs (draft_at is local time, and an offset like +01:00
would be wrong half the year). The places tzlocal reads on Linux and macOS:
$TZ, the /etc/localtime link, /etc/timezone. Anything that does not name a
zone zoneinfo knows is passed over; "UTC" is the last resort.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo


def _known(name: str) -> bool:
    try:
        ZoneInfo(name)
    except Exception:  # not found, not a valid key, unreadable data: not a zone to offer
        return False
    return True


def _from_path(path: str) -> str:
    """ ".../zoneinfo/Europe/Berlin" -> "Europe/Berlin"; anything else as it is."""
    _, found, rest = path.rpartition("zoneinfo/")
    return rest if found else path


def system_timezone(environ: Mapping[str, str] | None = None, etc: Path = Path("/etc")) -> str:
    env = os.environ if environ is None else environ
    candidates = []
    tz = env.get("TZ", "").lstrip(":")  # "Europe/Berlin", ":Europe/Berlin" or a file path
    if tz:
        candidates.append(_from_path(tz))
    localtime = etc / "localtime"
    if localtime.is_symlink():
        candidates.append(_from_path(os.path.realpath(localtime)))
        candidates.append(_from_path(os.readlink(localtime)))
    with contextlib.suppress(OSError, UnicodeDecodeError):
        candidates.append((etc / "timezone").read_text(encoding="utf-8").strip())
    for name in candidates:
        if name and not name.startswith("/") and _known(name):
            return "UTC" if name in ("Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu") else name
    return "UTC"
