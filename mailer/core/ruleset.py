"""The `[rules]` settings as values, and what follows from them for one contact alone.

Everything here reads one contact and the settings, never the other contacts
nor the drafts: its cadence (own, tier's, or learned from its rhythm), its
jitter, and the tier to offer a new contact. The lanes (mailer.core.rules)
and the plan (mailer.core.plan) build on these.

Cadence: the contact's own, else its tier's; else, with enough history, the
rhythm: `rhythm_factor` times their usual gap (mailer.core.history), never
below `min_cadence` nor above the default; else the default.

Jitter: whole days from crc32 of the address (the same in every process)
spread contacts that fall due on the same day.

Pure: no I/O and no clock.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache

from mailer.core.durations import parse_duration
from mailer.model import Contact

DEFAULT_TIERS: Mapping[str, timedelta] = {
    "inner": timedelta(days=30),
    "network": timedelta(days=90),
    "loose": timedelta(days=180),
}

_ZERO = timedelta(0)


@dataclass(frozen=True)
class Rules:
    """The `[rules]` section, as values (durations already parsed)."""

    default_cadence: timedelta = timedelta(days=90)
    tiers: Mapping[str, timedelta] = field(default_factory=lambda: dict(DEFAULT_TIERS))
    max_drafts_per_day: int = 5
    weekdays_only: bool = True
    timezone: str = "UTC"
    seed_followup: timedelta = timedelta(days=14)
    seed_window: timedelta = timedelta(days=90)
    dormancy: timedelta = timedelta(days=365)
    one_sided_after: int = 3
    reply_owed_after: timedelta = timedelta(days=7)
    reply_owed_window: timedelta = timedelta(days=90)
    min_cadence: timedelta = timedelta(days=21)
    rhythm_factor: float = 3.0
    rekindle_per_week: int = 2
    jitter: timedelta = timedelta(days=3)
    established_messages: int = 2
    established_span: timedelta = timedelta(days=60)


@lru_cache(maxsize=256)
def delta_text(delta: timedelta) -> str:
    """`90d`, or `36h` for part of a day: a setting as a reason quotes it."""
    if delta % timedelta(days=1):
        return f"{int(delta.total_seconds() // 3600)}h"
    return f"{delta.days}d"


def about(days: float) -> str:
    """A duration as a person says it: "5 days", "3 weeks", "4 months", "2 years"."""
    if days < 13.5:
        n, unit = max(1, round(days)), "day"
    elif days < 88:
        n, unit = round(days / 7), "week"
    elif days < 700:
        n, unit = round(days / 30.44), "month"
    else:
        n, unit = round(days / 365.25), "year"
    return f"{n} {unit}" + ("" if n == 1 else "s")


@lru_cache(maxsize=1024)
def _own_cadence(text: str) -> timedelta | None:
    try:
        return parse_duration(text)
    except ValueError:
        return None


def _jitter_days(email: str, span: int) -> int:
    # crc32, not hash(): the same in every process (hash() is salted per process)
    return zlib.crc32(email.lower().encode()) % (span + 1)


def jitter_for(email: str, rules: Rules) -> timedelta:
    """Whole days in [0, rules.jitter.days], stable across runs and processes."""
    span = rules.jitter.days
    return _spreads(span)[_jitter_days(email, span)] if span > 0 else _ZERO


@lru_cache(maxsize=64)
def _spreads(span: int) -> tuple[timedelta, ...]:
    return tuple(timedelta(days=n) for n in range(max(span, 0) + 1))


def cadence_for(c: Contact, rules: Rules) -> tuple[timedelta, str]:
    """The cadence and where it came from, in words for the reason."""
    if c.cadence:
        own = _own_cadence(c.cadence)
        if own is not None:
            return own, "set for this contact"
    if c.tier:
        by_tier = rules.tiers.get(c.tier)
        if by_tier is not None:
            return by_tier, f"tier {c.tier}"
    if c.cadence:
        return rules.default_cadence, f"default; cadence {c.cadence!r} not understood"
    gap = c.gap_days if c.has_history else None
    if gap is None:
        return rules.default_cadence, "default"
    return _rhythm_words(gap, rules.rhythm_factor, rules.min_cadence, rules.default_cadence)


@lru_cache(maxsize=4096)
def _rhythm_words(
    gap: float, factor: float, low: timedelta, high: timedelta
) -> tuple[timedelta, str]:
    learned = timedelta(days=round(gap * factor))
    cadence = min(max(learned, low), high)
    bound = ""
    if cadence != learned:
        bound = (
            f", at least rules.min_cadence {delta_text(low)}"
            if cadence == low and learned < cadence
            else f", at most the default {delta_text(high)}"
        )
    return cadence, f"rhythm: {factor:g} x ~{about(gap)}{bound}"


def cadence_of(c: Contact, rules: Rules) -> timedelta:
    """`cadence_for` without the words (judged for every contact)."""
    if c.cadence or c.tier:
        return cadence_for(c, rules)[0]
    if not c.has_history or c.gap_days is None:
        return rules.default_cadence
    return _rhythm(c.gap_days, rules.rhythm_factor, rules.min_cadence, rules.default_cadence)


@lru_cache(maxsize=4096)
def _rhythm(gap: float, factor: float, low: timedelta, high: timedelta) -> timedelta:
    return min(max(timedelta(days=round(gap * factor)), low), high)


def suggested_tier(rules: Rules) -> str:
    """The tier to offer for a new contact: "network", else the one nearest the default cadence."""
    if not rules.tiers or "network" in rules.tiers:
        return "network"
    return min(
        rules.tiers, key=lambda t: (abs(rules.tiers[t] - rules.default_cadence), rules.tiers[t], t)
    )
