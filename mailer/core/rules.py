"""Who is due for a draft now, and why: the time-based rules of SPEC section 5.

Pure: no I/O and no clock. `now` is an argument (an aware datetime, used as
UTC), so `MAILER_NOW` can ask "what happens on that day" and a test can pin
any moment. The same contacts, drafts, rules and `now` always give the same
plan.

Effective status (`effective_status`)
- Stored "weeded", "ignored" and "dormant" are the owner's word and are kept.
- Otherwise a contact is "active" when stored "active", when it has a tier or
  tags (the owner triaged it), or when it is *established*: at least
  `established_messages` each way over at least `established_span` between
  first seen and last contact. Anyone else is a "seed".
- An active contact with no exchange for `dormancy` is "dormant".

Kinds of item in a `Plan`
- "reconnect" (a draft kind): active, not snoozed (`snoozed_until > now`),
  not one-sided. Due at base + cadence + jitter, where base is the later of
  the last contact and the newest reconnect/seed draft written for the
  contact. Counting the draft means a draft written, and perhaps deleted
  unsent, keeps the contact quiet for one more cadence; a sent draft comes
  back as outbound mail and moves the last contact anyway.
- "seed" (a draft kind): a two-way seed (at least one message each way, the
  owner's the last: when theirs is, a reply is owed instead), first seen
  within `seed_window` (new), not snoozed, and no seed draft ever written for
  it (one follow-up per new contact). Due at last contact + `seed_followup` +
  jitter.
- "reply_owed": their message is newer than ours (and than any exchange the
  owner logged by command: `log`, `done`) and has waited
  `reply_owed_after`. Never drafted (the answer belongs in their thread);
  listed for the digest.
- "dormant" and "one_sided": weed candidates, never drafted. One-sided means
  at least `one_sided_after` outbound messages since their last inbound one;
  such a contact gets no reconnect draft, since another unanswered mail helps
  no one.
- Weeded and ignored contacts never appear. Seeds that are neither new nor
  established appear nowhere (not even as reply owed): they wait for triage.

Seeds to triage (`seeds_to_triage`, for the digest and `mailer seed`): rule
status "seed", at least one message each way, first seen within
`seed_window`; newest first.

Cadence: the contact's own cadence, else its tier's, else the default. A
stored cadence that does not parse falls back (and the reason says so) rather
than stopping the plan for everyone.

Jitter spreads contacts whose due date falls on the same day over a few days,
so one busy week in the past does not become one busy day of drafts. It is
whole days from blake2b of the address, hence the same in every process and
every run (Python's `hash()` is salted per process).

Keys are `kind:email:YYYY-MM-DD` with the UTC date of `due_at`: a rerun, or a
store rebuilt from the same mailbox, derives the same key, and changing the
configured time zone does not re-key drafts. Dates in reasons are UTC too.

Daily maximum and weekends use the local date in `rules.timezone`: drafts
of the kinds the rules make (reconnect, seed) already written today count
against the maximum (the digest and introductions, which the owner asks
for, do not); with
`weekdays_only` nothing is drafted on a local Saturday or Sunday. Draft kinds
are ordered most overdue first (whole days; ties by email) and take the
remaining places in that order; the others carry a `hold` saying why not.

Speed: one pass over the drafts (grouped by email), one over the contacts,
each date parsed once, and the local day turned into a UTC range once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from mailer.core.durations import parse_duration
from mailer.model import Contact, DraftRecord, iso

DRAFT_KINDS = ("reconnect", "seed")
KINDS = ("reconnect", "seed", "reply_owed", "dormant", "one_sided")
HOLD_WEEKEND = "weekend (weekdays_only)"
HOLD_REPLY = "reply in the thread"

_KEPT = frozenset({"weeded", "ignored", "dormant"})
_HIDDEN = frozenset({"weeded", "ignored"})
_OLDEST = datetime.min.replace(tzinfo=UTC)
_ZERO = timedelta(0)


@dataclass(frozen=True)
class Rules:
    """The `[rules]` section, as values (durations already parsed)."""

    default_cadence: timedelta = timedelta(days=90)
    tiers: Mapping[str, timedelta] = field(default_factory=dict)
    max_drafts_per_day: int = 5
    weekdays_only: bool = True
    timezone: str = "UTC"
    seed_followup: timedelta = timedelta(days=14)
    seed_window: timedelta = timedelta(days=90)
    dormancy: timedelta = timedelta(days=365)
    one_sided_after: int = 3
    reply_owed_after: timedelta = timedelta(days=7)
    jitter: timedelta = timedelta(days=3)
    established_messages: int = 2
    established_span: timedelta = timedelta(days=60)


@dataclass(frozen=True, slots=True)
class Item:
    """One contact in the plan: what applies, why, and whether it is drafted now."""

    email: str
    name: str | None
    kind: str  # "reconnect" | "seed" | "reply_owed" | "dormant" | "one_sided"
    reason: str
    due_at: datetime | None  # None for weed kinds
    overdue_days: int
    draft: bool
    hold: str | None
    key: str | None  # draft kinds only


@dataclass(frozen=True)
class Plan:
    """Draft kinds (most overdue first), then reply owed, then weed candidates."""

    now: datetime
    items: list[Item]
    drafts_today: int

    @property
    def held(self) -> list[Item]:
        """Draft kinds that are due but not drafted now (weekend, daily maximum)."""
        return [i for i in self.items if i.kind in DRAFT_KINDS and not i.draft]

    @property
    def to_draft(self) -> list[Item]:
        return [i for i in self.items if i.draft]


# --- small helpers -------------------------------------------------------------


def _dt(text: str | None) -> datetime | None:
    """Parse a stored timestamp as UTC; a damaged value counts as absent."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None  # one bad record must not stop the plan for everyone else
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt if dt.tzinfo is UTC else dt.astimezone(UTC)


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now.astimezone(UTC)


def _zone(name: str) -> tzinfo:
    return UTC if name.upper() in ("UTC", "Z") else ZoneInfo(name)


@lru_cache(maxsize=256)
def _fmt(delta: timedelta) -> str:
    if delta % timedelta(days=1):
        return f"{int(delta.total_seconds() // 3600)}h"
    return f"{delta.days}d"


@lru_cache(maxsize=1024)
def _own_cadence(text: str) -> timedelta | None:
    try:
        return parse_duration(text)
    except ValueError:
        return None


def _cadence(c: Contact, rules: Rules) -> tuple[timedelta, str]:
    """The cadence and where it came from, for the reason."""
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
    return rules.default_cadence, "default"


def cadence_for(c: Contact, rules: Rules) -> timedelta:
    """The contact's own cadence, else its tier's, else the default."""
    return _cadence(c, rules)[0]


def _jitter_days(email: str, span: int) -> int:
    digest = hashlib.blake2b(email.lower().encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % (span + 1)


def jitter_for(email: str, rules: Rules) -> timedelta:
    """Whole days in [0, rules.jitter.days], stable across runs and processes."""
    span = rules.jitter.days
    return timedelta(days=_jitter_days(email, span)) if span > 0 else timedelta(0)


@lru_cache(maxsize=64)
def _spreads(span: int) -> tuple[timedelta, ...]:
    return tuple(timedelta(days=n) for n in range(max(span, 0) + 1))


def _jitter(email: str, rules: Rules) -> timedelta:
    """`jitter_for`, without building a timedelta per contact."""
    span = rules.jitter.days
    return _spreads(span)[_jitter_days(email, span)] if span > 0 else _ZERO


def _established(c: Contact, last: datetime | None, first: datetime | None, rules: Rules) -> bool:
    n = rules.established_messages
    return (
        c.messages_in >= n
        and c.messages_out >= n
        and last is not None
        and first is not None
        and last - first >= rules.established_span
    )


def _status(
    c: Contact, last: datetime | None, first: datetime | None, rules: Rules, now: datetime
) -> str:
    stored = c.status
    if stored in _KEPT:
        return stored
    if not (stored == "active" or c.tier or c.tags or _established(c, last, first, rules)):
        return "seed"
    if last is not None and now - last >= rules.dormancy:
        return "dormant"
    return "active"


def _last(li: datetime | None, lo: datetime | None) -> datetime | None:
    if lo is None:
        return li
    if li is None:
        return lo
    return li if li >= lo else lo


def _one_sided(c: Contact, rules: Rules) -> bool:
    # too few recent outbound times cannot add up: skip counting them (most contacts)
    n = rules.one_sided_after
    return len(c.recent_out) >= n and c.outbound_unanswered >= n


def effective_status(c: Contact, rules: Rules, now: datetime) -> str:
    """seed | active | dormant | weeded | ignored, as the rules see the contact now."""
    last = _last(_last(_dt(c.last_inbound), _dt(c.last_outbound)), _dt(c.last_logged))
    return _status(c, last, _dt(c.first_seen), rules, _utc(now))


# A draft kind that applies: kind, due time before the jitter, the interval
# (cadence or seed follow-up) and where a cadence came from. A plain tuple: this
# is built for thousands of contacts per plan.
_Pending = tuple[str, datetime, timedelta, str]
_Dates = tuple[datetime | None, datetime | None]  # last contact, first seen


def _pending(
    c: Contact,
    status: str,
    last: datetime | None,
    first: datetime | None,
    newest_draft: datetime | None,
    seeded: bool,
    rules: Rules,
    now: datetime,
) -> _Pending | None:
    """The draft kind that applies, before jitter, snooze and `now >= due`."""
    if status == "active":
        if _one_sided(c, rules):
            return None
        base = _last(last, newest_draft)
        if base is None:
            return None  # triaged but never written to: nothing to reconnect from
        cadence, source = _cadence(c, rules)
        return "reconnect", base + cadence, cadence, source
    if (
        status == "seed"
        and c.messages_in >= 1
        and c.last_outbound is not None
        # else a reply is owed, not a follow-up
        and max(c.last_outbound, c.last_logged or "") >= (c.last_inbound or "")
        and not seeded
        and first is not None
        and last is not None
        and first >= now - rules.seed_window
    ):
        return "seed", last + rules.seed_followup, rules.seed_followup, ""
    return None


def _date(when: datetime) -> str:
    return when.date().isoformat()


def _reason(
    pending: _Pending,
    spread: timedelta,
    last: datetime | None,
    first: datetime | None,
    newest_draft: datetime | None,
    now: datetime,
) -> str:
    kind, _, interval, source = pending
    jitter = f" + {spread.days}d spread" if spread else ""
    if kind == "seed":
        assert first is not None and last is not None
        return (
            f"new contact since {_date(first)}; last exchange {_date(last)} "
            f"({(now - last).days} days ago); follow-up after {_fmt(interval)}{jitter}"
        )
    if last is None:
        said = "no mail exchanged"
    else:
        said = f"last contact {_date(last)} ({(now - last).days} days ago)"
    if newest_draft is not None and (last is None or newest_draft > last):
        said += f"; last draft {_date(newest_draft)}"
    return f"{said}; cadence {_fmt(interval)} ({source}){jitter}"


# --- the plan ------------------------------------------------------------------


def plan(
    contacts: Iterable[Contact], drafts: Iterable[DraftRecord], rules: Rules, now: datetime
) -> Plan:
    """Everyone something applies to now, in the order of the module docstring."""
    now = _utc(now)
    zone = _zone(rules.timezone)
    today = now.astimezone(zone).date()
    day_start = datetime.combine(today, time(), tzinfo=zone).astimezone(UTC)
    day_end = datetime.combine(today + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    weekend = rules.weekdays_only and today.weekday() >= 5

    drafts_today = 0
    newest: dict[str, datetime] = {}
    seeded: set[str] = set()
    for d in drafts:
        kind = d.kind
        if kind not in DRAFT_KINDS:
            continue  # the digest and introductions: asked for by the owner, not rationed
        if kind == "seed":
            seeded.add(d.email)
        written = _dt(d.written_at)
        if written is None:
            continue
        if day_start <= written < day_end:
            drafts_today += 1
        prev = newest.get(d.email)
        if prev is None or written > prev:
            newest[d.email] = written

    due: list[tuple[int, str, _Pending, timedelta, datetime, Contact, _Dates]] = []
    owed: list[tuple[datetime, str, Contact]] = []
    dormant: list[tuple[datetime, str, Contact, datetime | None]] = []
    one_sided: list[tuple[int, str, Contact, datetime | None]] = []
    owed_before = now - rules.reply_owed_after  # their message at or before this waited enough
    window_start = now - rules.seed_window

    for c in contacts:
        if c.status in _HIDDEN:
            continue
        email = c.email
        li = _dt(c.last_inbound)
        lo = _dt(c.last_outbound)
        lg = _dt(c.last_logged) if c.last_logged else None
        answered = _last(lo, lg)  # by mail, or in a way the owner logged
        last = _last(li, answered)
        first = _dt(c.first_seen)
        status = _status(c, last, first, rules, now)

        pending = _pending(c, status, last, first, newest.get(email), email in seeded, rules, now)
        if pending is not None:
            # jitter is never negative: the hash is needed only once the unjittered time passed
            if now >= pending[1]:
                spread = _jitter(email, rules)
                due_at = pending[1] + spread
                if now >= due_at:
                    snooze = _dt(c.snoozed_until)
                    if snooze is None or snooze <= now:
                        dates = (last, first)
                        due.append((-(now - due_at).days, email, pending, spread, due_at, c, dates))
        elif status == "dormant":
            dormant.append((last or _OLDEST, email, c, last))
        elif status == "active" and _one_sided(c, rules):
            one_sided.append((-c.outbound_unanswered, email, c, li))

        if (
            li is not None
            and li <= owed_before
            and (answered is None or li > answered)
            and (status != "seed" or (first is not None and first >= window_start))
        ):
            owed.append((li, email, c))

    due.sort(key=lambda row: (row[0], row[1]))
    owed.sort(key=lambda row: (row[0], row[1]))
    dormant.sort(key=lambda row: (row[0], row[1]))
    one_sided.sort(key=lambda row: (row[0], row[1]))

    items: list[Item] = []
    places = rules.max_drafts_per_day - drafts_today
    full = f"daily maximum reached ({rules.max_drafts_per_day})"
    for neg_overdue, email, pending, spread, due_at, c, (last, first) in due:
        if weekend:
            draft, hold = False, HOLD_WEEKEND
        elif places > 0:
            draft, hold = True, None
            places -= 1
        else:
            draft, hold = False, full
        reason = _reason(pending, spread, last, first, newest.get(email), now)
        kind = pending[0]
        key = f"{kind}:{email}:{_date(due_at)}"
        items.append(Item(email, c.name, kind, reason, due_at, -neg_overdue, draft, hold, key))

    for li, email, c in owed:
        waited = (now - li).days
        reason = f"their message of {_date(li)} has waited {waited} days for a reply"
        due_at = li + rules.reply_owed_after
        overdue = (now - due_at).days
        items.append(
            Item(email, c.name, "reply_owed", reason, due_at, overdue, False, HOLD_REPLY, None)
        )

    for _, email, c, last in dormant:
        if last is None:
            reason = "marked dormant; no exchange on record"
        else:
            marked = "marked dormant; " if c.status == "dormant" else ""
            reason = (
                f"{marked}no exchange since {_date(last)} ({(now - last).days} days ago); "
                f"dormancy {_fmt(rules.dormancy)}"
            )
        items.append(Item(email, c.name, "dormant", reason, None, 0, False, None, None))

    for neg_unanswered, email, c, li in one_sided:
        since = f"since their last on {_date(li)}" if li else "and none from them"
        reason = f"{-neg_unanswered} messages to them unanswered {since}"
        items.append(Item(email, c.name, "one_sided", reason, None, 0, False, None, None))

    return Plan(now=now, items=items, drafts_today=drafts_today)


def next_due(
    c: Contact, drafts_for_contact: list[DraftRecord], rules: Rules, now: datetime
) -> datetime | None:
    """When a draft kind next becomes due for `c`, if nothing else changes.

    Equals the item's `due_at` in `plan` when the contact is due now. While
    snoozed it is the later of that and the snooze's end. None when no draft
    kind applies, or when the contact would stop qualifying before its due
    time (a seed no longer new, an active contact gone dormant).
    """
    return status_and_next_due(c, drafts_for_contact, rules, now)[1]


def status_and_next_due(
    c: Contact, drafts_for_contact: list[DraftRecord], rules: Rules, now: datetime
) -> tuple[str, datetime | None]:
    """`effective_status` and `next_due` together, parsing the dates once (listings)."""
    now = _utc(now)
    last = _last(_last(_dt(c.last_inbound), _dt(c.last_outbound)), _dt(c.last_logged))
    first = _dt(c.first_seen)
    status = _status(c, last, first, rules, now)
    if c.status in _HIDDEN:
        return status, None
    drafted: datetime | None = None
    seeded = False
    for d in drafts_for_contact:
        if d.email != c.email or d.kind not in DRAFT_KINDS:
            continue
        seeded = seeded or d.kind == "seed"
        written = _dt(d.written_at)
        if written is not None and (drafted is None or written > drafted):
            drafted = written
    found = _pending(c, status, last, first, drafted, seeded, rules, now)
    if found is None:
        return status, None
    kind, when = found[0], found[1] + _jitter(c.email, rules)
    snooze = _dt(c.snoozed_until)
    if snooze is not None and snooze > now and snooze > when:
        when = snooze  # nothing is drafted before the snooze ends
    if kind == "seed":
        assert first is not None
        if when > first + rules.seed_window:
            return status, None
    elif last is not None and when - last >= rules.dormancy:
        return status, None
    return status, when


# --- triage --------------------------------------------------------------------


def seeds_to_triage(contacts: Iterable[Contact], rules: Rules, now: datetime) -> list[Contact]:
    """New two-way contacts waiting for triage, newest first (by first seen, then email).

    Rule status "seed", at least one message each way, first seen within
    `seed_window`. The digest's "new contacts" and `mailer seed` both list these.
    """
    now = _utc(now)
    window = iso(now - rules.seed_window) or ""
    seeds = [
        c
        for c in contacts
        # the cheap tests first: effective_status parses dates
        if c.messages_in >= 1
        and c.messages_out >= 1
        and (c.first_seen or "") >= window
        and c.status not in ("weeded", "ignored", "dormant", "active")
        and not c.tier
        and not c.tags
        and effective_status(c, rules, now) == "seed"
    ]
    seeds.sort(key=lambda c: (c.first_seen or "", c.email), reverse=True)
    return seeds


def suggested_tier(rules: Rules) -> str:
    """The tier to offer for a new contact: "network", else the one nearest the default cadence."""
    if not rules.tiers or "network" in rules.tiers:
        return "network"
    return min(
        rules.tiers, key=lambda t: (abs(rules.tiers[t] - rules.default_cadence), rules.tiers[t], t)
    )
