"""Which contacts `contacts list` shows, and in what order: filters, sort, limit.

Pure, on the rows the list prints (SPEC section 4 objects with the rules'
`lane`, `next_due`, ...), so the CLI only parses options and the dashboard or
a test can ask the same question without a store.

Sorting is ascending (A to Z, oldest first, smallest first) with `reverse`
for descending; a row without the field (no name, never due) goes last either
way, and ties fall back to the address, so the order is the same every time.
Without a sort field the order is the list's own: most recent contact first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mailer.model import LANES

# `messages` is in and out together; the others are the row's own keys.
SORT_FIELDS = (
    "name",
    "email",
    "last_contact",
    "next_due",
    "first_seen",
    "strength",
    "messages",
    "trust",
    "tier",
)
NEEDS_DETAIL = frozenset({"strength"})  # fields only a detailed row carries


@dataclass(frozen=True)
class Query:
    """What `contacts list` was asked for; every field optional."""

    status: str | None = None
    lane: str | None = None
    tier: str | None = None
    tags: tuple[str, ...] = ()  # all of them
    search: str | None = None  # case-insensitive, over name, email, aliases, tags, notes
    sort: str | None = None  # one of SORT_FIELDS; None: most recent contact first
    reverse: bool = False
    limit: int | None = None

    @property
    def filters(self) -> bool:
        """Whether any filter is set (`matches` reads these and only these)."""
        return bool(self.status or self.lane or self.tier or self.tags or self.search)

    def __post_init__(self) -> None:
        if self.sort is not None and self.sort not in SORT_FIELDS:
            raise ValueError(f"cannot sort by {self.sort!r} (one of {', '.join(SORT_FIELDS)})")
        if self.limit is not None and self.limit < 0:
            raise ValueError("the limit is a number of rows, 0 or more")


def _sort_value(row: dict[str, Any], field: str) -> Any:
    if field == "messages":
        return (row.get("messages_in") or 0) + (row.get("messages_out") or 0)
    value = row.get(field)
    if isinstance(value, str):
        return value.casefold()
    return value


def _haystack(row: dict[str, Any]) -> str:
    parts = [row.get("name") or "", row.get("email") or "", row.get("notes") or ""]
    parts += list(row.get("aliases") or ()) + list(row.get("tags") or ())
    return "\n".join(parts).casefold()


def matches(row: dict[str, Any], query: Query) -> bool:
    """Whether one row passes every filter of `query`."""
    if query.status and row.get("status") != query.status:
        return False
    if query.lane and row.get("lane") != query.lane:
        return False
    if query.tier and (row.get("tier") or "").casefold() != query.tier.casefold():
        return False
    if query.tags:
        have = {t.casefold() for t in row.get("tags") or ()}
        if not all(t.casefold() in have for t in query.tags):
            return False
    return not (query.search and query.search.casefold() not in _haystack(row))


def select(rows: Iterable[dict[str, Any]], query: Query) -> list[dict[str, Any]]:
    """The rows `query` asks for, in its order, at most `query.limit` of them."""
    kept = [r for r in rows if matches(r, query)] if query.filters else list(rows)
    if query.sort is None:
        # Two stable sorts, each on one string, instead of one on a pair: the rows come
        # sorted by address, so the first costs next to nothing.
        kept.sort(key=lambda r: r.get("email") or "", reverse=True)
        kept.sort(key=lambda r: r.get("last_contact") or "", reverse=True)
        if query.reverse:
            kept.reverse()
    else:
        kept = sort_rows(kept, query.sort, reverse=query.reverse)
    return kept if query.limit is None else kept[: query.limit]


def sort_rows(
    rows: Sequence[dict[str, Any]], field: str, *, reverse: bool = False
) -> list[dict[str, Any]]:
    """`rows` by `field` (ties by address); rows without the field last, either way."""
    present = [r for r in rows if _sort_value(r, field) is not None]
    absent = [r for r in rows if _sort_value(r, field) is None]
    present.sort(key=lambda r: r.get("email") or "")  # stable: ties keep address order
    present.sort(key=lambda r: _sort_value(r, field), reverse=reverse)
    absent.sort(key=lambda r: r.get("email") or "")
    return present + absent


NO_TIER = "-"  # the row of contacts without a tier


def lanes_by_tier(
    tier_and_lane: Iterable[tuple[str | None, str]], tiers: Sequence[str] = ()
) -> dict[str, dict[str, int]]:
    """Contacts per tier and lane, as `mailer status` and the dashboard show them:
    lanes in contract order, the `tiers` given in their order, other tiers by
    name, contacts without a tier (NO_TIER) last."""
    pairs = Counter((tier or NO_TIER, lane) for tier, lane in tier_and_lane)
    counts: dict[str, dict[str, int]] = {}
    for (tier, lane), n in pairs.items():
        counts.setdefault(tier, {})[lane] = n
    rank = {t: i for i, t in enumerate(tiers)}
    order = sorted(counts, key=lambda t: (t == NO_TIER, rank.get(t, len(rank)), t))
    return {t: {k: counts[t][k] for k in LANES if k in counts[t]} for t in order}


__all__ = [
    "NEEDS_DETAIL",
    "NO_TIER",
    "SORT_FIELDS",
    "Query",
    "lanes_by_tier",
    "matches",
    "select",
    "sort_rows",
]
