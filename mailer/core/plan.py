"""Who gets a draft today, and who else needs the owner: the plan (SPEC section 5).

The lanes (mailer.core.rules) say where each contact stands; this module
rations the drafts among those due now. Draft kinds due now, most overdue
first (whole days), the stronger tie first among equals; then rekindles,
strongest tie first, at most rekindle_per_week in any 7 days. The daily
maximum and weekends (local day in `timezone`) hold the others, each with
why. Then replies owed, then weed candidates, for the listings and the
digest. Keys are `kind:email:YYYY-MM-DD` (UTC date of the due time), so a
rerun derives the same key.

Pure: no I/O and no clock; `now` is an aware datetime.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from mailer.core.rules import DRAFT_KINDS, WEED_LANES, Judgement, judge_all, weed_kind
from mailer.core.ruleset import Rules
from mailer.core.times import date_text, stored_time, utc, zone
from mailer.model import Contact, DraftRecord

KINDS = (*DRAFT_KINDS, "reply_owed", "one_sided", "dormant")  # of plan items
HOLD_WEEKEND = "weekend (weekdays_only)"
HOLD_REPLY = "reply in the thread"

_WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Item:
    """One contact in the plan: what applies, why, and whether it is drafted now."""

    email: str
    name: str | None
    kind: str  # one of KINDS
    reason: str
    due_at: datetime | None  # None for the listing kinds
    overdue_days: int
    draft: bool
    hold: str | None
    key: str | None  # draft kinds only
    lane: str = "quiet"
    strength: int = 0


@dataclass(frozen=True)
class Plan:
    """Draft kinds (in the order they take places), then replies owed, then weed candidates."""

    now: datetime
    items: list[Item]
    drafts_today: int
    lanes: Mapping[str, Judgement] = field(default_factory=dict)  # everyone, by email

    @property
    def held(self) -> list[Item]:
        """Draft kinds that are due but not drafted now (weekend, daily maximum, ...)."""
        return [i for i in self.items if i.kind in DRAFT_KINDS and not i.draft]

    @property
    def to_draft(self) -> list[Item]:
        return [i for i in self.items if i.draft]

    @property
    def weed(self) -> list[Item]:
        return [i for i in self.items if i.lane in WEED_LANES]


def draft_email(key: str) -> tuple[str, str] | None:
    """(kind, email) of a draft key `kind:email:YYYY-MM-DD` of a draft kind, else None."""
    kind, _, rest = key.partition(":")
    email, _, day = rest.rpartition(":")
    if kind not in DRAFT_KINDS or not email or len(day) != 10:
        return None
    return kind, email


def plan(
    contacts: Iterable[Contact],
    drafts: Iterable[DraftRecord],
    rules: Rules,
    now: datetime,
    open_keys: Collection[str] = (),
) -> Plan:
    """Everyone something applies to now, in the order of the module docstring."""
    now = utc(now)
    drafts = list(drafts)
    lanes = judge_all(contacts, drafts, rules, now, open_keys)

    local = zone(rules.timezone)
    today = now.astimezone(local).date()
    day_start = datetime.combine(today, time(), tzinfo=local).astimezone(UTC)
    day_end = datetime.combine(today + timedelta(days=1), time(), tzinfo=local).astimezone(UTC)
    weekend = rules.weekdays_only and today.weekday() >= 5
    week_start = now - _WEEK

    drafts_today = rekindles_this_week = 0
    for d in drafts:
        if d.kind not in DRAFT_KINDS or d.error:
            continue  # the digest and introductions are the owner's asks, not rationed
        written = stored_time(d.written_at)
        if written is None:
            continue
        if day_start <= written < day_end:
            drafts_today += 1
        if d.kind == "rekindle" and week_start < written <= now:
            rekindles_this_week += 1

    due = [
        j
        for j in lanes.values()
        if j.due_at is not None and j.due_at <= now and j.lane in ("new", "due", "rekindle")
    ]
    strength = {j.email: j.strength for j in due}
    rekindle = sorted(
        (j for j in due if j.kind == "rekindle"), key=lambda j: (-strength[j.email], j.email)
    )
    regular = sorted(
        (j for j in due if j.kind != "rekindle"),
        key=lambda j: (-(now - j.due_at).days, -strength[j.email], j.email),  # type: ignore[operator]
    )

    items: list[Item] = []
    places = rules.max_drafts_per_day - drafts_today
    rekindles_left = rules.rekindle_per_week - rekindles_this_week
    full = f"daily maximum reached ({rules.max_drafts_per_day})"
    for j in (*regular, *rekindle):
        assert j.due_at is not None and j.kind is not None
        hold: str | None = None
        if j.waiting is not None:
            hold = f"your draft of {date_text(j.waiting)} still waits in Drafts"
        elif j.group_mail is not None:
            hold = f"you wrote to them and many others on {j.group_mail[:10]}"
        elif weekend:
            hold = HOLD_WEEKEND
        elif j.kind == "rekindle" and rekindles_left <= 0:
            hold = f"at most {rules.rekindle_per_week} rekindles a week (rules.rekindle_per_week)"
        elif places <= 0:
            hold = full
        if hold is None:
            places -= 1
            rekindles_left -= j.kind == "rekindle"
        key = f"{j.kind}:{j.email}:{date_text(j.due_at)}"
        overdue = (now - j.due_at).days
        items.append(
            Item(
                j.email,
                j.name,
                j.kind,
                j.reason,
                j.due_at,
                overdue,
                hold is None,
                hold,
                key,
                j.lane,
                strength[j.email],
            )
        )
    items.sort(key=lambda i: not i.draft)  # stable: those drafted now first, in their order

    owed = sorted((j for j in lanes.values() if j.lane == "owe_reply"), key=_by_since)
    for j in owed:
        waited_from = (stored_time(j.since) or now) + rules.reply_owed_after
        items.append(
            Item(
                j.email,
                j.name,
                "reply_owed",
                j.reason,
                waited_from,
                (now - waited_from).days,
                False,
                HOLD_REPLY,
                None,
                j.lane,
                j.strength,
            )
        )
    weeds = sorted(
        (j for j in lanes.values() if j.lane in WEED_LANES and not _drafting(j, now)),
        key=lambda j: (j.lane != "rekindle", *_by_since(j)),
    )
    for j in weeds:
        kind = weed_kind(j.lane)
        items.append(
            Item(j.email, j.name, kind, j.reason, None, 0, False, None, None, j.lane, j.strength)
        )
    return Plan(now=now, items=items, drafts_today=drafts_today, lanes=lanes)


def _drafting(j: Judgement, now: datetime) -> bool:
    return j.kind == "rekindle" and j.due_at is not None and j.due_at <= now


def _by_since(j: Judgement) -> tuple[str, str]:
    return (j.since or "", j.email)
