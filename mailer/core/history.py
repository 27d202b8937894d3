"""A relationship's history: mail in and out per month, and what it says.

Why months: they are enough to learn a tie's rhythm and strength, they add up
in any order (a rescan, folders read out of date order, a merge of two
addresses all give the same counts), and they stay small: at most
`MAX_MONTHS` months with mail are kept, the newest ones. Keeping "the newest
N months that have mail" is itself order-independent: a month dropped once
had N newer months then, and still has them.

Stored form: one string per contact, `"2024-03:2:1 2024-05:0:3"` (month, in,
out; ascending). A string is one object for the JSON decoder, so loading
10,000 contacts does not pay for 600,000 small lists; only the writers (the
scan's fold, merge, rebuild) and `contacts show` ever parse it.

What it says, computed when the history changes and stored beside it, so that
judging 10,000 contacts never parses a history:
- `gap_days`, the usual gap between exchanges: over the last `RHYTHM_MONTHS`
  months with mail, the days from the first to the last of them divided by the
  number of messages (each month counted at most `BURST` times, so one busy
  thread is not taken for a rhythm). None with too little history (fewer than
  `MIN_MONTHS` months with mail, or mail only one way): the default cadence
  applies then. It ends at the last month with mail, not at `now`: a long
  silence must not stretch the rhythm it is judged against (Navarro et al.,
  EPJ Data Science 2017: silence is telling relative to a tie's own gap).
- the weight: messages decayed with a half-life of `HALF_LIFE_DAYS`, in and out
  apart, as of the last month with mail; `strength` decays it on to `now`
  (exponential decay makes that exact). Outbound mail weighs more than inbound
  and two-way ties more than one-way ones, after the interaction rank of
  Roth et al., KDD 2010.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache

__all__ = [
    "Summary",
    "add",
    "counts",
    "dump",
    "load",
    "merge",
    "month_of",
    "sparkline",
    "strength",
    "summarize",
    "weighed",
]

MAX_MONTHS = 120  # ten years of months with mail
RHYTHM_MONTHS = 24  # the rhythm is learned from this many of the newest months with mail
MIN_MONTHS = 3  # fewer months with mail: too little history for a rhythm
BURST = 8  # a month counts at most this many messages towards the rhythm
HALF_LIFE_DAYS = 180.0
MONTH_DAYS = 30.44
OUT_WEIGHT = 1.0  # the owner's own mail says more about a tie than what arrives
IN_WEIGHT = 0.6
SCALE = 6.0  # decayed weight of about 6 messages = strength 63 (before reciprocity)
BARS = "▁▂▃▄▅▆▇█"
NONE_BAR = "·"

Months = dict[str, tuple[int, int]]  # "YYYY-MM" -> (in, out)


@dataclass(frozen=True, slots=True)
class Summary:
    """What the history says, stored with the contact (see the module docstring)."""

    gap_days: float | None
    weight_at: str | None  # the month the weights are taken at ("YYYY-MM")
    weight_in: float
    weight_out: float


EMPTY = Summary(None, None, 0.0, 0.0)


def month_of(when: datetime) -> str:
    return f"{when.year:04d}-{when.month:02d}"


_WELL_FORMED = re.compile(r"[0-9]{4}-[0-9]{2}:[0-9]+:[0-9]+(?: [0-9]{4}-[0-9]{2}:[0-9]+:[0-9]+)*")


def load(text: str | None) -> Months:
    """The stored string as a dict; damaged entries are dropped, never fatal."""
    if not text:
        return {}
    # The fast path (per contact on every scan batch): what mailer itself wrote,
    # checked by one regex in C.
    if _WELL_FORMED.fullmatch(text):
        parts = text.replace(":", " ").split()
        keys = parts[0::3]
        if len(set(keys)) == len(keys):
            ins, outs = map(int, parts[1::3]), map(int, parts[2::3])
            return dict(zip(keys, zip(ins, outs, strict=True), strict=True))
    return _load_carefully(text)


def _load_carefully(text: str) -> Months:
    months: Months = {}
    for entry in text.split():
        parts = entry.split(":")
        if len(parts) != 3 or len(parts[0]) != 7 or parts[0][4] != "-":
            continue
        if not (parts[0][:4].isdigit() and parts[0][5:].isdigit()):
            continue
        try:
            n_in, n_out = int(parts[1]), int(parts[2])
        except ValueError:
            continue
        if n_in < 0 or n_out < 0:
            continue
        old = months.get(parts[0], (0, 0))
        months[parts[0]] = (old[0] + n_in, old[1] + n_out)
    return months


def _kept(months: Mapping[str, tuple[int, int]]) -> list[str]:
    """The months kept: with mail, ascending, the newest MAX_MONTHS."""
    return sorted(m for m, (i, o) in months.items() if i or o)[-MAX_MONTHS:]


def dump(months: Mapping[str, tuple[int, int]]) -> str:
    """The stored string: ascending, without empty months, at most MAX_MONTHS of them."""
    return " ".join(f"{m}:{months[m][0]}:{months[m][1]}" for m in _kept(months))


def add(text: str | None, more: Mapping[str, tuple[int, int]]) -> str:
    """`text` with the counts of `more` added (any order of adding gives the same string)."""
    return merge(text, more)[0]


def merge(text: str | None, more: Mapping[str, tuple[int, int]]) -> tuple[str, Summary]:
    """`add`, and the summary of the result: one reading of the history (the scan's path)."""
    months = load(text)
    for m, (i, o) in more.items():
        old = months.get(m)
        months[m] = (old[0] + i, old[1] + o) if old else (i, o)
    keep = _kept(months)
    text = " ".join(f"{m}:{months[m][0]}:{months[m][1]}" for m in keep)
    return text, _summary(months, keep)


def counts(when_directions: Iterable[tuple[datetime, str]]) -> Months:
    """Per-month counts of (time, "in"|"out") pairs."""
    months: dict[str, list[int]] = {}
    for when, direction in when_directions:
        row = months.setdefault(month_of(when), [0, 0])
        row[0 if direction == "in" else 1] += 1
    return {m: (r[0], r[1]) for m, r in months.items()}


@cache
def _index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


@cache
def _month_decay(months_back: int) -> float:
    return float(0.5 ** (months_back * MONTH_DAYS / HALF_LIFE_DAYS))


def summarize(text: str | None) -> Summary:
    """Rhythm and weights of a stored history (see the module docstring)."""
    months = load(text)
    return _summary(months, _kept(months))


def _summary(months: Mapping[str, tuple[int, int]], ordered: list[str]) -> Summary:
    if not ordered:
        return EMPTY
    last = ordered[-1]
    end = _index(last)
    first_recent = max(0, len(ordered) - RHYTHM_MONTHS)
    w_in = w_out = 0.0
    messages = 0
    got_in = got_out = False
    for k, m in enumerate(ordered):  # one pass: this runs per contact on every scan batch
        n_in, n_out = months[m]
        decay = _month_decay(end - _index(m))
        w_in += n_in * decay
        w_out += n_out * decay
        if k >= first_recent:
            messages += min(n_in + n_out, BURST)
            got_in = got_in or n_in > 0
            got_out = got_out or n_out > 0
    gap: float | None = None
    if len(ordered) - first_recent >= MIN_MONTHS and got_in and got_out:
        span = (end - _index(ordered[first_recent]) + 1) * MONTH_DAYS
        gap = round(span / messages, 1)
    return Summary(gap, last, round(w_in, 4), round(w_out, 4))


def strength(summary: Summary, now: datetime) -> int:
    """0-100: more for recent, frequent, two-way mail; decayed on to `now`."""
    return weighed(summary.weight_at, summary.weight_in, summary.weight_out, now.toordinal())


def weighed(weight_at: str | None, weight_in: float, weight_out: float, day: int) -> int:
    """`strength` of the stored weights on day `day` (an ordinal): per contact in listings."""
    if weight_at is None:
        return 0
    decay = _decay(weight_at, day)
    w_in, w_out = weight_in * decay, weight_out * decay
    total = IN_WEIGHT * w_in + OUT_WEIGHT * w_out
    if total <= 0:
        return 0
    reciprocity = 2 * (w_in if w_in < w_out else w_out) / (w_in + w_out)
    score = (1 - math.exp(-total / SCALE)) * (0.4 + 0.6 * reciprocity)
    return round(100 * score)  # in [0, 100] by construction


@lru_cache(maxsize=4096)
def _decay(weight_at: str, today: int) -> float:
    """How much a weight taken in month `weight_at` is left of on day `today` (an
    ordinal: whole days, so a listing stays the same all day). Few distinct months:
    worked out once each."""
    try:  # the weights are taken at the middle of their month
        at = date(int(weight_at[:4]), int(weight_at[5:7]), 15).toordinal()
    except ValueError:
        return 0.0  # a damaged value: no strength, never a stopped plan
    return float(0.5 ** (max(today - at, 0) / HALF_LIFE_DAYS))


def sparkline(text: str | None, now: datetime, span: int = 24) -> str:
    """Mail per month (both ways) over the last `span` months up to `now`'s, as one line."""
    months = load(text)
    end = _index(month_of(now))
    totals = []
    for i in range(end - span + 1, end + 1):
        key = f"{i // 12:04d}-{i % 12 + 1:02d}"
        totals.append(sum(months.get(key, (0, 0))))
    top = max(totals)
    if top == 0:
        return NONE_BAR * span
    bars = []
    for n in totals:
        if n == 0:
            bars.append(NONE_BAR)
        else:
            bars.append(BARS[min(len(BARS) - 1, (n * len(BARS) - 1) // top)])
    return "".join(bars)
