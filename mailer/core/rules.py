"""Where each contact stands: SPEC section 5.

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
"weed candidate". The settings and each contact's cadence are in
mailer.core.ruleset, the reasons in words in mailer.core.reasons, and the
day's drafts in mailer.core.plan.

A cadence is counted from the later of the last exchange and the newest draft
written (a draft deleted unsent keeps the contact quiet for one cycle). While
a draft still waits in Drafts and nothing was exchanged since, no second one
is written (the edge says which keys are in Drafts: `open_keys`); nor within
`min_cadence` of a group mail to them (more recipients than a personal mail
has: it counts for no one's history, but it was contact).

Status (the contract's seed|active|dormant|weeded|ignored) is derived too:
weeded/ignored as stored; dormant for the rekindle lane or when the owner
said so; seed for an untriaged contact that is not established (at least
`established_messages` each way over `established_span`); else active.

Speed: listings judge every contact, so the lane is decided on the stored
ISO strings (they sort as times) and only due times are datetimes; reasons
and strength are worked out when asked for.

Pure: no I/O and no clock; `now` is an aware datetime.
"""

from __future__ import annotations

import gc
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mailer.core import history
from mailer.core.contacts import summary
from mailer.core.reasons import REASONS
from mailer.core.ruleset import Rules, cadence_of, jitter_for
from mailer.core.times import stored_time, utc
from mailer.model import LANES as LANES  # re-exported: the lanes are this module's word
from mailer.model import Contact, DraftRecord, iso

DRAFT_KINDS = ("reconnect", "seed", "rekindle")  # drafts the rules make (and ration)
WEED_LANES = ("one_sided", "rekindle")
INTRO_LANES = ("owe_reply", "due", "quiet")  # with status active: may be introduced

_PRUNED = frozenset({"weeded", "ignored"})


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
    code: str  # which reason applies (see `REASONS`)
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
        return REASONS[self.code](self)

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
        return self.lane != "inbound_only" and relationship(self.contact)

    @property
    def introducible(self) -> bool:
        return self.status == "active" and self.lane in INTRO_LANES


def relationship(c: Contact) -> bool:
    """Two-way (mail both ways, or an exchange the owner logged), or triaged by the owner:
    the half of `Judgement.listed` that needs no lane, so a listing can leave out the
    others before judging them."""
    return bool(c.last_logged or (c.last_inbound and c.last_outbound)) or triaged(c)


def triaged(c: Contact) -> bool:
    """The owner has said what this contact is (tier, tags, own cadence, or a status)."""
    return c.status != "seed" or bool(c.tier or c.tags or c.cadence)


def _real(c: Contact, two_way: bool, untriaged: bool, rules: Rules) -> bool:
    """A tie worth rekindling: two-way, and triaged by the owner or established."""
    return two_way and (not untriaged or _established(c, rules))


def _established(c: Contact, rules: Rules) -> bool:
    """At least `established_messages` each way over at least `established_span`."""
    n = rules.established_messages
    if c.messages_in < n or c.messages_out < n:
        return False
    first, last = stored_time(c.first_seen), stored_time(c.last_contact)
    return first is not None and last is not None and last - first >= rules.established_span


def weed_kind(lane: str) -> str:
    """What a weed candidate is, by its lane: "dormant" (rekindle) or "one_sided"."""
    return "dormant" if lane == "rekindle" else "one_sided"


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
        now = utc(now)
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

    untriaged = not triaged(c)
    two_way = bool(lg or (li and lo))
    if untriaged and not two_way:
        return Judgement(c, now, rules, "quiet", "unanswered", since=since)
    last = stored_time(since)
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

    cadence = cadence_of(c, rules)
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
    first = stored_time(first_iso) or last
    if due_at > first + rules.seed_window:
        return Judgement(c, now, rules, "new", "new_late", since=since)
    waiting = _still_waiting(drafted, last)
    return Judgement(c, now, rules, "new", "new", "seed", due_at, None, waiting, since, drafted)


# Reasons, in numbers; made only when asked for (Judgement.reason), from the judgement.


def _still_waiting(drafted: Drafted, last: datetime | None) -> datetime | None:
    """The draft that still waits in Drafts, with nothing exchanged since it was written."""
    w = drafted.waiting
    if w is None or (last is not None and last > w):
        return None
    return w


# --- everyone ------------------------------------------------------------------


def drafted_by_email(
    drafts: Iterable[DraftRecord], open_keys: Collection[str] = ()
) -> dict[str, Drafted]:
    """What the drafts of the draft kinds say about each contact (one pass)."""
    facts: dict[str, list[object]] = {}
    for d in drafts:
        if d.kind not in DRAFT_KINDS:
            continue
        written = stored_time(d.written_at)
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
