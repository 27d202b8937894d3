"""Where each contact stands, and who gets a draft now: SPEC section 5.

One function, `judge`, puts a contact in exactly one *lane*, by this
precedence (the first that applies wins):

    pruned        weeded or ignored by the owner
    inbound_only  they wrote, the owner never did (nor logged an exchange):
                  not a relationship; hidden from default lists
    owe_reply     their message is the newest and has waited at least
                  reply_owed_after, at most reply_owed_window: listed
    snoozed       snoozed_until is after now
    one_sided     one_sided_after messages from the owner unanswered: weed candidate
    new           an untriaged two-way seed first seen within seed_window:
                  triage, and one follow-up draft (kind "seed")
    due           the cadence has passed: a reconnect draft
    rekindle      no exchange for `dormancy`, but a real two-way tie (triaged,
                  or established): a rekindle draft, and a weed candidate
    quiet         nothing to do

Only `new` (its follow-up), `due` and `rekindle` are ever drafted, and never
while a message of theirs younger than reply_owed_window waits for an answer.
Everything else (`mailer due`, the digest, `seed`, `weed`, introductions,
listings) reads lanes from here; none of it re-derives "snoozed", "active" or
"weed candidate".

Cadence: the contact's own, else its tier's; else, with enough history, the
rhythm: `rhythm_factor` times their usual gap (mailer.core.history), never
below `min_cadence` nor above the default; else the default. A cadence is
counted from the later of the last exchange and the newest draft written (a
draft deleted unsent keeps the contact quiet for one cycle). While a draft
still waits in Drafts and nothing was exchanged since, no second one is
written (the edge says which keys are in Drafts: `open_keys`); nor within
`min_cadence` of a group mail to them (more recipients than a personal mail
has: it counts for no one's history, but it was contact).

Status (the contract's seed|active|dormant|weeded|ignored) is derived too:
weeded/ignored as stored; dormant for the rekindle lane or when the owner
said so; seed for an untriaged contact that is not established (at least
`established_messages` each way over `established_span`); else active.

The plan: draft kinds due now, most overdue first (whole days), the stronger
tie first among equals; then rekindles, strongest tie first, at most
rekindle_per_week in any 7 days. The daily maximum and weekends (local day
in `timezone`) hold the others, each with why. Jitter (whole days
from crc32 of the address, the same in every process) spreads contacts
that fall due on the same day. Keys are `kind:email:YYYY-MM-DD` (UTC date of
the due time), so a rerun derives the same key.

Speed: listings judge every contact, so the lane is decided on the stored
ISO strings (they sort as times) and only due times are datetimes; reasons
and strength are worked out when asked for.

Pure: no I/O and no clock; `now` is an aware datetime.
"""

from __future__ import annotations

import gc
import zlib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from mailer.core import history
from mailer.core.contacts import summary
from mailer.core.durations import parse_duration
from mailer.model import LANES as LANES  # re-exported: the lanes are this module's word
from mailer.model import Contact, DraftRecord, iso

DRAFT_KINDS = ("reconnect", "seed", "rekindle")  # drafts the rules make (and ration)
WEED_LANES = ("one_sided", "rekindle")
INTRO_LANES = ("owe_reply", "due", "quiet")  # with status active: may be introduced
KINDS = (*DRAFT_KINDS, "reply_owed", "one_sided", "dormant")  # of plan items
HOLD_WEEKEND = "weekend (weekdays_only)"
HOLD_REPLY = "reply in the thread"

DEFAULT_TIERS: Mapping[str, timedelta] = {
    "inner": timedelta(days=30),
    "network": timedelta(days=90),
    "loose": timedelta(days=180),
}

_PRUNED = frozenset({"weeded", "ignored"})
_ZERO = timedelta(0)
_WEEK = timedelta(days=7)


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


@dataclass(frozen=True, slots=True)
class Drafted:
    """What the drafts written say about one contact."""

    newest: datetime | None = None  # the newest draft of a draft kind (written or failed)
    seeded: bool = False  # a follow-up was written once: never a second
    waiting: datetime | None = None  # written then, and still in the Drafts folder
    failed: str | None = None  # the newest draft could not be written: why


NOTHING = Drafted()


@dataclass(slots=True, eq=False)  # not frozen: made 10,000 times per plan, treat as read-only
class Judgement:
    """Where one contact stands at `now`, and why (in numbers).

    The reason and the strength are worked out when asked for: most callers
    (the plan of 10,000 contacts) need them for a few contacts only.
    """

    contact: Contact
    now: datetime
    rules: Rules = field(repr=False)
    lane: str  # one of LANES
    code: str  # which reason applies (see `_REASONS`)
    kind: str | None = None  # the draft kind that applies (due now or later), if any
    due_at: datetime | None = None  # when that draft is due (jitter included)
    cadence: timedelta | None = None
    waiting: datetime | None = None  # a draft of then still waits in Drafts
    since: str | None = None  # what the lane counts from: their message, or the last contact
    drafted: Drafted = field(default=NOTHING, repr=False)
    group_mail: str | None = None  # a group mail to them within min_cadence: no note yet

    @property
    def email(self) -> str:
        return self.contact.email

    @property
    def status(self) -> str:
        """seed | active | dormant | weeded | ignored: the contract's word for the lane."""
        c = self.contact
        if c.status in _PRUNED or c.status == "dormant":
            return c.status
        if self.lane == "rekindle":
            return "dormant"
        return "seed" if not triaged(c) and not _established(c, self.rules) else "active"

    @property
    def name(self) -> str | None:
        return self.contact.name

    @property
    def reason(self) -> str:
        return _REASONS[self.code](self)

    @property
    def strength(self) -> int:
        """0-100, from the history (mailer.core.history)."""
        c = self.contact
        if c.has_history or not (c.messages_in or c.messages_out):
            return history.weighed(c.weight_at, c.weight_in, c.weight_out, self.now.toordinal())
        return history.strength(summary(c), self.now)  # a store from before histories

    @property
    def rhythm_days(self) -> float | None:
        """Their usual gap between exchanges, when there is enough history."""
        return self.contact.gap_days if self.contact.has_history else None

    @property
    def next_due(self) -> datetime | None:
        return self.due_at

    @property
    def weed_candidate(self) -> bool:
        return self.lane in WEED_LANES

    @property
    def listed(self) -> bool:
        """Shown by default (`contacts list`): a relationship, two-way or triaged by the owner."""
        c = self.contact
        if self.lane == "inbound_only":
            return False
        two_way = bool(c.last_logged) or bool(c.last_inbound and c.last_outbound)
        return two_way or triaged(c)

    @property
    def introducible(self) -> bool:
        return self.status == "active" and self.lane in INTRO_LANES


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
    if now.tzinfo is UTC:
        return now
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now.astimezone(UTC)


def _zone(name: str) -> tzinfo:
    return UTC if name.upper() in ("UTC", "Z") else ZoneInfo(name)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if a >= b else b


def _date(when: datetime) -> str:
    return when.date().isoformat()


@lru_cache(maxsize=256)
def _fmt(delta: timedelta) -> str:
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


def triaged(c: Contact) -> bool:
    """The owner has said what this contact is (tier, tags, own cadence, or a status)."""
    return c.status != "seed" or bool(c.tier or c.tags or c.cadence)


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
            f", at least rules.min_cadence {_fmt(low)}"
            if cadence == low and learned < cadence
            else f", at most the default {_fmt(high)}"
        )
    return cadence, f"rhythm: {factor:g} x ~{about(gap)}{bound}"


def _cadence(c: Contact, rules: Rules) -> timedelta:
    """`cadence_for` without the words (judged for every contact)."""
    if c.cadence or c.tier:
        return cadence_for(c, rules)[0]
    if not c.has_history or c.gap_days is None:
        return rules.default_cadence
    return _rhythm(c.gap_days, rules.rhythm_factor, rules.min_cadence, rules.default_cadence)


@lru_cache(maxsize=4096)
def _rhythm(gap: float, factor: float, low: timedelta, high: timedelta) -> timedelta:
    return min(max(timedelta(days=round(gap * factor)), low), high)


def _real(c: Contact, two_way: bool, untriaged: bool, rules: Rules) -> bool:
    """A tie worth rekindling: two-way, and triaged by the owner or established."""
    return two_way and (not untriaged or _established(c, rules))


def _established(c: Contact, rules: Rules) -> bool:
    """At least `established_messages` each way over at least `established_span`."""
    n = rules.established_messages
    if c.messages_in < n or c.messages_out < n:
        return False
    first, last = _dt(c.first_seen), _dt(c.last_contact)
    return first is not None and last is not None and last - first >= rules.established_span


# --- judging one contact ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Now:
    """`now` and the thresholds every contact is compared with, as ISO strings.

    Stored times are ISO-8601 UTC strings of one shape, which sort as times:
    the lane is decided on them, and only due times are worked out as datetimes.
    """

    at: datetime
    iso: str
    owed: str  # their message at or before this has waited reply_owed_after
    window: str  # ... after this, it is younger than reply_owed_window
    seed: str  # first seen after this: new
    dormant: str  # last exchange at or before this: dormant
    group: str  # a group mail after this is recent (min_cadence)

    @classmethod
    def of(cls, now: datetime, rules: Rules) -> _Now:
        now = _utc(now)
        return cls(
            now,
            iso(now) or "",
            iso(now - rules.reply_owed_after) or "",
            iso(now - rules.reply_owed_window) or "",
            iso(now - rules.seed_window) or "",
            iso(now - rules.dormancy) or "",
            iso(now - rules.min_cadence) or "",
        )


def judge(c: Contact, drafted: Drafted, rules: Rules, now: datetime) -> Judgement:
    """The lane of `c` at `now`, with the reason and, for draft kinds, when it is due."""
    return _judge(c, drafted, rules, _Now.of(now, rules))


def _judge(c: Contact, drafted: Drafted, rules: Rules, k: _Now) -> Judgement:
    j = _lane(c, drafted, rules, k)
    if c.last_group and j.kind and c.last_group > k.group:
        j.group_mail = c.last_group  # a personal note right after a group mail reads oddly
    return j


def _lane(c: Contact, drafted: Drafted, rules: Rules, k: _Now) -> Judgement:
    now = k.at
    # Damaged values (not a date) count as absent; checked inline: this runs per contact.
    li = c.last_inbound or ""
    if li and not li[0].isdigit():
        li = ""
    lo = c.last_outbound or ""
    if lo and not lo[0].isdigit():
        lo = ""
    lg = c.last_logged or ""
    if lg and not lg[0].isdigit():
        lg = ""
    answered = lo if lo >= lg else lg  # by mail, or in a way the owner logged
    since = li if li >= answered else answered

    if c.status in _PRUNED:
        return Judgement(c, now, rules, "pruned", "pruned", since=since)
    if not answered and li:
        return Judgement(c, now, rules, "inbound_only", "inbound_only", since=since)

    # Their message is the newest: while it is younger than the window nobody
    # is drafted (the answer belongs in their thread); listed once it waited.
    fresh = li > answered and li > k.window
    if fresh and li <= k.owed:
        return Judgement(c, now, rules, "owe_reply", "owe_reply", since=li)

    snooze = c.snoozed_until
    if snooze and snooze > k.iso and snooze[0].isdigit():
        return Judgement(c, now, rules, "snoozed", "snoozed", since=since)

    n = rules.one_sided_after
    if len(c.recent_out) >= n and c.outbound_unanswered >= n:
        return Judgement(c, now, rules, "one_sided", "one_sided", since=since)

    untriaged = c.status == "seed" and not (c.tier or c.tags or c.cadence)
    two_way = bool(lg or (li and lo))
    if untriaged and not two_way:
        return Judgement(c, now, rules, "quiet", "unanswered", since=since)
    last = _dt(since)
    if last is None:
        return Judgement(c, now, rules, "quiet", "nothing")
    spread = jitter_for(c.email, rules)

    first_iso = c.first_seen or ""
    if untriaged and first_iso > k.seed and first_iso[0].isdigit():
        return _new(c, drafted, rules, now, last, first_iso, fresh, spread, since)

    base = last if drafted.newest is None or drafted.newest <= last else drafted.newest
    rekindle_at = last + rules.dormancy + spread
    if since <= k.dormant:
        if not _real(c, two_way, untriaged, rules):
            return Judgement(c, now, rules, "quiet", "too_little", since=since)
        again = None if fresh else max(rekindle_at, base + rules.dormancy)
        waiting = _still_waiting(drafted, last)
        return Judgement(
            c, now, rules, "rekindle", "rekindle", "rekindle", again, None, waiting, since, drafted
        )

    cadence = _cadence(c, rules)
    if fresh:
        return Judgement(c, now, rules, "quiet", "fresh", cadence=cadence, since=li)
    due_at = base + cadence + spread
    if due_at >= rekindle_at:  # dormant before the cadence passes: a rekindle then, if any
        if not _real(c, two_way, untriaged, rules):
            return Judgement(c, now, rules, "quiet", "cadence", None, None, cadence, None, since)
        return Judgement(
            c,
            now,
            rules,
            "quiet",
            "cadence",
            "rekindle",
            rekindle_at,
            cadence,
            None,
            since,
            drafted,
        )
    lane = "due" if now >= due_at else "quiet"
    waiting = _still_waiting(drafted, last)
    return Judgement(
        c, now, rules, lane, "cadence", "reconnect", due_at, cadence, waiting, since, drafted
    )


def _new(
    c: Contact,
    drafted: Drafted,
    rules: Rules,
    now: datetime,
    last: datetime,
    first_iso: str,
    fresh: bool,
    spread: timedelta,
    since: str,
) -> Judgement:
    """Lane `new`: to triage, with one follow-up after the owner's last message."""
    if drafted.seeded:
        return Judgement(c, now, rules, "new", "new_once", since=since)
    if fresh:
        return Judgement(c, now, rules, "new", "new_theirs", since=since)
    due_at = last + rules.seed_followup + spread
    first = _dt(first_iso) or last
    if due_at > first + rules.seed_window:
        return Judgement(c, now, rules, "new", "new_late", since=since)
    waiting = _still_waiting(drafted, last)
    return Judgement(c, now, rules, "new", "new", "seed", due_at, None, waiting, since, drafted)


# Reasons, in numbers; made only when asked for (Judgement.reason), from the judgement.


def _why_cadence(j: Judgement) -> str:
    c, last = j.contact, _dt(j.since)
    assert last is not None
    cadence, source = cadence_for(c, j.rules)
    if source.startswith("rhythm") and c.gap_days is not None:
        said = (
            f"you usually write every ~{about(c.gap_days)}; it has been "
            f"{about((j.now - last).days)} (last {_date(last)}); "
            f"due after {_fmt(cadence)} ({source})"
        )
    else:
        ago = (j.now - last).days
        said = f"last contact {_date(last)} ({ago} days ago); cadence {_fmt(cadence)} ({source})"
    return said + _drafted_note(j.drafted, last)


_THEN = {
    "new_once": "; followed up once",
    "new_theirs": "; their message is the newest",
    "new_late": "; too late for a follow-up",
}


def _why_new(j: Judgement) -> str:
    last = _dt(j.since)
    first = _dt(j.contact.first_seen) or last
    assert first is not None and last is not None
    then = _THEN.get(j.code) or f"; follow-up after {_fmt(j.rules.seed_followup)}"
    ago = (j.now - last).days
    return f"new contact since {_date(first)}; last exchange {_date(last)} ({ago} days ago){then}"


def _why_rekindle(j: Judgement) -> str:
    c, last = j.contact, _dt(j.since)
    assert last is not None
    before = f"; {c.messages_in} from them and {c.messages_out} from you before"
    said = f"{_silent(last, j.now)}; dormancy {_fmt(j.rules.dormancy)}{before}"
    return said + _drafted_note(j.drafted, last)


def _why_too_little(j: Judgement) -> str:
    last = _dt(j.since)
    assert last is not None
    return _silent(last, j.now) + "; too little between you to rekindle"


def _silent(last: datetime, now: datetime) -> str:
    return f"no exchange since {_date(last)} ({(now - last).days} days ago)"


def _days_since(when: str | None, now: datetime) -> int:
    then = _dt(when)
    return (now - then).days if then else 0


def _why_owed(j: Judgement) -> str:
    days = _days_since(j.since, j.now)
    return f"their message of {(j.since or '')[:10]} has waited {days} days for your reply"


def _why_fresh(j: Judgement) -> str:
    days = _days_since(j.since, j.now)
    return f"their message of {(j.since or '')[:10]} is {days} days old: answer it"


def _why_one_sided(j: Judgement) -> str:
    c = j.contact
    li = c.last_inbound
    since = f"since their last on {li[:10]}" if li else "and none from them"
    return f"{c.outbound_unanswered} messages to them unanswered {since}"


def _why_unanswered(j: Judgement) -> str:
    n = j.contact.messages_out
    return f"no answer yet to your {n} message{'s' * (n != 1)}" if n else "no mail exchanged"


_REASONS: dict[str, Callable[[Judgement], str]] = {
    "pruned": lambda j: f"{j.contact.status} by you",
    "inbound_only": lambda j: f"{j.contact.messages_in} from them, none from you",
    "owe_reply": _why_owed,
    "snoozed": lambda j: f"snoozed until {(j.contact.snoozed_until or '')[:10]}",
    "one_sided": _why_one_sided,
    "unanswered": _why_unanswered,
    "nothing": lambda j: "no mail exchanged yet",
    "new": _why_new,
    "new_once": _why_new,
    "new_theirs": _why_new,
    "new_late": _why_new,
    "too_little": _why_too_little,
    "rekindle": _why_rekindle,
    "fresh": _why_fresh,
    "cadence": _why_cadence,
}


def _drafted_note(drafted: Drafted, last: datetime) -> str:
    if drafted.newest is None or drafted.newest <= last:
        return ""
    if drafted.failed:
        return f"; a draft could not be written on {_date(drafted.newest)}: {drafted.failed}"
    return f"; last draft {_date(drafted.newest)}"


def _still_waiting(drafted: Drafted, last: datetime | None) -> datetime | None:
    """The draft that still waits in Drafts, with nothing exchanged since it was written."""
    w = drafted.waiting
    if w is None or (last is not None and last > w):
        return None
    return w


# --- everyone ------------------------------------------------------------------


def draft_email(key: str) -> tuple[str, str] | None:
    """(kind, email) of a draft key `kind:email:YYYY-MM-DD` of a draft kind, else None."""
    kind, _, rest = key.partition(":")
    email, _, day = rest.rpartition(":")
    if kind not in DRAFT_KINDS or not email or len(day) != 10:
        return None
    return kind, email


def drafted_by_email(
    drafts: Iterable[DraftRecord], open_keys: Collection[str] = ()
) -> dict[str, Drafted]:
    """What the drafts of the draft kinds say about each contact (one pass)."""
    facts: dict[str, list[object]] = {}
    for d in drafts:
        if d.kind not in DRAFT_KINDS:
            continue
        written = _dt(d.written_at)
        if written is None:
            continue
        f = facts.get(d.email)
        if f is None:
            f = facts[d.email] = [None, False, None, None]
        if f[0] is None or written > f[0]:  # type: ignore[operator]
            f[0], f[3] = written, d.error
        if d.kind == "seed" and not d.error:
            f[1] = True
        if d.key in open_keys and not d.error and (f[2] is None or written > f[2]):  # type: ignore[operator]
            f[2] = written
    return {e: Drafted(f[0], f[1], f[2], f[3]) for e, f in facts.items()}  # type: ignore[arg-type]


def judge_all(
    contacts: Iterable[Contact],
    drafts: Iterable[DraftRecord],
    rules: Rules,
    now: datetime,
    open_keys: Collection[str] = (),
) -> dict[str, Judgement]:
    """Every contact's judgement, by email."""
    k = _Now.of(now, rules)
    facts = drafted_by_email(drafts, open_keys)
    # Tens of thousands of small objects that form no cycles: without this the
    # collector walks every contact several times, which doubles the time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return {c.email: _judge(c, facts.get(c.email, NOTHING), rules, k) for c in contacts}
    finally:
        if collecting:
            gc.enable()


def seeds_to_triage(lanes: Mapping[str, Judgement], *, only_new: bool = False) -> list[Contact]:
    """Untriaged two-way contacts, newest first (by first seen, then email).

    `only_new`: just the `new` lane (the digest); else also older ones whose
    status is still seed (not established), unless pruned, snoozed or
    inbound-only (`mailer seed`).
    """
    seeds = []
    for j in lanes.values():
        c = j.contact
        if triaged(c) or c.messages_in < 1 or c.messages_out < 1:
            continue
        if j.lane == "new" or (
            not only_new
            and j.lane not in ("pruned", "inbound_only", "snoozed")
            and j.status == "seed"  # an established tie counts as active without triage
        ):
            seeds.append(c)
    seeds.sort(key=lambda c: (c.first_seen or "", c.email), reverse=True)
    return seeds


def suggested_tier(rules: Rules) -> str:
    """The tier to offer for a new contact: "network", else the one nearest the default cadence."""
    if not rules.tiers or "network" in rules.tiers:
        return "network"
    return min(
        rules.tiers, key=lambda t: (abs(rules.tiers[t] - rules.default_cadence), rules.tiers[t], t)
    )


# --- the plan ------------------------------------------------------------------


def plan(
    contacts: Iterable[Contact],
    drafts: Iterable[DraftRecord],
    rules: Rules,
    now: datetime,
    open_keys: Collection[str] = (),
) -> Plan:
    """Everyone something applies to now, in the order of the module docstring."""
    now = _utc(now)
    drafts = list(drafts)
    lanes = judge_all(contacts, drafts, rules, now, open_keys)

    zone = _zone(rules.timezone)
    today = now.astimezone(zone).date()
    day_start = datetime.combine(today, time(), tzinfo=zone).astimezone(UTC)
    day_end = datetime.combine(today + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    weekend = rules.weekdays_only and today.weekday() >= 5
    week_start = now - _WEEK

    drafts_today = rekindles_this_week = 0
    for d in drafts:
        if d.kind not in DRAFT_KINDS or d.error:
            continue  # the digest and introductions are the owner's asks, not rationed
        written = _dt(d.written_at)
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
            hold = f"your draft of {_date(j.waiting)} still waits in Drafts"
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
        key = f"{j.kind}:{j.email}:{_date(j.due_at)}"
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
        waited_from = (_dt(j.since) or now) + rules.reply_owed_after
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
        kind = "one_sided" if j.lane == "one_sided" else "dormant"
        items.append(
            Item(j.email, j.name, kind, j.reason, None, 0, False, None, None, j.lane, j.strength)
        )
    return Plan(now=now, items=items, drafts_today=drafts_today, lanes=lanes)


def _drafting(j: Judgement, now: datetime) -> bool:
    return j.kind == "rekindle" and j.due_at is not None and j.due_at <= now


def _by_since(j: Judgement) -> tuple[str, str]:
    return (j.since or "", j.email)
